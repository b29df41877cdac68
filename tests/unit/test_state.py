"""Deploy-mode detection, worker identity and the configured state backend."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pywry.config import ConfigError, reset_settings
from pywry.state import StateBackend, get_state_backend, get_worker_id, is_deploy_mode


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"PYWRY_DEPLOY_MODE": "1"}, True),
        ({"PYWRY_DEPLOY_MODE": "true"}, True),
        ({"PYWRY_DEPLOY_MODE": "0"}, False),
        ({"PYWRY_DEPLOY__ENABLED": "true"}, True),
        ({"PYWRY_DEPLOY__STATE_BACKEND": "redis"}, True),
        ({"PYWRY_DEPLOY__STATE_BACKEND": "sqlite"}, False),
        ({"PYWRY_HEADLESS": "1"}, False),
        ({"PYWRY_HEADLESS": "1", "PYWRY_DEPLOY__STATE_BACKEND": "sqlite"}, True),
    ],
)
def test_is_deploy_mode(monkeypatch, env: dict[str, str], expected: bool) -> None:
    for key in ("PYWRY_DEPLOY_MODE", "PYWRY_HEADLESS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert is_deploy_mode() is expected


def test_state_backend_enum(monkeypatch) -> None:
    reset_settings()
    assert get_state_backend() is StateBackend.MEMORY and get_state_backend().value == "memory"
    monkeypatch.setenv("PYWRY_DEPLOY__STATE_BACKEND", "sqlite")
    reset_settings()
    assert get_state_backend().value == "sqlite"
    monkeypatch.setenv("PYWRY_DEPLOY__STATE_BACKEND", "mongo")
    reset_settings()
    with pytest.raises(ConfigError, match="PYWRY_DEPLOY__STATE_BACKEND"):
        get_state_backend()
    reset_settings()


def test_worker_id(monkeypatch) -> None:
    generated = get_worker_id()
    assert generated == get_worker_id() and str(os.getpid()) in generated
    monkeypatch.setenv("PYWRY_DEPLOY__WORKER_ID", "web-1")
    assert get_worker_id() == "web-1"


def test_get_server_app_leaves_the_environment_alone(monkeypatch, engine) -> None:
    """A deployed server opens no browser and counts as headless, but the processes it starts
    (a user's subprocess, a browser-mode script it runs) inherit no PYWRY_HEADLESS."""
    from pywry.app import is_headless
    from pywry.inline import get_server_app

    monkeypatch.setenv("DISPLAY", ":99")
    before = dict(os.environ)
    assert not is_headless()
    get_server_app()
    assert dict(os.environ) == before and "PYWRY_HEADLESS" not in os.environ
    assert is_headless()
    assert not is_deploy_mode()
    monkeypatch.setenv(
        "PYWRY_DEPLOY__STATE_BACKEND", "sqlite"
    )  # headless + a backend named: deploy mode
    assert is_deploy_mode()
    shell = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ.get('PYWRY_HEADLESS'))"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert shell.stdout.strip() == "None"
