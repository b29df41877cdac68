"""A Redis outage seen through the HTTP stream, in Chromium, over Flask under gunicorn.

The page's event posted while Redis is down must not be taken for done: the post is answered
503, the page shows "Reconnecting…", resends once Redis is back, and the callback runs once.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import RedisServer
from tests.support import ROOT, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e
WAIT_MS = 20_000
COUNT = """(n) => new Promise((resolve) => {
  const off = window.pywry.on('app:counted', (d) => { if (d.n === n) { off(); resolve(d.n); } });
  window.pywry.emit('app:count', {n: n});
})"""


def test_an_event_sent_during_an_outage_runs_once_after_it(tmp_path: Path, page: Any) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    runs = tmp_path / "runs.txt"
    port = free_port()
    env = clean_env(
        PYTHONPATH=str(ROOT),
        PYWRY_DEPLOY__STATE_BACKEND="redis",
        PYWRY_DEPLOY__REDIS_URL=redis.url,
        PYWRY_DEPLOY__REDIS_PREFIX="so" + uuid.uuid4().hex[:8],
        COUNTER_RUNS=str(runs),
    )
    argv = [
        sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "16",
        "--graceful-timeout", "1", "--no-control-socket", "-b", f"127.0.0.1:{port}",
        "tests.apps.flask_counter:app",
    ]  # fmt: skip
    try:
        with run_server(argv, env, port, tmp_path, ready_path="/pywry/health") as server:
            page.goto(server.url + "/pywry/widget/counter")
            page.evaluate("() => window.pywry.ready")
            assert page.evaluate(COUNT, 1) == 1  # the stream and posts work

            redis.stop()
            page.evaluate(f"(n) => {{ window.__sent = ({COUNT})(n); }}", 2)  # into the outage
            page.wait_for_selector("#pywry-banner", timeout=WAIT_MS)
            assert "Reconnecting" in (page.text_content("#pywry-banner") or "")

            redis.start()  # same port
            assert page.evaluate("() => window.__sent") == 2  # resent by the page, answered
            page.wait_for_selector("#pywry-banner", state="detached", timeout=WAIT_MS)
            assert page.evaluate(COUNT, 3) == 3
    finally:
        redis.stop()
    assert runs.read_text().split() == ["1", "2", "3"]  # each once, in order
