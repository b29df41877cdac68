"""A small protocol-v1 client over a real WebSocket, for the integration tests."""

from __future__ import annotations

import json
import re
import socket
import uuid
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


def socket_as(port: int, host: str, path: str, token: str, origin: str) -> ClientConnection:
    """A WebSocket to 127.0.0.1:`port` whose Host header names `host`: what a page on another
    name (resolving to this machine, or behind a proxy keeping the name) opens."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return connect(
        f"ws://{host}{path}",
        sock=raw,
        origin=origin,  # type: ignore[arg-type]
        subprotocols=[f"pywry.token.{token}"],  # type: ignore[list-item]
        open_timeout=5,
    )


def bootstrap(html: str) -> dict[str, Any]:
    """The bootstrap object of a widget page."""
    match = re.search(r'<script type="application/json" id="pywry-bootstrap">(.*?)</script>', html)
    assert match, "page has no bootstrap object"
    return json.loads(match.group(1))


def page_bootstrap(url: str) -> dict[str, Any]:
    """GET a widget page and return its bootstrap (with the session cookie it set, if any)."""
    res = httpx.get(url, timeout=5)
    assert res.status_code == 200, res.text
    return visit(res)


def visit(res: httpx.Response) -> dict[str, Any]:
    """The bootstrap of a page answer, plus `cookie`: what a browser would send back."""
    boot = bootstrap(res.text)
    cookies = "; ".join(f"{name}={value}" for name, value in res.cookies.items())
    if cookies:
        boot["cookie"] = cookies
    return boot


class Client:  # noqa: D101
    """One browser-like connection: numbered events, received messages flattened from batches."""

    def __init__(
        self,
        base_url: str,
        boot: dict[str, Any],
        *,
        client: str | None = None,
        after: int | None = None,
        token: str | None = None,
        origin: str | None = None,
        next_id: int = 1,
        cafter: int = 0,
        safter: int | None = None,
        headers: dict[str, str] | None = None,
        source: str | None = None,
    ) -> None:
        """`source`: the local address to connect from (127.0.0.x: another client address)."""
        client = client or "c" + uuid.uuid4().hex[:12]
        ws_url = base_url.replace("http", "ws", 1) + boot["ws"]
        after = boot["seq"] if after is None else after
        token = boot["token"] if token is None else token
        protocols = [f"pywry.token.{token}"] if token else None
        headers = {**({"Origin": origin} if origin else {}), **(headers or {})}
        if boot.get("cookie"):
            headers["Cookie"] = boot["cookie"]
        self.ws: ClientConnection = connect(  # noqa: SIM115 - closed by close()
            f"{ws_url}?client={client}&after={after}&cafter={cafter}"
            + ("" if safter is None else f"&safter={safter}"),
            subprotocols=protocols,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=5,
            max_size=None,
            **({"source_address": (source, 0)} if source else {}),
        )
        self.label = boot["label"]
        self.next_id = next_id
        self.pending: list[dict[str, Any]] = []
        self.positions: dict[str, int] = {}  # where the server said this page joined a stream
        self.received_bytes = 0  # UTF-8 payload of every frame read so far

    def send(self, kind: str, data: Any = None, ident: int | None = None) -> int:
        ident = self.next_id if ident is None else ident
        self.next_id = max(self.next_id, ident + 1)
        self.ws.send(
            json.dumps({"type": kind, "data": data or {}, "id": ident, "widgetId": self.label})
        )
        return ident

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message; `pywry:position` is bookkeeping: kept in `positions`, not returned."""
        for _ in range(1000):
            if not self.pending:
                raw = self.ws.recv(timeout=timeout)
                self.received_bytes += len(raw.encode() if isinstance(raw, str) else raw)
                msg = json.loads(raw)
                self.pending.extend(msg["events"] if "events" in msg else [msg])
            got = self.pending.pop(0)
            if got["type"] != "pywry:position":
                return got
            self.positions[got["data"]["field"]] = got["data"]["seq"]
        raise AssertionError("nothing but positions in 1000 messages")

    def recv_until(
        self, kind: str, timeout: float = 5.0
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until a message of `kind`; returns it and everything read before it."""
        seen = []
        for _ in range(1000):
            msg = self.recv(timeout)
            if msg["type"] == kind:
                return msg, seen
            seen.append(msg)
        raise AssertionError(f"no {kind} in 1000 messages")

    def close_code(self, timeout: float = 5.0) -> int | None:
        """Wait for the server to close; return its close code."""
        try:
            for _ in range(1000):
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        raise AssertionError("server did not close")

    def close(self) -> None:
        self.ws.close()
