"""A minimal asyncio WebSocket client (RFC 6455 text frames) used as load client.

Every scenario drives every server with this one client, so the cost of the client is the same
for pywry, the baselines and the peers. It is a bare `asyncio.Protocol`: no per-message task,
masking with one integer XOR, so one client process can keep up with a server that runs on the
other core.

By default no extension is offered. `connect(..., deflate=True)` offers `permessage-deflate`
(RFC 7692) the way browsers do (`permessage-deflate; client_max_window_bits`) and, when the
server accepts it, compresses every text message it sends and inflates every message that
arrives with RSV1 set, with zlib raw deflate streams: the parameters the server answers
(`server_no_context_takeover`, `client_no_context_takeover`, `server_max_window_bits`,
`client_max_window_bits`) are honoured, and the 0x00 0x00 0xff 0xff tail of a sync flush is
stripped on send and appended before inflating.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

_OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
_RSV1 = 0x40
_TAIL = b"\x00\x00\xff\xff"  # what a zlib sync flush ends with (RFC 7692 section 7.2.1)
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"


class HandshakeError(ConnectionError):
    """The server did not upgrade the connection."""


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    if n == 0:
        return key
    repeated = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return key + masked.to_bytes(n, "little")


def frame(opcode: int, payload: bytes, rsv: int = 0) -> bytes:
    """One masked client frame (`rsv`: RSV bits of the first byte, e.g. RSV1 if compressed)."""
    n = len(payload)
    b0 = 0x80 | rsv | opcode
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return head + _mask(payload)


class Deflate:
    """permessage-deflate state of one connection, from the server's accepted parameters.

    Our compressor uses at most `client_max_window_bits` and starts afresh for every message
    under `client_no_context_takeover`; the inflater uses `server_max_window_bits` and is reset
    per message under `server_no_context_takeover` (the server promises not to refer back).
    """

    def __init__(self, params: dict[str, str | None]) -> None:
        self.params = params
        self.client_no_context = "client_no_context_takeover" in params
        self.server_no_context = "server_no_context_takeover" in params
        self.client_bits = _window_bits(params.get("client_max_window_bits", "15"))
        self.server_bits = _window_bits(params.get("server_max_window_bits", "15"))
        self._compressor = self._new_compressor()
        self._inflater = zlib.decompressobj(-self.server_bits)
        self.sent = 0  # compressed messages sent
        self.received = 0  # compressed messages received
        self.wire_in = 0  # compressed payload bytes received (before inflating)
        self.plain_in = 0  # the same messages' bytes after inflating

    def _new_compressor(self) -> zlib._Compress:
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.client_bits)

    def compress(self, data: bytes) -> bytes:
        """One message's payload: deflated, sync-flushed, without the 4-byte tail."""
        if self.client_no_context:
            self._compressor = self._new_compressor()
        out = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self.sent += 1
        return out[:-4] if out.endswith(_TAIL) else out

    def decompress(self, data: bytes) -> bytes:
        """One compressed message (all its fragments joined) back to its bytes."""
        if self.server_no_context:
            self._inflater = zlib.decompressobj(-self.server_bits)
        out = self._inflater.decompress(data + _TAIL)
        self.received += 1
        self.wire_in += len(data)
        self.plain_in += len(out)
        return out


def _window_bits(value: str | None) -> int:
    """A `*_max_window_bits` value (a bare `client_max_window_bits` means 15)."""
    bits = int(value) if value else 15
    if not 9 <= bits <= 15:
        # zlib cannot make a raw deflate stream with an 8-bit window (it uses 9 instead), so
        # a server that asks for 8 could not read what we send
        raise HandshakeError(f"unsupported window bits {bits} (this client handles 9..15)")
    return bits


def parse_extensions(header: str) -> list[tuple[str, dict[str, str | None]]]:
    """`Sec-WebSocket-Extensions` as [(name, {param: value or None})]."""
    out = []
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";") if p.strip()]
        if not parts:
            continue
        params: dict[str, str | None] = {}
        for p in parts[1:]:
            key, eq, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"') if eq else None
        out.append((parts[0].lower(), params))
    return out


class WSClient(asyncio.Protocol):
    """One connection. Text messages go to `on_text` if set, else into `inbox` (see `recv`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._handshaken = False
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.on_text: Callable[[str], None] | None = None
        self.inbox: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []
        self.subprotocol: str | None = None
        self.offered_deflate = False
        self.extensions = ""  # the server's Sec-WebSocket-Extensions answer, as it came
        self.deflate: Deflate | None = None  # set when permessage-deflate was negotiated
        self._compressed = False  # the message being reassembled had RSV1 on its first frame
        self.next_n = 0  # request counter of the load drivers (kept across rounds)
        self.label = ""

    # -- transport callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        if not self._opened.done():
            self._opened.set_exception(exc or ConnectionError("connection closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake()

    def data_received(self, data: bytes) -> None:  # noqa: D102
        buf = self._buf
        buf += data
        if not self._handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            self._finish_handshake(head)
            if not self._handshaken:
                return
        self._parse()

    # -- handshake ------------------------------------------------------------------------------
    def _finish_handshake(self, head: str) -> None:
        lines = head.split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self._opened.set_exception(HandshakeError(lines[0]))
            assert self.transport is not None
            self.transport.close()
            return
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            if key == "sec-websocket-protocol":
                self.subprotocol = value.strip()
            elif key == "sec-websocket-extensions":
                self.extensions = ", ".join(filter(None, [self.extensions, value.strip()]))
        if self.extensions:
            accepted = parse_extensions(self.extensions)
            names = [name for name, _ in accepted]
            if not self.offered_deflate or names != ["permessage-deflate"]:
                why = f"server answered extensions we did not offer: {self.extensions}"
                self._opened.set_exception(HandshakeError(why))
                assert self.transport is not None
                self.transport.close()
                return
            try:
                self.deflate = Deflate(accepted[0][1])
            except (HandshakeError, ValueError) as exc:
                self._opened.set_exception(HandshakeError(str(exc)))
                assert self.transport is not None
                self.transport.close()
                return
        self._handshaken = True
        self._opened.set_result(None)

    # -- frames ---------------------------------------------------------------------------------
    def _parse(self) -> None:
        buf = self._buf
        while True:
            if len(buf) < 2:
                return
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                pos = 10
            if b1 & 0x80:  # servers never mask; tolerate it anyway
                pos += 4
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            self._frame(b0 & 0x80, b0 & 0x0F, payload, b0 & _RSV1)

    def _frame(self, fin: int, opcode: int, payload: bytes, rsv1: int = 0) -> None:
        if opcode == _OP_PING:
            self._write(frame(_OP_PONG, payload))
            return
        if opcode == _OP_PONG:
            return
        if opcode == _OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            if self.transport is not None and not self.transport.is_closing():
                self._write(frame(_OP_CLOSE, payload[:2]))
                self.transport.close()
            if not self.closed.done():
                self.closed.set_result(code)
            self._wake()
            return
        if opcode != 0:  # the first frame of a message says whether it is compressed
            self._compressed = bool(rsv1)
        if not fin or (opcode == 0 and self._fragments):
            self._fragments.append(payload)
            if not fin:
                return
            payload = b"".join(self._fragments)
            self._fragments.clear()
        if self._compressed:
            if self.deflate is None:
                raise ConnectionError("RSV1 set without permessage-deflate")
            payload = self.deflate.decompress(payload)
        text = payload.decode("utf-8")
        if self.on_text is not None:
            self.on_text(text)
        else:
            self.inbox.append(text)
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # -- API ------------------------------------------------------------------------------------
    def send(self, text: str | bytes) -> None:
        """Send one text frame (no await: the transport buffers it); compressed if negotiated."""
        data = text.encode() if isinstance(text, str) else text
        if self.deflate is None:
            self._write(frame(_OP_TEXT, data))
        else:
            self._write(frame(_OP_TEXT, self.deflate.compress(data), _RSV1))

    async def recv(self, timeout: float | None = None) -> str:
        """The next text message (only when `on_text` is not set)."""
        while not self.inbox:
            if self.closed.done():
                raise ConnectionError(f"closed ({self.closed.result()})")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            finally:
                self._waiter = None
        return self.inbox.popleft()

    async def close(self, timeout: float = 2.0) -> None:
        """Send a close frame and wait (bounded) for the server to end the connection."""
        if self.transport is None or self.transport.is_closing():
            return
        self._write(frame(_OP_CLOSE, struct.pack("!H", 1000)))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake."""
        if self.transport is not None:
            self.transport.abort()


async def connect(
    url: str,
    *,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    deflate: bool = False,
) -> WSClient:
    """Open `ws://host:port/path?query` and return the connected client.

    `deflate` offers permessage-deflate; `client.deflate` is set if the server accepted it.
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(loop.create_connection(WSClient, host, port), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{host}:{port}",
    ]
    if subprotocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(subprotocols))
    if deflate:
        lines.append(f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}")
        proto.offered_deflate = True
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    proto._write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        await asyncio.wait_for(asyncio.shield(proto._opened), timeout)
    except BaseException:
        proto.abort()
        raise
    return proto
