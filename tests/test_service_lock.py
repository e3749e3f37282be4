"""One scheduler per deployment: a second `newswatch run` on the same database refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from crawler.store import open_database
from tests.local_site import LocalSite, Response
from tests.service_harness import REPO, ServiceProcess, local_site, runs, service_env, wait_until, write_config


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_second_scheduler_is_refused_until_the_first_stops(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    sqlite = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    url = sqlite if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine: Engine = open_database(url)
    with LocalSite() as site:
        site.routes["/feed.xml"] = Response(b'<rss version="2.0"><channel><title>t</title></channel></rss>',
                                            "application/rss+xml")
        config = write_config(tmp_path / "config", [local_site("alpha", site.base_url)])
        env = service_env(tmp_path, config, database_url=url)
        first = ServiceProcess(env, tmp_path / "first.log").start()
        try:
            wait_until(lambda: runs(engine, "alpha") or None, 60, "the first service's first crawl", first)
            second = subprocess.run([sys.executable, "-m", "crawler", "run", "--once"], env=env, cwd=REPO,
                                    capture_output=True, text=True, timeout=60)
            assert second.returncode == 2, second.stderr
            assert "another `newswatch run` already schedules this deployment" in second.stderr
            assert "Traceback" not in second.stderr
            assert first.process is not None and first.process.poll() is None  # the first one is unharmed
            assert first.terminate() == 0
            third = subprocess.run([sys.executable, "-m", "crawler", "run", "--once"], env=env, cwd=REPO,
                                   capture_output=True, text=True, timeout=120)
            assert third.returncode == 0, third.stderr
        finally:
            first.stop_quietly()
    engine.dispose()
