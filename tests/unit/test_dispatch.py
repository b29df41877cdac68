"""Callback dispatch: results, failures, async callbacks, and blocking callbacks that must not
hold up the others."""

from __future__ import annotations

import asyncio
import gc
import json
import threading

from pywry.core.dispatch import Dispatcher
from pywry.core.outbox import Outbox
from pywry.core.protocol import Incoming
from pywry.core.widgets import Widget
from tests.support import run_async


def widget(**callbacks) -> Widget:
    return Widget(label="w", content="", outbox=Outbox(10, 60), callbacks=callbacks)


def msg(kind: str, ident: int = 1) -> Incoming:
    return Incoming(kind, {"x": ident}, ident, "w")


def test_sync_async_and_failing_callbacks() -> None:
    seen: list[tuple] = []
    replies: list[str] = []

    def sync_cb(data, event, label):
        seen.append(("sync", data["x"], event, label, threading.current_thread().name))

    async def async_cb(data, event, label):
        seen.append(("async", data["x"], event, label, threading.current_thread().name))

    def failing(data, event, label):
        raise ValueError("boom")

    async def main() -> None:
        d = Dispatcher(4)
        w = widget(**{"app:s": sync_cb, "app:a": async_cb, "app:f": failing})
        assert await d.run(w, msg("app:s", 1), replies.append)
        assert await d.run(w, msg("app:a", 2), replies.append)
        assert await d.run(w, msg("app:f", 3), replies.append)
        assert not await d.run(w, msg("app:none", 4), replies.append)
        d.shutdown()

    run_async(main())
    assert seen[0][:4] == ("sync", 1, "app:s", "w") and seen[0][4].startswith("pywry-callback")
    assert seen[1][:4] == ("async", 2, "app:a", "w") and not seen[1][4].startswith("pywry-callback")
    assert len(replies) == 1 and "callback-error" in replies[0]


def test_a_failure_reaches_the_browser_as_an_id_and_the_log_with_its_text(caplog) -> None:
    """The exception text (a DSN here) stays in the server log; the page gets an id that
    names the log line, and the text only with `debug` on."""

    def failing(data, event, label):
        raise RuntimeError("cannot reach postgresql://admin:hunter2@db.internal/prod")

    replies: list[str] = []

    async def main() -> None:
        for debug in (False, True):
            d = Dispatcher(1, debug=debug)
            await d.run(widget(**{"app:f": failing}), msg("app:f", 7), replies.append)
            d.shutdown()

    with caplog.at_level("ERROR", logger="pywry.dispatch"):
        run_async(main())
    quiet, loud = (json.loads(r)["data"] for r in replies)
    assert quiet["code"] == "callback-error" and quiet["id"] == 7
    assert "hunter2" not in json.dumps(quiet) and quiet["errorId"] in quiet["detail"]
    assert "hunter2" in loud["detail"] and loud["errorId"] in loud["detail"]
    lines = [r for r in caplog.records if quiet["errorId"] in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info and "app:f" in lines[0].getMessage()


def test_a_blocking_callback_does_not_hold_up_the_others() -> None:
    release = threading.Event()
    done: list[int] = []

    def blocker(data, event, label):
        release.wait(10)
        done.append(0)

    def quick(data, event, label):
        done.append(data["x"])

    async def main() -> None:
        d = Dispatcher(4)
        w = widget(**{"app:block": blocker, "app:quick": quick})
        blocked = asyncio.ensure_future(d.run(w, msg("app:block", 0), print))
        quick_ones = [d.run(w, msg("app:quick", i), print) for i in range(1, 6)]
        await asyncio.wait_for(asyncio.gather(*quick_ones), 5)  # while the blocker still blocks
        assert not blocked.done()
        release.set()
        await asyncio.wait_for(blocked, 5)
        d.shutdown()

    run_async(main())
    assert sorted(done) == [0, 1, 2, 3, 4, 5] and done[-1] == 0


def test_at_most_callback_threads_run_at_once() -> None:
    release = threading.Event()
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def slow(data, event, label):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        release.wait(10)
        with lock:
            state["now"] -= 1

    async def main() -> None:
        d = Dispatcher(2)
        w = widget(**{"app:slow": slow})
        tasks = [asyncio.ensure_future(d.run(w, msg("app:slow", i), print)) for i in range(6)]
        for _ in range(200):  # let the lane start what it may
            await asyncio.sleep(0.005)
        assert state["most"] == 2
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        d.shutdown()

    run_async(main())
    assert state["most"] == 2


def test_callbacks_of_collected_widgets_are_not_kept_alive() -> None:
    async def main() -> int:
        d = Dispatcher(2)
        for i in range(200):

            def cb(data, event, label, i=i):  # a fresh closure per visitor widget
                return i

            await d.run(widget(**{"app:x": cb}), msg("app:x", i), print)
        gc.collect()
        d.shutdown()
        return len(d._facts)  # noqa: SLF001

    assert run_async(main()) < 10
