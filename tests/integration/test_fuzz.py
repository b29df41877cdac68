"""Property tests with Hypothesis: whatever a client sends, or whatever the environment holds, the
answer is one of the documented ones and nothing breaks.

- Frames on a real WebSocket (tests/apps/core_app.py under deploy()): any text or bytes gets
  `pywry:ack` or `pywry:error` with a documented code (or the documented close for an oversized
  one), and the same connection goes on serving; no callback ever runs for a frame it should not.
- Posts to the same server: any body gets 200/202 or a documented error status with a JSON
  `error`, never a 500.
- Settings: any value of any `PYWRY_*` variable loads, or fails with `ConfigError` naming it.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywry.config import ConfigError, PyWrySettings
from tests.integration.wsclient import Client, page_bootstrap
from tests.support import ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.integration

APP = ROOT / "tests" / "apps" / "core_app.py"
MAX_PAYLOAD = 4096
ERROR_CODES = {"bad-message"}  # the only error a frame by itself can earn
POST_ERRORS = {400, 404, 413, 415, 429}
EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON values as a hostile page would build them
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.sampled_from(["app:noop", "app:", ":x", "pywry:ready", "x", "app:a b", "", "app:no-op"])
frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    st.builds(
        lambda kind, data, ident, wid, extra: json.dumps(
            {"type": kind, "data": data, "id": ident, "widgetId": wid, **extra}
        ),
        names | json_values,
        json_values,
        st.integers(min_value=-3, max_value=10**6) | json_values,
        st.none() | st.just("board") | json_values,
        st.dictionaries(st.text(max_size=6), json_values, max_size=2),
    ),
    st.integers(min_value=1, max_value=60).map(
        lambda d: '{"type":"app:noop","data":' + "[" * d + "]" * d + "}"
    ),
    st.just("x" * (MAX_PAYLOAD + 1)),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        PYTHONPATH=str(ROOT),
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_SERVER__MAX_PAYLOAD_SIZE=str(MAX_PAYLOAD),
        PYWRY_SERVER__MAX_EVENTS_PER_SECOND="100000",
    )
    with run_server([sys.executable, str(APP)], env, port, tmp_path_factory.mktemp("fuzz")) as srv:
        yield srv


@pytest.fixture(scope="module")
def boot(server: Server) -> dict[str, Any]:
    return page_bootstrap(server.url + "/widget/board")


def _clicks(server: Server, boot: dict[str, Any]) -> int:
    """How many times the board's click callback ran (asked through the server itself)."""
    client = Client(server.url, boot)
    try:
        client.send("app:count")
        return int(client.recv_until("app:count")[0]["data"]["calls"])
    finally:
        client.close()


@given(frame=frames)
@EXAMPLES
def test_any_frame_gets_a_documented_answer_and_the_socket_goes_on(
    server: Server, boot: dict[str, Any], frame: str | bytes
) -> None:
    client = Client(server.url, boot)
    try:
        client.ws.send(frame)
        size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "replace"))
        if size > MAX_PAYLOAD:
            assert client.close_code() == 1009  # too big: closed, as documented
            return
        # then a good event: everything answered before its ack is an ack or a documented error,
        # and the connection still works
        ident = client.send("app:noop", {}, ident=10**7)
        ack, before = client.recv_until("pywry:ack")
        while ack["data"]["id"] != ident:  # the fuzzed frame's own ack came first
            before.append(ack)
            ack, more = client.recv_until("pywry:ack")
            before += more
        for answer in before:
            if answer["type"] == "pywry:error":
                assert answer["data"]["code"] in ERROR_CODES, answer
            else:
                assert answer["type"] == "pywry:ack", answer
    finally:
        client.close()


def test_fuzzed_frames_never_reached_the_click_callback(
    server: Server, boot: dict[str, Any]
) -> None:
    """No fuzzed frame names `app:click`, so its callback ran for none of them."""
    assert _clicks(server, boot) == 0


@given(
    body=st.binary(max_size=300)
    | frames.map(lambda f: f if isinstance(f, bytes) else f.encode("utf-8", "replace")),
    ctype=st.sampled_from(
        ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]
    ),
)
@EXAMPLES
def test_any_post_gets_a_documented_status(
    server: Server, boot: dict[str, Any], body: bytes, ctype: str
) -> None:
    headers = {"X-PyWry-Token": boot["token"], "X-PyWry-Client": "c" + uuid.uuid4().hex[:12]}
    if ctype:
        headers["Content-Type"] = ctype
    res = httpx.post(server.url + boot["events"], content=body, headers=headers, timeout=10)
    assert res.status_code in {200, 202} | POST_ERRORS, (res.status_code, res.text[:300])
    if res.status_code >= 400:
        assert isinstance(res.json().get("error"), str)


SETTING_NAMES = [
    "PYWRY_SERVER__PORT",
    "PYWRY_SERVER__HOST",
    "PYWRY_SERVER__WORKERS",
    "PYWRY_SERVER__MAX_PAYLOAD_SIZE",
    "PYWRY_SERVER__WEBSOCKET_ALLOWED_ORIGINS",
    "PYWRY_SERVER__CORS_ORIGINS",
    "PYWRY_SERVER__ALLOWED_HOSTS",
    "PYWRY_SERVER__FRAME_ANCESTORS",
    "PYWRY_SERVER__DEBUG",
    "PYWRY_SERVER__RECONNECT_TIMEOUT",
    "PYWRY_SERVER__THEME",
    "PYWRY_SERVER__CDN",
    "PYWRY_SERVER__SSL_CERTFILE",
    "PYWRY_DEPLOY__STATE_BACKEND",
    "PYWRY_DEPLOY__REDIS_URL",
    "PYWRY_DEPLOY__AUTH_ENABLED",
    "PYWRY_DEPLOY__DEFAULT_ROLES",
    "PYWRY_DEPLOY__ADMIN_USERS",
    "PYWRY_DEPLOY__SESSION_TTL",
    "PYWRY_DEPLOY__AUTH_SECRET",
    "PYWRY_OAUTH2__PROVIDER",
    "PYWRY_OAUTH2__SCOPES",
]
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@given(values=st.dictionaries(st.sampled_from(SETTING_NAMES), env_text, min_size=1, max_size=4))
@EXAMPLES
def test_any_environment_loads_or_names_the_variable_that_is_wrong(
    values: dict[str, str],
) -> None:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        PyWrySettings()
    except ConfigError as exc:
        assert any(name in str(exc) for name in values), str(exc)
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
