"""How messages leave: fan-out to many sockets, and the emits of a sync callback.

The core runs here in-process with sockets of its own `Socket` shape (pywry.core.socket), so a
test can hold one page's sends back and watch what reaches the others.
"""

from __future__ import annotations

import asyncio
import threading

import orjson

from pywry.config import PyWrySettings
from pywry.core import protocol as p
from pywry.core.app import App
from pywry.core.peer import Peer
from pywry.core.socket import Writer
from tests.support import run_async


class Page:
    """A socket whose sends are recorded; `gate` (when given) holds every send until set."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.gate = gate
        self.seqs: list[int] = []
        self.got = asyncio.Event()

    async def accept(self, subprotocol: str | None, headers: dict[str, str]) -> None:
        """Nothing to do: the peer is attached directly."""

    async def send(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        msg = orjson.loads(text)
        for event in msg.get("events", [msg]):
            if event.get("type") == "app:tick":
                self.seqs.append(event["seq"])
        self.got.set()

    async def receive(self) -> str | None:
        return None

    async def close(self, code: int, reason: str = "") -> None:
        """Nothing to close."""


def connect(app: App, label: str, page: Page, n: int) -> tuple[Peer, asyncio.Task[None]]:
    widget = app.require(label)
    peer = app.attach(widget, f"page{n}", widget.outbox.seq, address="127.0.0.1")
    assert isinstance(peer, Peer)
    peer.writer = writer = Writer(peer, page)
    return peer, asyncio.get_running_loop().create_task(writer.run())


def test_a_page_that_cannot_take_a_broadcast_holds_back_no_other_page() -> None:
    async def main() -> None:
        app = App(PyWrySettings())
        app.bind_loop()
        app.add_widget("<p>fan</p>", label="fan")
        gate = asyncio.Event()
        pages = [Page(gate)] + [Page() for _ in range(19)]  # the first page's sends never finish
        tasks = [connect(app, "fan", page, i)[1] for i, page in enumerate(pages)]
        app.emit("fan", "app:tick", {"n": 1})
        await asyncio.wait_for(asyncio.gather(*(page.got.wait() for page in pages[1:])), 5)
        assert all(page.seqs == [1] for page in pages[1:])
        assert pages[0].seqs == []  # still sending
        gate.set()
        await asyncio.wait_for(pages[0].got.wait(), 5)
        assert pages[0].seqs == [1]
        for task in tasks:
            task.cancel()
        app.shutdown()

    run_async(main())  # a fresh loop in a thread: Playwright may hold this one


def test_every_page_gets_every_broadcast_once_and_in_order() -> None:
    async def main() -> None:
        app = App(PyWrySettings())
        app.bind_loop()
        app.add_widget("<p>fan</p>", label="fan")
        pages = [Page() for _ in range(30)]
        tasks = [connect(app, "fan", page, i)[1] for i, page in enumerate(pages)]
        for n in range(1, 51):
            app.emit("fan", "app:tick", {"n": n})
            if n % 7 == 0:  # some emits land while fan-outs are under way
                await asyncio.sleep(0)
        for page in pages:
            while len(page.seqs) < 50:
                page.got.clear()
                await asyncio.wait_for(page.got.wait(), 5)
        assert all(page.seqs == list(range(1, 51)) for page in pages)
        for task in tasks:
            task.cancel()
        app.shutdown()

    run_async(main())  # a fresh loop in a thread: Playwright may hold this one


def test_an_emit_reaches_the_page_while_its_sync_callback_still_runs() -> None:
    """A callback's emits ride on its completion, but one that runs on (a long computation
    after a progress message) must not keep its earlier messages from the page."""

    async def main() -> None:
        app = App(PyWrySettings())
        app.bind_loop()
        release = threading.Event()
        running = threading.Event()

        def slow(data: object, event_type: str, label: str) -> None:
            app.emit("slow", "app:tick", {"progress": 10}, to="all")
            running.set()
            release.wait(10)

        app.add_widget("<p>slow</p>", label="slow", callbacks={"app:go": slow})
        page = Page()
        peer, writer = connect(app, "slow", page, 0)
        frame = p.encode({"type": "app:go", "data": {}, "id": 1})
        handling = asyncio.get_running_loop().create_task(peer.receive_text(frame))
        try:
            await asyncio.wait_for(page.got.wait(), 5)
            while not page.seqs:
                page.got.clear()
                await asyncio.wait_for(page.got.wait(), 5)
            assert running.is_set() and not handling.done()  # the callback has not returned
            assert page.seqs == [1]
        finally:
            release.set()
        await asyncio.wait_for(handling, 5)
        writer.cancel()
        app.shutdown()

    run_async(main())  # a fresh loop in a thread: Playwright may hold this one


def test_many_short_sync_callbacks_each_deliver_their_emit() -> None:
    """Emits that ride on their callback's completion all arrive, one per event, in order."""

    async def main() -> None:
        app = App(PyWrySettings(server={"max_events_per_second": 100000}))
        app.bind_loop()

        def tick(data: dict[str, int], event_type: str, label: str) -> None:
            app.emit("t", "app:tick", data, to="all")

        app.add_widget("<p>t</p>", label="t", callbacks={"app:go": tick})
        page = Page()
        peer, writer = connect(app, "t", page, 0)
        for n in range(1, 201):
            await peer.receive_text(p.encode({"type": "app:go", "data": {"n": n}, "id": n}))
        while len(page.seqs) < 200:
            page.got.clear()
            await asyncio.wait_for(page.got.wait(), 5)
        assert page.seqs == list(range(1, 201))
        writer.cancel()
        app.shutdown()

    run_async(main())  # a fresh loop in a thread: Playwright may hold this one
