"""The load client: protocol targets (pywry, raw echo, peers) and the drivers that use them.

One asyncio process (uvloop when installed). Answers are handled in the connection's
`data_received` callback and the next request is written from there, so the client creates no
task per message and costs as little CPU as a Python client can.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

try:
    import orjson

    loads: Callable[[str | bytes], Any] = orjson.loads

    def dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode()
except ImportError:  # pragma: no cover
    loads = json.loads

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))


from .common import http_get
from .wsclient import WSClient, connect

BOOTSTRAP = re.compile(rb'<script type="application/json" id="pywry-bootstrap">(.*?)</script>')
PEER_PYWRY_TOKEN = re.compile(rb"const WS_AUTH_TOKEN = '([^']+)'")


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop if installed (the servers use it too), else the default loop."""
    try:
        import uvloop  # noqa: PLC0415

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run(coro: Any) -> Any:
    """Run `coro` on a fresh loop of the kind `new_loop` makes."""
    loop = new_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


# -- targets ------------------------------------------------------------------------------------
class Target:
    """How to open connection `i`, what to send as request `n`, how to spot its answer.

    `deflate` (set on an instance) makes `open` offer permessage-deflate on the handshake.
    """

    name = "target"
    deflate = False

    async def open(self, i: int) -> WSClient:
        raise NotImplementedError

    def request(self, conn: WSClient, n: int) -> str:
        raise NotImplementedError

    def is_answer(self, text: str) -> bool:
        raise NotImplementedError


class PywryTarget(Target):
    """pywry protocol v1: widget `{prefix}{i}`, token from the page's bootstrap.

    `headers` (e.g. `Authorization: Bearer ...`) go on the page GET and on the WebSocket
    handshake.
    """

    def __init__(
        self,
        base_url: str,
        prefix: str = "rt-",
        name: str = "pywry",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base = base_url
        self.prefix = prefix
        self.name = name
        self.headers = dict(headers or {})
        self.boots: dict[str, dict[str, Any]] = {}

    def boot(self, label: str) -> dict[str, Any]:
        if label not in self.boots:
            status, body = http_get(f"{self.base}/widget/{label}", timeout=5, headers=self.headers)
            match = BOOTSTRAP.search(body)
            if status != 200 or not match:
                raise ConnectionError(f"GET /widget/{label} gave {status} without a bootstrap")
            self.boots[label] = json.loads(match.group(1))
        return self.boots[label]

    def label(self, i: int) -> str:
        return f"{self.prefix}{i}" if self.prefix.endswith("-") else self.prefix

    async def open(self, i: int) -> WSClient:
        boot = self.boot(self.label(i))
        ws = self.base.replace("http", "ws", 1) + boot["ws"]
        return await connect(
            f"{ws}?client=b{i}&after={boot['seq']}",
            subprotocols=[f"pywry.token.{boot['token']}"],
            headers=self.headers,
            deflate=self.deflate,
        )

    def request(self, conn: WSClient, n: int) -> str:
        return f'{{"type":"app:ping","data":{{"n":{n}}},"id":{n}}}'

    def is_answer(self, text: str) -> bool:
        msg = loads(text)
        events = msg.get("events")
        if events is not None:
            return any(e.get("type") == "app:pong" for e in events)
        return msg.get("type") == "app:pong"


class EchoTarget(Target):
    """Raw Starlette echo: the same request text comes back."""

    def __init__(self, base_url: str, path: str = "/ws/echo", name: str = "baseline") -> None:
        self.url = base_url.replace("http", "ws", 1) + path
        self.name = name

    async def open(self, i: int) -> WSClient:
        return await connect(self.url, deflate=self.deflate)

    def request(self, conn: WSClient, n: int) -> str:
        return f'{{"type":"app:ping","data":{{"n":{n}}},"id":{n}}}'

    def is_answer(self, text: str) -> bool:
        return loads(text).get("type") == "app:ping"


class PeerPywryTarget(Target):
    """pywry from PyPI, deploy mode: widget `bench-{i}`; token in the page's bridge script."""

    name = "PyWry (PyPI)"

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.tokens: dict[int, str] = {}

    async def open(self, i: int) -> WSClient:
        if i not in self.tokens:
            status, body = http_get(f"{self.base}/widget/bench-{i}", timeout=5)
            match = PEER_PYWRY_TOKEN.search(body)
            if status != 200:
                raise ConnectionError(f"GET /widget/bench-{i} gave {status}")
            self.tokens[i] = match.group(1).decode() if match else ""
        token = self.tokens[i]
        ws = self.base.replace("http", "ws", 1)
        return await connect(
            f"{ws}/ws/bench-{i}",
            subprotocols=[f"pywry.token.{token}"] if token else None,
            deflate=self.deflate,
        )

    def request(self, conn: WSClient, n: int) -> str:
        label = conn.label
        return f'{{"type":"app:ping","data":{{"n":{n}}},"widgetId":"{label}","ts":{n}}}'

    def is_answer(self, text: str) -> bool:
        return loads(text).get("type") == "app:pong"


class PyWebIOTarget(Target):
    """PyWebIO: a new session per connection; click the `ping` button, wait for its text output."""

    name = "PyWebIO"

    def __init__(self, base_url: str, name: str = "PyWebIO") -> None:
        self.url = base_url.replace("http", "ws", 1) + "/?app=index&session=NEW"
        self.name = name

    async def open(self, i: int) -> WSClient:
        conn = await connect(self.url, deflate=self.deflate)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = loads(await conn.recv(timeout=10))
            spec = msg.get("spec") or {}
            if msg.get("command") == "output" and spec.get("type") == "buttons":
                conn.callback_id = spec["callback_id"]  # type: ignore[attr-defined]
                return conn
        raise ConnectionError("PyWebIO session sent no button")

    def request(self, conn: WSClient, n: int) -> str:
        callback_id = conn.callback_id  # type: ignore[attr-defined]
        return f'{{"event":"callback","task_id":"{callback_id}","data":0}}'

    def is_answer(self, text: str) -> bool:
        msg = loads(text)
        return msg.get("command") == "output" and (msg.get("spec") or {}).get("type") == "text"


# -- drivers -----------------------------------------------------------------------------------
async def open_many(
    target: Target, count: int, *, parallel: int = 64, offset: int = 0, timeout: float = 60.0
) -> list[WSClient]:
    """Open `count` connections, `parallel` handshakes at a time, bounded by `timeout`."""
    sem = asyncio.Semaphore(parallel)
    conns: list[WSClient | None] = [None] * count

    async def one(i: int) -> None:
        async with sem:
            conn = await target.open(offset + i)
            conn.label = f"bench-{offset + i}"  # type: ignore[attr-defined]
            conns[i] = conn

    try:
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), timeout)
    except BaseException:
        for c in conns:
            if c is not None:
                c.abort()
        raise
    return [c for c in conns if c is not None]


async def close_all(conns: Sequence[WSClient], timeout: float = 5.0) -> None:
    """Close politely, bounded; whatever is left is aborted."""
    try:
        await asyncio.wait_for(asyncio.gather(*(c.close(1.0) for c in conns)), timeout)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    for c in conns:
        c.abort()


@dataclass
class LoopResult:
    """What one closed-loop round measured."""

    completed: int = 0  # answers inside the measured window
    total: int = 0  # every answer, warm-up and drain included (for CPU per answer)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, first client only
    errors: int = 0

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


async def closed_loop(
    target: Target,
    conns: Sequence[WSClient],
    seconds: float,
    *,
    warmup: float = 0.2,
    latency_from: int = 1,
    max_requests: int = 5_000_000,
) -> LoopResult:
    """Every connection keeps one request outstanding; counts answers in the measured window.

    Latencies are kept for the first `latency_from` connections. Bounded by `max_requests`
    and by time (warmup + seconds + a 5 s grace for the last answers).
    """
    loop = asyncio.get_running_loop()
    result = LoopResult()
    now = time.perf_counter
    start = now() + warmup
    end = start + seconds
    done = loop.create_future()
    active = len(conns)
    sent = 0
    watchers: list[tuple[WSClient, Callable[[object], None]]] = []

    def finish() -> None:
        nonlocal active
        active -= 1
        if active == 0 and not done.done():
            done.set_result(None)

    def make(idx: int, conn: WSClient) -> None:
        # ids keep growing across rounds: pywry drops an id it has seen (exactly-once delivery)
        state = {"t": 0.0}
        keep = idx < latency_from

        def send_next() -> None:
            nonlocal sent
            sent += 1
            conn.next_n += 1
            state["t"] = now()
            conn.send(target.request(conn, conn.next_n))

        def on_text(text: str) -> None:
            if not target.is_answer(text):
                return
            t = now()
            result.total += 1
            if start <= t <= end:
                result.completed += 1
                if keep:
                    result.latencies.append(t - state["t"])
            if t < end and sent < max_requests:
                send_next()
            else:
                conn.on_text = None
                finish()

        def on_closed(_f: object) -> None:
            if conn.on_text is not None:
                conn.on_text = None
                result.errors += 1
                finish()

        conn.on_text = on_text
        conn.closed.add_done_callback(on_closed)
        watchers.append((conn, on_closed))
        send_next()

    for i, c in enumerate(conns):
        make(i, c)
    try:
        await asyncio.wait_for(done, warmup + seconds + 5.0)
    except asyncio.TimeoutError:
        result.errors += active
    for c in conns:
        c.on_text = None
    for c, cb in watchers:
        c.closed.remove_done_callback(cb)
    result.seconds = seconds
    # drain anything still in flight so the next round starts clean
    await asyncio.sleep(0.05)
    for c in conns:
        c.inbox.clear()
    return result
