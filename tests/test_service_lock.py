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


HOLD = """
import sys, time
from pathlib import Path
from crawler.service.locks import site_lock
from crawler.store import create_db_engine

with site_lock(create_db_engine(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_site_crawl_lock_held_by_another_process_is_busy_until_it_dies(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Two crawls of one site never overlap across processes; a killed holder frees the lock at once."""
    from crawler.service.locks import LockBusy, site_lock

    sqlite = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    url = sqlite if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine: Engine = open_database(url)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url, str(tmp_path / "data"), "alpha"], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy), site_lock(engine, tmp_path / "data", "alpha", wait=0.5):
            pass
        with site_lock(engine, tmp_path / "data", "beta"):  # another site's lock is free
            pass
        holder.kill()
        holder.wait(timeout=10)
        with site_lock(engine, tmp_path / "data", "alpha", wait=10):  # the kernel / server released it
            pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
        engine.dispose()
