"""pywry as a plain ASGI application: HTTP, WebSocket and lifespan scopes.

Mount it anywhere (`Mount("/pywry", app.asgi)`): the base path comes from `root_path` (and a
trusted `X-Forwarded-Prefix`). Given a `fallback` ASGI app, every path that is not pywry's goes
there, marked as a request being handled, which is how deploy mode puts pywry's routes at the
root of the user's FastAPI app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..state.base import BackendStartError
from .context import request_scope
from .drain import drain_on_sigterm
from .http import HttpResponse, Request, Response, base_from, draining, finish
from .identity import USER_KEY, login_in, user_in
from .protocol import CLOSE_BAD_ORIGIN, CLOSE_BAD_TOKEN, CLOSE_RESTART
from .routes import match, refused_page, respond
from .socket import serve_socket

if TYPE_CHECKING:
    from .app import App
    from .users import User

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

DRAIN_CAP = 16 * 1024 * 1024  # a refused body up to this size is read to the end


HostUser = Callable[[Scope], "User | None"]


class ASGIApp:
    """The ASGI face of one `App`.

    `host_user`, set by an adapter, finds the host framework's signed-in user in a scope (a
    Starlette `AuthenticationMiddleware` puts one there). With access control on, an app in
    front of a host app (`around`, deploy mode) also asks sign-in for the host's own pages.
    With `websocket` False pages talk over the HTTP stream only and sockets are refused.
    """

    def __init__(
        self,
        app: App,
        fallback: ASGI | None = None,
        host_user: HostUser | None = None,
        *,
        websocket: bool = True,
    ) -> None:
        self.app = app
        self.fallback = fallback
        self.host_user = host_user
        self.websocket = websocket

    def around(self, fallback: ASGI) -> ASGIApp:
        """This app in front of `fallback` (which gets every path that is not pywry's)."""
        return ASGIApp(self.app, fallback, self.host_user, websocket=self.websocket)

    def http_only(self) -> ASGIApp:
        """This app with pages that use the HTTP stream and posts, never a WebSocket."""
        return ASGIApp(self.app, self.fallback, self.host_user, websocket=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        app = self.app
        app.bind_loop()
        if self.host_user is not None and app.access.enabled:
            scope[USER_KEY] = self.host_user(scope)
        req = request_of(app, scope)
        req.websocket = self.websocket
        found = match(app, req.path)
        if found is None and self.fallback is not None:
            if app.draining:  # the host's routes too: this worker takes nothing new
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": CLOSE_RESTART})
                else:
                    await _send(draining(), receive, send, head=req.method == "HEAD")
                return
            await self._host(req, scope, receive, send, self.fallback)
            return
        if kind == "websocket":
            if found is None or found[0] != "ws" or not self.websocket:
                await send({"type": "websocket.close", "code": 1000})
                return
            await serve_socket(app, req, found[1], _Socket(receive, send))
            return
        if req.method == "POST":
            req.body = await _body(receive, app.payload_limit)
        await _send(await respond(app, req), receive, send, head=req.method == "HEAD")

    async def _host(
        self, req: Request, scope: Scope, receive: Receive, send: Send, host: ASGI
    ) -> None:
        """A request for the host app in front of which this app sits: its `Host` checked,
        marked as handled, and given a session (widgets shown in it belong to that visitor)."""
        refused = self.app.host_refusal(req)
        if refused is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": CLOSE_BAD_ORIGIN})
            else:
                await _send(refused, receive, send, head=False)
            return
        session, cookie = self.app.visitor(req)
        user = None
        if self.app.access.enabled:
            req.session = session
            user = await self.app.access.user(req, new_session=bool(cookie))
            if user is None and scope["type"] == "http" and req.method in ("GET", "HEAD"):
                await _send(refused_page(self.app, req, CLOSE_BAD_TOKEN), receive, send, head=False)
                return
        if not cookie or scope["type"] != "http":
            with request_scope(None, req.base, self.websocket, session, user, req.address):
                await host(scope, receive, send)
            return
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in cookie.items()]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        with request_scope(None, req.base, self.websocket, session, user, req.address):
            await host(scope, receive, send_with_cookie)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """pywry's start-up and shutdown, around the host app's when there is one.

        A state backend that cannot be opened fails start-up with one line naming its setting;
        once started, SIGTERM drains this worker first (`pywry.core.drain`).
        """
        first = await receive()
        if first["type"] != "lifespan.startup":
            return
        try:
            await self.app.startup()
        except BackendStartError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        drain_on_sigterm(self.app)
        host = self.fallback
        if host is None:
            await send({"type": "lifespan.startup.complete"})
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await self.app.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        pending = [first]

        async def host_receive() -> Message:
            return pending.pop() if pending else await receive()

        async def host_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.app.aclose()  # after the host's own shutdown
            await send(message)

        await host(scope, host_receive, host_send)


def request_of(app: App, scope: Scope) -> Request:
    """The neutral request for an HTTP or WebSocket scope."""
    root = scope.get("root_path", "") or ""
    path = scope.get("path", "") or "/"
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
    base = base_from(root, headers, app.settings.server.trust_forwarded_prefix)
    secure = scope.get("scheme") in ("https", "wss")
    req = Request(scope.get("method", "GET"), path, base, query, headers, secure=secure)
    req.user = user_in(scope)
    req.login = login_in(scope)
    client, server = scope.get("client"), scope.get("server")
    req.address = str(client[0]) if client else ""
    req.server = str(server[0]) if server else ""
    return req


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is over `limit` (the rest is drained, up to a cap)."""
    parts: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts)
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            while more and size < DRAIN_CAP:
                message = await receive()
                size += len(message.get("body", b""))
                more = message.get("more_body", False) and message["type"] != "http.disconnect"
            return None
        parts.append(chunk)
    return b"".join(parts)


def _start(res: Response, length: int | None) -> Message:
    headers = [(b"content-type", res.content_type.encode("latin-1"))]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in res.headers.items()]
    return {"type": "http.response.start", "status": res.status, "headers": headers}


async def _send(res: Response, receive: Receive, send: Send, *, head: bool) -> None:
    if isinstance(res, HttpResponse):
        await send(_start(res, len(res.body)))
        await send({"type": "http.response.body", "body": b"" if head else res.body})
        return
    streaming = asyncio.ensure_future(_stream(res, send))
    watching = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((streaming, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (streaming, watching):
            task.cancel()
        await asyncio.gather(streaming, watching, return_exceptions=True)


async def _stream(res: Response, send: Send) -> None:
    assert not isinstance(res, HttpResponse)
    await send(_start(res, None))
    chunks = res.chunks
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await finish(chunks)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Socket:
    """An ASGI WebSocket scope as a `pywry.core.socket.Socket`."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False

    async def accept(self, subprotocol: str | None, headers: dict[str, str]) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise ConnectionError("the browser left before the handshake")
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await self._send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": raw})

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def receive(self) -> str | bytes | None:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self._closed = True
            return None
        text = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def close(self, code: int, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
