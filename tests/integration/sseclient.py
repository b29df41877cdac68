"""A small protocol-v1 client over the HTTP stream (SSE down, POST up), like the bridge's.

It mirrors `wsclient.Client`: `send`, `recv`, `recv_until`, `close`. A reader thread follows the
event stream with httpx, reopening it with `Last-Event-ID` whenever the server ends it (after
`sse_timeout`), exactly as the bridge does; POST answers (acks, unsequenced messages) are queued
with what the stream delivers.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
import uuid
from typing import Any

import httpx


class StreamClient:
    """One browser-like client on the HTTP stream transport."""

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
        reopen: bool = True,
        wait: bool = True,
        headers: dict[str, str] | None = None,
        keep_cookies: bool = True,
        source: str | None = None,
    ) -> None:
        """`source`: the local address to connect from (127.0.0.x: another client address)."""
        self.base_url = base_url
        self.source = source
        self.boot = boot
        self.label = boot["label"]
        self.client = client or "c" + uuid.uuid4().hex[:12]
        self.token = boot["token"] if token is None else token
        self.origin = origin
        self.extra_headers = dict(headers or {})  # sent on every request (Authorization, ...)
        self.keep_cookies = keep_cookies  # False: never send a cookie the server set
        self.last_seq = boot["seq"] if after is None else after
        self.next_id = next_id
        self.reopen = reopen
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.positions: dict[str, int] = {}  # where the server said this page joined a stream
        self.status: int | None = None  # status of the first stream request
        self.error_body: dict[str, Any] | None = None
        self.streams = 0  # how many streams were opened
        self.stream_ends: list[float] = []  # monotonic times at which the server ended one
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._active: httpx.Response | None = None
        self.http = self._http(timeout=10)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if wait:
            assert self.opened.wait(10), "the event stream did not open"

    def _http(self, timeout: float | httpx.Timeout) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=self.source) if self.source else None
        return httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    # -- the stream ------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Last-Event-ID": str(self.last_seq), "Accept": "text/event-stream"}
        if self.token:  # a header, as the bridge sends it: a token in the URL is refused
            headers["X-PyWry-Token"] = self.token
        if self.origin:
            headers["Origin"] = self.origin
        if self.boot.get("cookie"):
            headers["Cookie"] = self.boot["cookie"]
        return {**headers, **self.extra_headers}

    def _run(self) -> None:
        while not self._stop.is_set():
            params = {"client": self.client, "after": str(self.last_seq)}
            try:
                with self._http(timeout=httpx.Timeout(5, read=60)) as http:
                    with http.stream(
                        "GET", self.boot["stream"], params=params, headers=self._headers()
                    ) as res:
                        self._active = res
                        keep = self.keep_cookies and not self.boot.get("cookie")
                        if res.cookies and keep:  # as a browser keeps it
                            self.boot["cookie"] = "; ".join(
                                f"{k}={v}" for k, v in res.cookies.items()
                            )
                        if self.status is None:
                            self.status = res.status_code
                        if res.status_code != 200:
                            res.read()
                            try:
                                self.error_body = res.json()
                            except ValueError:
                                self.error_body = None
                            self.opened.set()
                            return
                        self.streams += 1
                        self.opened.set()
                        self._read(res)
                        self.stream_ends.append(time.monotonic())
            except Exception:  # noqa: BLE001 - closed by us, or the server went away
                if self._stop.is_set():
                    return
                time.sleep(0.05)
            if not self.reopen:
                return

    def _read(self, res: httpx.Response) -> None:
        data: list[str] = []
        for line in res.iter_lines():
            if self._stop.is_set():
                return
            if line == "":
                if data:
                    self._deliver("\n".join(data))
                data = []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)

    def _deliver(self, text: str) -> None:
        msg = json.loads(text)
        for item in msg["events"] if "events" in msg else [msg]:
            if isinstance(item.get("seq"), int) and item.get("type") != "pywry:resync":
                self.last_seq = item["seq"]
            self.messages.put(item)

    # -- posts -----------------------------------------------------------------------------------
    def post(self, body: str | bytes, **headers: str) -> httpx.Response:
        """POST one raw event body; a 200 answer's acks and messages are queued."""
        sent = {
            "Content-Type": "application/json",
            "X-PyWry-Token": self.token,
            "X-PyWry-Client": self.client,
        }
        if self.origin:
            sent["Origin"] = self.origin
        if self.boot.get("cookie"):
            sent["Cookie"] = self.boot["cookie"]
        sent.update(self.extra_headers)
        sent.update({k.replace("_", "-"): v for k, v in headers.items()})
        res = self.http.post(self.boot["events"], content=body, headers=sent)
        if res.status_code == 200:
            answer = res.json()
            for ident in answer["acks"]:
                self.messages.put({"type": "pywry:ack", "data": {"id": ident}})
            for msg in answer["messages"]:
                self.messages.put(msg)
        return res

    def send(self, kind: str, data: Any = None, ident: int | None = None) -> int:
        """POST an event; returns its id."""
        ident = self.next_id if ident is None else ident
        self.next_id = max(self.next_id, ident + 1)
        body = json.dumps({"type": kind, "data": data or {}, "id": ident, "widgetId": self.label})
        res = self.post(body)
        assert res.status_code == 200, (res.status_code, res.text)
        return ident

    # -- receiving -------------------------------------------------------------------------------
    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message (stream or post answer)."""
        for _ in range(1000):
            try:
                got = self.messages.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no message within {timeout}s") from None
            if got.get("type") != "pywry:position":  # bookkeeping, kept in `positions`
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

    def ended(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until a client made with `reopen=False` stops reading."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop following the stream (like a closed tab)."""
        self._stop.set()
        active = self._active
        if active is not None:  # shut the socket down so the blocked reader returns now
            try:
                stream = active.extensions["network_stream"]
                stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            except Exception:  # noqa: BLE001 - already closed
                pass
        self._thread.join(5)
        self.http.close()
