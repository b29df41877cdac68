"""HTTP stream transport: server-sent events down, one POST per event up.

`GET {base}/sse/{label}` opens a peer whose messages are written as SSE events (`id:` is the
widget seq, so the browser resumes with `Last-Event-ID`). A stream ends after `sse_timeout`, so
a sync WSGI worker is never held for long and proxies with idle timeouts do no harm; the bridge
reopens it at once. `POST {base}/events/{label}` carries one event; the answer is
`{"acks": [...], "messages": [...]}` with the unsequenced replies to it. Both run on the app's
loop whatever server received them (the WSGI app hands them over).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from . import protocol as p
from .http import (
    CLIENT_ID,
    HttpResponse,
    Request,
    Response,
    StreamResponse,
    close_code_response,
    error_response,
    json_response,
    not_yours,
    query_int,
)
from .limits import Refusal
from .peer import MAX_BATCH, Peer
from .tokens import new_label

if TYPE_CHECKING:
    from .app import App

log = logging.getLogger("pywry.stream")

KEEPALIVE = 10.0  # seconds of silence before a comment line keeps proxies (and us) honest
POST_WAIT = 120.0  # longest a POST waits for its callback before answering with the ack
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
STREAM_TYPE = "text/event-stream; charset=utf-8"
OPENING = b": pywry event stream\n\n"
KEEPALIVE_LINE = b": keepalive\n\n"


def _sse(frames: list[str], seq: str) -> str:
    return f"id: {seq}\ndata: {p.batch(frames)}\n\n"


async def _events(app: App, peer: Peer) -> AsyncIterator[bytes]:
    """The body of one event stream: messages as they come, keep-alives, then the end."""
    loop = asyncio.get_running_loop()
    timeout = float(app.settings.server.sse_timeout)
    server = app.settings.server
    linger = max(0.0, float(server.session_expire_seconds) - float(server.reconnect_timeout))
    wake = peer.wake
    try:
        yield OPENING
        now = loop.time()
        deadline = now + timeout
        last_write = now
        while True:
            wake.clear()
            frames = await peer.collect()
            now = loop.time()
            if frames:
                seq = ".".join(str(n) for n in peer.cursor.positions)
                yield "".join(
                    _sse(frames[i : i + MAX_BATCH], seq) for i in range(0, len(frames), MAX_BATCH)
                ).encode()
                last_write = now
            if peer.closed or peer.widget.closed or now >= deadline:
                return
            try:
                await asyncio.wait_for(wake.wait(), min(deadline - now, KEEPALIVE))
            except asyncio.TimeoutError:
                now = loop.time()
                if now - last_write >= KEEPALIVE - 0.01 and now < deadline:
                    yield KEEPALIVE_LINE
                    last_write = now
    finally:
        app.detach(peer, linger=linger)


async def open_stream(app: App, req: Request, label: str) -> Response:
    """`GET {base}/sse/{label}`: an error answer, or the stream."""
    refused = await app.prepare_or_refuse(label)
    if refused is not None:
        return refused
    widget, code = app.admit(
        label, req.header("x-pywry-token"), req.header("origin"), req.header("host")
    )
    if widget is None:
        return close_code_response(code or p.CLOSE_BAD_TOKEN)
    if not app.session_allowed(widget, req.session):
        return not_yours()
    code = app.access.refusal(widget, req.who.user)
    if code is not None:
        return close_code_response(code)
    client = req.query.get("client") or ""
    if not CLIENT_ID.match(client):
        client = new_label()
    refusal = app.limits.new_client(req.address, label, client)
    if refusal is not None:
        return refusal.response()
    # resume points: `id: seq.cseq.sseq` of the last event seen, else the query's
    resumed = (req.header("last-event-id") or "").split(".")
    points = [query_int(v, None) for v in resumed] + [None] * 3
    after = points[0] if points[0] is not None else query_int(req.query.get("after"), None)
    cafter = points[1] if points[1] is not None else query_int(req.query.get("cafter"), 0)
    safter = points[2] if points[2] is not None else query_int(req.query.get("safter"), None)
    peer = app.attach(
        widget,
        client,
        widget.outbox.seq if after is None else after,
        req.session,
        cafter or 0,
        safter,
        req.who,
        req.address,
        "sse",
    )
    if isinstance(peer, Refusal):
        return peer.response()
    return StreamResponse(_events(app, peer), STREAM_TYPE, dict(STREAM_HEADERS))


def _answer(peer: Peer) -> HttpResponse:
    """`{"acks": [...], "messages": [...]}` from what the event's handling pushed."""
    acks: list[int] = []
    messages: list[Any] = []
    for text in peer.replies():
        msg = json.loads(text)
        if isinstance(msg, dict) and msg.get("type") == "pywry:ack":
            acks.append(msg["data"]["id"])
        else:
            messages.append(msg)
    return json_response(200, {"acks": acks, "messages": messages})


async def handle_post(app: App, req: Request, label: str) -> HttpResponse:
    """`POST {base}/events/{label}`: one browser event, answered with its acks and replies."""
    refused = await app.prepare_or_refuse(label)
    if refused is not None:
        return refused
    widget, code = app.admit(
        label, req.header("x-pywry-token"), req.header("origin"), req.header("host")
    )
    if widget is None:
        return close_code_response(code or p.CLOSE_BAD_TOKEN)
    if not app.session_allowed(widget, req.session):
        return not_yours()
    code = app.access.refusal(widget, req.who.user)
    if code is not None:
        return close_code_response(code)
    client = req.header("x-pywry-client") or ""
    if not CLIENT_ID.match(client):
        return error_response(400, "bad-request", "the X-PyWry-Client header is missing or invalid")
    limit = app.payload_limit
    if req.body is None:
        return error_response(413, "too-big", f"message exceeds the limit of {limit} bytes")
    refusal = app.limits.new_client(req.address, label, client) or app.limits.event(
        req.address, label, client
    )
    if refusal is not None:
        return refusal.response()
    try:
        msg = p.parse_incoming(req.body, limit)
    except p.ProtocolError as exc:
        return error_response(413 if exc.code == "too-big" else 400, exc.code, exc.detail)
    peer = Peer(app, widget, client, widget.outbox.seq, req.session, req.who, req.address)
    handling = asyncio.ensure_future(app.handle_event(peer, msg))
    try:
        taken = await asyncio.wait_for(asyncio.shield(handling), POST_WAIT)
    except asyncio.TimeoutError:
        log.warning("callback for %r on %r still runs; answering the post", msg.type, label)
        taken = True
    if not taken:  # not recorded: the page must send it again, not take silence for done
        refused = error_response(503, "backend-unavailable", "the state backend is unavailable")
        refused.headers["Retry-After"] = "1"
        return refused
    return _answer(peer)
