"""docker-compose.yml and the Dockerfile: Docker is not available here, so the file is checked for its
services, dependencies and commands, and the very commands it runs are run against the local PostgreSQL."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from crawler.settings import Settings
from tests.local_site import LocalSite, Response, free_port
from tests.service_harness import REPO, local_site, wait_until, write_config
from tests.smtp_server import SMTPServer
from tests.test_crawl import article_html, rss

COMPOSE = REPO / "docker-compose.yml"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_services_and_their_order() -> None:
    services = compose()["services"]
    assert {name for name, service in services.items() if "profiles" not in service} == {
        "db", "mailpit", "migrate", "newswatch", "web"
    }
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("newswatch", "web"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["newswatch"]["command"] == ["run"]
    assert services["web"]["command"][0] == "web"
    assert services["newswatch"]["healthcheck"]["test"][1:4] == ["newswatch", "status", "--check"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_ports_are_published_on_loopback_only_and_settings_exist() -> None:
    data = compose()
    for name, service in data["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    known = {f"NEWSWATCH_{field.upper()}" for field in Settings.model_fields}
    env = data["x-newswatch-env"]
    assert set(env) <= known, set(env) - known
    for name in ("migrate", "newswatch", "web"):
        assert data["services"][name]["environment"] == env


def test_the_scale_profile_runs_workers_on_a_private_password_protected_redis() -> None:
    data = compose()
    services = data["services"]
    assert {name for name, service in services.items() if service.get("profiles") == ["scale"]} == {"redis", "worker"}
    redis = services["redis"]
    assert "ports" not in redis  # the compose network only: its queues hold pickles
    command = " ".join(redis["command"])
    assert "--requirepass" in command and "--appendonly yes" in command
    assert "exit 1" in command  # no password, no Redis
    worker = services["worker"]
    assert worker["command"] == ["worker"] and worker["environment"] == data["x-newswatch-env"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    url = data["x-newswatch-env"]["NEWSWATCH_REDIS_URL"]
    assert url.startswith("redis://:${NEWSWATCH_REDIS_PASSWORD") and url.endswith("@redis:6379/0")
    assert data["x-newswatch-env"]["NEWSWATCH_DISTRIBUTED"] == "${NEWSWATCH_DISTRIBUTED:-false}"


def test_the_web_service_listens_beyond_loopback_only_with_a_password() -> None:
    from crawler.web.security import check_bind

    data = compose()
    command = data["services"]["web"]["command"]
    host = command[command.index("--host") + 1]
    password = data["x-newswatch-env"].get("NEWSWATCH_WEB_PASSWORD")
    assert password, "the web service needs NEWSWATCH_WEB_PASSWORD to listen on the container network"
    assert password.startswith("${NEWSWATCH_WEB_PASSWORD:?"), "the password must come from .env, not the file"
    check_bind(host, password)  # would raise WebConfigError without one


def test_dockerfile_runs_the_console_script() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^ENTRYPOINT \["newswatch"\]$', text, re.M)
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert re.search(r"^USER newswatch$", text, re.M)
    for folder in ("crawler", "spiders", "config"):
        assert f"COPY {folder} ./{folder}" in text


def test_the_compose_commands_run_against_postgresql(tmp_path: Path, pg_url: str) -> None:
    data = compose()
    services = data["services"]
    smtp = SMTPServer()
    smtp.start()
    with LocalSite() as site:
        site.routes["/feed.xml"] = Response(rss(site.base_url, ["/a/"]), "application/rss+xml")
        site.routes["/a/"] = Response(article_html("SoftBank invests in robot maker", "SoftBank will invest."))
        config = write_config(tmp_path / "config", [local_site("local", site.base_url, every="1h")])
        web_port = free_port()
        environ = __import__("os").environ
        env = {k: v for k, v in environ.items() if not k.startswith("NEWSWATCH_") or k == "NEWSWATCH_ENV_FILE"}
        # As compose interpolates them with the variable unset: ${NAME:-default} is the default.
        env.update({k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(v)) for k, v in data["x-newswatch-env"].items()})
        # The containers' addresses and folders, as this machine has them.
        env.update(
            NEWSWATCH_DATABASE_URL=pg_url,
            NEWSWATCH_CONFIG=str(config),
            NEWSWATCH_DATA_DIR=str(tmp_path / "data"),
            NEWSWATCH_SMTP_URL=smtp.url,
            NEWSWATCH_HEARTBEAT_INTERVAL="2",
            NEWSWATCH_MIN_INTERVAL="1s",
        )

        def newswatch(args: list[str]) -> list[str]:
            return [sys.executable, "-m", "crawler", *args]

        migrate = subprocess.run(newswatch(services["migrate"]["command"]), env=env, cwd=REPO, capture_output=True,
                                 text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr

        web_command = [("127.0.0.1" if a == "0.0.0.0" else str(web_port) if a == "8080" else a)
                       for a in services["web"]["command"]]
        log = (tmp_path / "processes.log").open("wb")
        service = subprocess.Popen(newswatch(services["newswatch"]["command"]), env=env, cwd=REPO, stdout=log,
                                   stderr=log)
        web = subprocess.Popen(newswatch(web_command), env=env, cwd=REPO, stdout=log, stderr=log)
        try:
            check = services["newswatch"]["healthcheck"]["test"][1:]
            assert check[0] == "newswatch"

            def healthy() -> bool:
                result = subprocess.run(newswatch(check[1:]), env=env, cwd=REPO, capture_output=True, timeout=60)
                return result.returncode == 0

            wait_until(healthy, 90, "the service's health check to pass")
            probe = [a.replace(":8080/", f":{web_port}/") for a in services["web"]["healthcheck"]["test"][1:]]
            assert probe[0] == "python"

            def web_up() -> bool:
                return subprocess.run([sys.executable, *probe[1:]], capture_output=True, timeout=30).returncode == 0

            wait_until(web_up, 60, "the web health check to pass")
            wait_until(lambda: site.hits["/a/"] >= 1, 60, "the crawl of the local site")
            service.send_signal(signal.SIGTERM)
            web.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
            assert web.wait(timeout=30) == 0
        finally:
            for process in (service, web):
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
            log.close()
            smtp.stop()
