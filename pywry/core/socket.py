"""WebSocket transport: the handshake decision, the reader and the ordered writer of one peer.

A server driver (the ASGI app, the aiohttp route) wraps its socket in a `Socket` of four
coroutines and hands it to `serve_socket`; every close code, the token subprotocol, the resume
point and the size policy are decided here, the same for every server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from . import protocol as p
from .http import CLIENT_ID, NOT_YOURS, Request, query_int
from .limits import Refusal
from .peer import MAX_BATCH, Peer, Wake
from .tokens import new_label, split_header, token_from_subprotocols
from .users import NOBODY

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.socket")

CLOSE_TRY_LATER = 1013
WRITER_GRACE = 1.0  # how long a closing peer's writer may take to flush


class Socket(Protocol):
    """What a server driver provides for one WebSocket."""

    async def accept(self, subprotocol: str | None, headers: dict[str, str]) -> None:
        """Complete the handshake, echoing `subprotocol` when given, with extra `headers`."""

    async def send(self, text: str) -> None:
        """Send one text frame."""

    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the browser is gone."""

    async def close(self, code: int, reason: str = "") -> None:
        """Close from the server side."""


async def serve_socket(app: App, req: Request, label: str, ws: Socket) -> None:
    """Serve `{base}/ws/{label}` until either side closes.

    A request for a `Host` that is not the server's is refused before the handshake. Otherwise
    the handshake is accepted (with the token subprotocol echoed) and then closed with a code
    when refused, so the browser learns why instead of seeing a bare 1006.
    """
    if app.host_refusal(req) is not None:
        await ws.close(p.CLOSE_BAD_ORIGIN, "host not allowed")  # before the handshake
        return
    token, echo = token_from_subprotocols(split_header(req.header("sec-websocket-protocol")))
    if app.draining:  # this worker is stopping: the bridge reconnects to another at once
        await ws.accept(echo, {})
        await ws.close(p.CLOSE_RESTART, "server restarting")
        return
    refused = await app.prepare_or_refuse(label)
    if refused is not None:
        await ws.accept(echo, {})
        await ws.close(CLOSE_TRY_LATER, "try again later")
        return
    widget, code = app.admit(label, token, req.header("origin"), req.header("host"))
    session, cookie = app.visitor(req)
    await ws.accept(echo, cookie)
    if widget is None:
        if code in (p.CLOSE_BAD_TOKEN, p.CLOSE_BAD_ORIGIN):
            app.refusals.note(p.ERROR_CODES[code], label, req.address)
        await ws.close(code or p.CLOSE_POLICY)
        return
    if not app.session_allowed(widget, session):
        app.refusals.note("not-yours", label, req.address)
        await ws.close(p.CLOSE_BAD_ORIGIN, NOT_YOURS)
        return
    who = NOBODY
    if app.access.enabled:
        req.session = session
        who = await app.access.who(req, new_session=bool(cookie))
        code = app.access.refusal(widget, who.user)
        if code is not None:
            reason = "sign in first" if code == p.CLOSE_BAD_TOKEN else "not allowed"
            app.refusals.note(reason.replace(" ", "-"), label, req.address)
            await ws.close(code, reason)
            return
    client = req.query.get("client") or ""
    if not CLIENT_ID.match(client):
        client = new_label()
    refusal = app.limits.new_client(req.address, label, client)
    if refusal is not None:
        await ws.close(p.CLOSE_POLICY, refusal.reason)
        return
    q = req.query
    peer = app.attach(
        widget,
        client,
        query_int(q.get("after"), widget.outbox.seq) or 0,
        session,
        query_int(q.get("cafter"), 0) or 0,
        query_int(q.get("safter"), None),
        who,
        req.address,
        "websocket",
    )
    if isinstance(peer, Refusal):
        await ws.close(p.CLOSE_POLICY, peer.reason)
        return
    peer.writer = sender = Writer(peer, ws)
    writer = asyncio.get_running_loop().create_task(sender.run())
    peer.wake.set()  # the replay after `after` goes out straight away
    try:
        while not peer.closed:
            frame = await ws.receive()
            if frame is None:
                break
            if isinstance(frame, str):
                await peer.receive_text(frame)
            else:
                await peer.receive_bytes(frame)
    except Exception as exc:  # noqa: BLE001 - a broken transport ends the peer quietly
        log.debug("socket of %s on %r ended: %s", client, label, exc)
    finally:
        peer.closed = True
        peer.wake.set()
        if not writer.done():
            try:
                await asyncio.wait_for(asyncio.shield(writer), WRITER_GRACE)
            except Exception:  # noqa: BLE001 - a stuck or failed writer is cancelled
                writer.cancel()
        if peer.close_code == p.CLOSE_POLICY:  # its rate or its malformed frames
            app.refusals.note("policy", label, req.address, "rate limit or malformed frames")
        app.detach(peer)


class Writer:
    """Sends what one peer collects, in order: from its own task, or inline from a fan-out.

    One flush runs at a time (`busy`). The peer's own task waits for its wake-up; a fan-out
    (`pywry.core.fanout`) flushes idle writers one after another instead of waking a task for
    each, as a plain send loop would.
    """

    __slots__ = ("peer", "ws", "busy", "_done")

    def __init__(self, peer: Peer, ws: Socket) -> None:
        self.peer = peer
        self.ws = ws
        self.busy = False
        self._done = Wake()  # set when a flush ends: the task that found it busy goes on

    async def flush(self) -> None:
        """Send everything the peer has to send now (callers first check `busy`)."""
        self.busy = True
        peer, ws = self.peer, self.ws
        wake = peer.wake
        try:
            while True:
                wake.clear()
                if peer.joining:
                    frames = await peer.collect()
                else:  # the usual case: no coroutine to make
                    frames, gaps = peer.gather()
                    if gaps:
                        await peer.fill(frames, gaps)
                if len(frames) <= MAX_BATCH:
                    if frames:
                        await ws.send(p.batch(frames))
                else:
                    for i in range(0, len(frames), MAX_BATCH):
                        await ws.send(p.batch(frames[i : i + MAX_BATCH]))
                if not wake.is_set() or peer.closed:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the browser went away mid-send
            log.debug("send to %s on %r failed: %s", peer.client, peer.label, exc)
            peer.closed = True
            wake.set()  # its task closes the socket
        finally:
            self.busy = False
            self._done.set()

    async def run(self) -> None:
        """The peer's writer task: flush whenever woken; close with the peer's code at the end."""
        peer = self.peer
        wake, done = peer.wake, self._done
        while True:
            await wake.wait()
            if self.busy:  # a fan-out is sending for this peer right now
                done.clear()
                await done.wait()
                continue
            await self.flush()
            if peer.closed:
                break
        if peer.close_code is not None:
            try:
                await self.ws.close(peer.close_code, "")
            except Exception:  # noqa: BLE001 - already gone
                pass
