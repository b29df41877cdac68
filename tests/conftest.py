"""Shared fixtures: a real Chromium (Playwright) and artifacts folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import CHROMIUM, CHROMIUM_ARGS, ROOT, require_binary

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(autouse=True)
def _no_pywry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from default settings, whatever the developer's shell exports."""
    for key in list(os.environ):
        if key.startswith("PYWRY_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for screenshots and logs the tests make (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright."""
    require_binary(CHROMIUM, "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context and page for one test."""
    context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    pg = context.new_page()
    messages: list[str] = []
    pg.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    pg.console_messages = messages  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A private redis-server for the whole session."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real 3-master Redis Cluster (one replica each) for the whole session."""
    from tests.redis_groups import ClusterGroup

    group = ClusterGroup(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield group.start()
    finally:
        group.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Sentinel group (master, replica, three Sentinels) for the whole session."""
    from tests.redis_groups import SentinelGroup

    group = SentinelGroup(tmp_path_factory.mktemp("redis-sentinel"))
    try:
        yield group.start()
    finally:
        group.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real OpenID Connect provider (node oidc-provider) for the whole session.

    Its client comes back to `http://127.0.0.1:<port>/auth/callback` for each port of
    `app_ports`; a test starts its app on `oidc_provider.take_port()`.
    """
    from tests.oidc_provider import callback_uris, reserve_app_ports, start_provider

    ports = reserve_app_ports(4)
    uris = [uri for port in ports for uri in callback_uris(port)]
    with start_provider(uris, tmp_path_factory.mktemp("oidc")) as provider:
        provider.app_ports = ports
        yield provider


@pytest.fixture
def engine() -> Iterator[object]:
    """A fresh `App` as the default app for one test (what the module-level API uses)."""
    from pywry.config import PyWrySettings
    from pywry.core.app import App, set_default_app

    eng = App(PyWrySettings())
    set_default_app(eng)
    try:
        yield eng
    finally:
        set_default_app(None)
