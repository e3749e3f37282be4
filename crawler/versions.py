"""Refuse to crawl with dependency versions that lack the security fixes the crawl relies on.

Scrapy 2.14.2 bounds decompressed bodies for every encoding (DOWNLOAD_MAXSIZE applies while inflating);
brotli 1.2.0 fixes unbounded output in its streaming decompressor, which Scrapy uses for
``Content-Encoding: br`` (without brotli installed, Scrapy does not accept br at all). pyproject.toml pins
both; this check catches an environment that was changed afterwards.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from packaging.version import InvalidVersion, Version

# package -> (lowest safe version, whether the package must be installed)
MINIMUM: dict[str, tuple[str, bool]] = {"scrapy": ("2.14.2", True), "brotli": ("1.2.0", False)}


class UnsafeDependency(Exception):
    """An installed dependency is older than the version with the security fixes we rely on."""


def unsafe_dependencies() -> list[str]:
    """One line per installed package older than its minimum (or required and missing)."""
    problems = []
    for package, (lowest, required) in MINIMUM.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            if required:
                problems.append(f"{package} is not installed (need >= {lowest})")
            continue
        try:
            too_old = Version(installed) < Version(lowest)
        except InvalidVersion:
            too_old = True
        if too_old:
            problems.append(f"{package} {installed} is installed; {lowest} or later is needed for its security fixes")
    return problems


def check_dependencies() -> None:
    """Raise UnsafeDependency naming every package that is too old."""
    problems = unsafe_dependencies()
    if problems:
        raise UnsafeDependency("; ".join(problems) + " (reinstall: pip install -e .)")
