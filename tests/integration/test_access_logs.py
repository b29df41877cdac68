"""gunicorn's access log (Flask host) never shows a widget token, even one a client put in a URL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.test_conformance import _gunicorn
from tests.support import Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flask_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    argv = _gunicorn("tests.apps.frameworks.flask_host:app", port)
    argv[-1:-1] = ["--access-logfile", "-"]
    logs = tmp_path_factory.mktemp("gunicorn")
    with run_server(argv, clean_env(), port, logs, ready_path="/pywry/health") as server:
        yield server


def test_gunicorn_access_log_redacts_a_url_token(flask_host: Server) -> None:
    secret = "s3cr3t-" + "x" * 30
    res = httpx.get(f"{flask_host.url}/pywry/sse/board?client=c1&token={secret}&after=0")
    assert res.status_code == 401 and res.json()["error"] == "token-in-url"
    log = flask_host.log_with("GET /pywry/sse/board?client=c1&token=[redacted]&after=0 HTTP/1.1")
    assert secret not in log
