"""The Docker files describe a deployment pywry accepts (no Docker engine runs here)."""

from __future__ import annotations

import re

import pytest

from pywry.config import PyWrySettings
from pywry.core.hosts import HostPolicy
from tests.support import ROOT

DOCKER = ROOT / "examples" / "docker"


def compose_environment() -> dict[str, str]:
    text = (DOCKER / "docker-compose.yml").read_text()
    return dict(re.findall(r"^\s+- (PYWRY_[A-Z_]+)=(\S+)$", text, re.MULTILINE))


def test_compose_environment_is_valid_pywry_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose_environment()
    assert env["PYWRY_DEPLOY__STATE_BACKEND"] == "redis" and int(env["PYWRY_SERVER__WORKERS"]) > 1
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = PyWrySettings()
    assert settings.server.workers == 4 and settings.deploy.redis_url == "redis://redis:6379/0"
    # bound to 0.0.0.0 inside the container, published on the host's loopback: a Host list, or
    # a page that rebinds its name to 127.0.0.1 would reach it
    hosts = HostPolicy(settings.server.allowed_hosts)
    assert not hosts.open_on(settings.server.host)
    assert hosts.allows("localhost:8080", "0.0.0.0")
    assert not hosts.allows("rebind.attacker.example:8080", "0.0.0.0")


def test_dockerfile_runs_the_full_example_and_checks_health() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    copied = re.search(r"^COPY (examples/\S+\.py) my_app\.py$", text, re.MULTILINE)
    assert copied and (ROOT / copied.group(1)).is_file()
    assert 'CMD ["python", "my_app.py"]' in text and "/health" in text
    assert "/src[fastapi,redis,plotly]" in text


def test_compose_publishes_only_the_app_and_only_on_loopback() -> None:
    """Redis (every widget token, no password) is never published on the host; the app's port
    is published on the host's loopback address."""
    text = (DOCKER / "docker-compose.yml").read_text()
    services = dict(re.findall(r"^  (\w+):\n((?:    .*\n|\n)*)", text, re.MULTILINE))
    assert set(services) == {"redis", "app"}
    assert "ports:" not in services["redis"]
    published = re.findall(r'^\s+- "([^"]+)"', services["app"].split("ports:")[1], re.MULTILINE)
    assert published and published[0].startswith("127.0.0.1:"), published
