"""The start-up check of security-relevant dependency versions."""

from __future__ import annotations

import pytest

from crawler import versions
from crawler.versions import UnsafeDependency, check_dependencies, unsafe_dependencies


def test_the_installed_versions_pass() -> None:
    assert unsafe_dependencies() == []
    check_dependencies()


def test_too_old_or_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(versions.MINIMUM, "scrapy", ("999.0", True))
    monkeypatch.setitem(versions.MINIMUM, "surely-not-installed-pkg", ("1.0", True))
    monkeypatch.setitem(versions.MINIMUM, "optional-not-installed-pkg", ("1.0", False))
    problems = unsafe_dependencies()
    assert len(problems) == 2
    assert problems[0].startswith("scrapy ") and "999.0 or later" in problems[0]
    assert problems[1] == "surely-not-installed-pkg is not installed (need >= 1.0)"
    with pytest.raises(UnsafeDependency, match=r"scrapy .* is installed"):
        check_dependencies()
