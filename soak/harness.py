"""What a soak run is made of: worker processes on one backend, clients that behave like the
page's bridge (number their events, resend what was not acknowledged, reconnect with the last
seq they saw), and the counts a run ends with."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.wsclient import bootstrap as parse
from tests.redis_server import RedisServer
from tests.support import ROOT, clean_env, free_port, wait_http

APP = Path(__file__).with_name("app.py")


# -- workers -------------------------------------------------------------------------------------
@dataclass
class Worker:
    """One deploy() process on its own loopback port."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    runs: Path
    ticks: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def ticks_done(self) -> bool:
        """Whether the ticker emitted all it was asked to."""
        return Path(str(self.ticks) + ".done").exists()

    def ticked(self) -> int:
        """The last tick this worker emitted (0: none)."""
        try:
            return int(self.ticks.read_text() or 0)
        except (OSError, ValueError):
            return 0


def start_workers(
    n: int, folder: Path, redis_url: str, *, rate: float = 0.0, ticks: int = 0, **env: str
) -> list[Worker]:
    """`n` workers sharing `redis_url`, each emitting `ticks` messages, `rate` a second."""
    prefix = "soak" + uuid.uuid4().hex[:8]
    workers = []
    for i in range(n):
        port = free_port()
        name = f"w{i + 1}"
        runs, tick_file, log = (folder / f"{name}.{kind}" for kind in ("runs", "ticks", "log"))
        full = clean_env(
            PYTHONPATH=str(ROOT),
            PYWRY_SERVER__HOST="127.0.0.1",
            PYWRY_SERVER__PORT=str(port),
            PYWRY_SERVER__ACCESS_LOG="false",
            PYWRY_SERVER__RECONNECT_TIMEOUT="30",
            PYWRY_SERVER__MAX_EVENTS_PER_SECOND="1000",
            PYWRY_DEPLOY__STATE_BACKEND="redis",
            PYWRY_DEPLOY__REDIS_URL=redis_url,
            PYWRY_DEPLOY__REDIS_PREFIX=prefix,
            TEST_WORKER_NAME=name,
            SOAK_RUNS=str(runs),
            SOAK_TICKS=str(tick_file),
            SOAK_RATE=str(rate),
            SOAK_TICK_COUNT=str(ticks),
            **env,
        )
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(APP)], env=full, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        workers.append(Worker(name, port, proc, runs, tick_file, log))
    for w in workers:
        wait_http(w.url + "/health", w.proc, timeout=30)
    return workers


def start_redis(folder: Path, *, aof: bool = False) -> RedisServer:
    """A private redis-server (with an append-only file when `aof`)."""
    return RedisServer(folder, aof=aof).start()


# -- clients -------------------------------------------------------------------------------------
@dataclass
class Tally:
    """What one client did and saw."""

    sent: int = 0
    acked: set[int] = field(default_factory=set)
    ticks: dict[str, list[int]] = field(default_factory=dict)  # worker -> ticks, in arrival order
    resyncs: int = 0
    reconnects: int = 0
    drops: int = 0


class SoakClient:
    """A page's bridge, reduced to what a soak needs: numbered events, acks, resends, replay."""

    def __init__(self, workers: list[Worker], boot: dict[str, Any], rng: random.Random) -> None:
        self.workers = workers
        self.boot = boot
        self.rng = rng
        self.client = "c" + uuid.uuid4().hex[:12]
        self.after = int(boot["seq"])
        self.next_id = 1
        self.unacked: dict[int, str] = {}
        self.tally = Tally()
        self.ws: ClientConnection | None = None
        self.stopping = False
        self.connected = asyncio.Event()

    async def _connect(self) -> ClientConnection:
        """Open a socket to a live worker chosen at random; retry until one takes it."""
        for _ in range(2000):
            live = [w for w in self.workers if w.alive()]
            worker = self.rng.choice(live)
            url = (
                worker.url.replace("http", "ws", 1)
                + f"{self.boot['ws']}?client={self.client}&after={self.after}"
            )
            try:
                return await connect(
                    url, subprotocols=[f"pywry.token.{self.boot['token']}"],  # type: ignore[list-item]
                    open_timeout=5, max_size=None,
                )  # fmt: skip
            except (OSError, InvalidStatus, TimeoutError, ConnectionClosed):
                await asyncio.sleep(0.05)
        raise RuntimeError("no worker took the socket for 100 s")

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop`: read, and reconnect (resending) whenever it drops."""
        while not (stop.is_set() and not self.unacked):
            ws = await self._connect()
            self.ws = ws
            self.connected.set()
            for _ident, frame in sorted(self.unacked.items()):  # the bridge resends, in order
                try:
                    await ws.send(frame)
                except ConnectionClosed:
                    break
            try:
                async for raw in ws:
                    self._received(raw)
                    if stop.is_set() and not self.unacked:
                        break
            except ConnectionClosed:
                pass
            self.connected.clear()
            self.ws = None
            await ws.close()
            if not (stop.is_set() and not self.unacked):
                self.tally.reconnects += 1
                await asyncio.sleep(self.rng.uniform(0.05, 0.25))  # the bridge's backoff

    def _received(self, raw: str | bytes) -> None:
        msg = json.loads(raw)
        for item in msg["events"] if "events" in msg else [msg]:
            kind = item.get("type")
            if kind == "pywry:ack":
                ident = item["data"]["id"]
                self.unacked.pop(ident, None)
                self.tally.acked.add(ident)
            elif kind == "app:tick":
                self.tally.ticks.setdefault(item["data"]["w"], []).append(item["data"]["i"])
            elif kind == "pywry:resync":
                self.tally.resyncs += 1
            if isinstance(item.get("seq"), int) and kind != "pywry:resync":
                self.after = item["seq"]
            elif kind == "pywry:resync" and isinstance(item.get("data"), dict):
                self.after = int(item["data"].get("seq", self.after))

    async def send(self) -> None:
        """Send the next numbered event (kept until acknowledged)."""
        ident = self.next_id
        self.next_id += 1
        frame = json.dumps({"type": "app:work", "data": {"n": ident}, "id": ident})
        self.unacked[ident] = frame
        self.tally.sent += 1
        ws = self.ws
        if ws is not None:
            try:
                await ws.send(frame)
            except ConnectionClosed:
                pass  # resent on the next connection

    def drop(self) -> None:
        """Cut the connection abruptly (no close handshake), as a network would."""
        ws = self.ws
        if ws is not None:
            ws.transport.abort()
            self.tally.drops += 1


class StreamSoakClient(SoakClient):
    """The bridge on the HTTP stream: server-sent events down (token in a header), one POST per
    event up; a post answered 503/429/5xx or lost is sent again, as the bridge does."""

    def __init__(self, workers: list[Worker], boot: dict[str, Any], rng: random.Random) -> None:
        super().__init__(workers, boot, rng)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10, read=60))
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._stop: asyncio.Event | None = None

    def _worker(self) -> Worker:
        return self.rng.choice([w for w in self.workers if w.alive()])

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a stream open until `stop` (and every event acknowledged); post meanwhile."""
        self._stop = stop
        poster = asyncio.create_task(self._post_loop(stop))
        try:
            while not (stop.is_set() and not self.unacked):
                reading = asyncio.create_task(self._stream_once())
                stopped = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait(
                    {reading, stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                if reading not in done and not self.unacked:
                    reading.cancel()
                    break
                if reading not in done:
                    await reading
                stopped.cancel()
                self.connected.clear()
                if not (stop.is_set() and not self.unacked):
                    self.tally.reconnects += 1
                    await asyncio.sleep(self.rng.uniform(0.05, 0.25))
        finally:
            poster.cancel()
            await self.http.aclose()

    async def _stream_once(self) -> None:
        worker = self._worker()
        params = {"client": self.client, "after": str(self.after)}
        headers = {"X-PyWry-Token": self.boot["token"], "Accept": "text/event-stream"}
        try:
            async with self.http.stream(
                "GET", worker.url + self.boot["stream"], params=params, headers=headers
            ) as res:
                if res.status_code != 200:
                    await res.aread()
                    return
                self.connected.set()
                self.queue.put_nowait(0)  # a new stream: resend what is not acknowledged
                data: list[str] = []
                async for line in res.aiter_lines():
                    if line == "":
                        if data:
                            self._received("\n".join(data))
                        data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
        except (httpx.HTTPError, OSError):
            return

    async def _post_loop(self, stop: asyncio.Event) -> None:
        """Post events one at a time; `0` on the queue means: resend every unacknowledged one."""
        while True:
            ident = await self.queue.get()
            pending = sorted(self.unacked) if ident == 0 else [ident]
            for n in pending:
                while n in self.unacked:
                    if await self._post(n):
                        break
                    await asyncio.sleep(0.25)  # refused or lost: the bridge tries again

    async def _post(self, ident: int) -> bool:
        """Post event `ident` once; True when the server answered (acked or not)."""
        worker = self._worker()
        headers = {
            "X-PyWry-Token": self.boot["token"], "X-PyWry-Client": self.client,
            "Content-Type": "application/json",
        }  # fmt: skip
        try:
            res = await self.http.post(
                worker.url + self.boot["events"], content=self.unacked[ident], headers=headers
            )
        except (httpx.HTTPError, OSError, KeyError):
            return False
        if res.status_code != 200:
            return False
        body = res.json()
        for acked in body.get("acks", []):
            self.unacked.pop(acked, None)
            self.tally.acked.add(acked)
        for msg in body.get("messages", []):
            self._received(json.dumps(msg))
        return True

    async def send(self) -> None:
        ident = self.next_id
        self.next_id += 1
        self.unacked[ident] = json.dumps({"type": "app:work", "data": {"n": ident}, "id": ident})
        self.tally.sent += 1
        self.queue.put_nowait(ident)


async def traffic(
    clients: list[SoakClient], seconds: float, rate: float, during: Any = None
) -> None:
    """Each client sends `rate` events a second for `seconds`; `during()` injects the fault;
    then every client stays until all its events are acknowledged (at most 60 s)."""
    stop = asyncio.Event()
    readers = [asyncio.create_task(c.run(stop)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 30)

    async def sender(c: SoakClient) -> None:
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:
            i += 1
            await c.send()
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))

    jobs = [asyncio.create_task(sender(c)) for c in clients]
    if during is not None:
        jobs.append(asyncio.create_task(during()))
    await asyncio.gather(*jobs)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(_caught_up(c) for c in clients):
        await asyncio.sleep(0.1)  # polling what the clients hold: the last ticks arrive
    stop.set()
    for c in clients:  # a reader waiting for a frame sees the stop once its socket closes
        if c.ws is not None and not c.unacked:
            await c.ws.close()
    done, pending = await asyncio.wait(readers, timeout=60)
    for task in pending:
        task.cancel()
    for c in clients:
        if c.ws is not None:
            await c.ws.close()


def _caught_up(c: SoakClient) -> bool:
    """Whether `c` has every event acknowledged and every live worker's last tick."""
    if c.unacked:
        return False
    for w in c.workers:
        if (
            w.alive()
            and w.ticked()
            and not (w.ticks_done() and c.tally.ticks.get(w.name, [0])[-1] >= w.ticked())
        ):
            return False
    return True


# -- counting ------------------------------------------------------------------------------------
@dataclass
class Counts:
    """A run's result: events (sent/acked/run) and broadcast messages (emitted/received)."""

    events_sent: int = 0
    events_acked: int = 0
    acked_not_run: int = 0
    run_twice: int = 0
    unacked: int = 0
    ticks_expected: int = 0
    ticks_received: int = 0
    ticks_lost: int = 0
    ticks_duplicated: int = 0
    ticks_out_of_order: int = 0
    resyncs: int = 0
    reconnects: int = 0
    drops: int = 0
    outages: int = 0  # "went away" lines in the workers' logs (one outage: one per worker)

    def row(self) -> dict[str, int]:
        return dict(self.__dict__)

    def perfect(self) -> bool:
        return not (
            self.acked_not_run or self.run_twice or self.unacked or self.ticks_lost
            or self.ticks_duplicated or self.ticks_out_of_order
        )  # fmt: skip


def count(
    workers: list[Worker], clients: list[SoakClient], *, skip: set[str] = frozenset()
) -> Counts:  # type: ignore[assignment]
    """Compare what the clients sent and saw with what the workers ran and emitted.

    Ticks of workers in `skip` (killed ones, whose last emits were never acknowledged to
    anyone) are left out.
    """
    runs: Counter[tuple[str, int]] = Counter()
    for w in workers:
        if w.runs.exists():
            for line in w.runs.read_text().splitlines():
                client, _, n = line.partition(" ")
                runs[(client, int(n))] += 1
    out = Counts()
    for w in workers:
        out.outages += w.log.read_text(errors="replace").count("went away")
    for c in clients:
        t = c.tally
        out.events_sent += t.sent
        out.events_acked += len(t.acked)
        out.unacked += len(c.unacked)
        out.acked_not_run += sum(1 for n in t.acked if runs[(c.client, n)] == 0)
        out.run_twice += sum(1 for n in range(1, t.sent + 1) if runs[(c.client, n)] > 1)
        out.resyncs += t.resyncs
        out.reconnects += t.reconnects
        out.drops += t.drops
        for w in workers:
            if w.name in skip:
                continue
            got = t.ticks.get(w.name, [])
            expected = w.ticked()
            first = got[0] if got else expected + 1  # a page sees ticks from when it joined
            wanted = set(range(first, expected + 1))
            seen = Counter(got)
            out.ticks_expected += len(wanted)
            out.ticks_received += len(got)
            out.ticks_lost += len(wanted - set(seen))
            out.ticks_duplicated += sum(n - 1 for n in seen.values() if n > 1)
            out.ticks_out_of_order += sum(1 for a, b in zip(got, got[1:], strict=False) if b < a)
    return out


def bootstrap(worker: Worker) -> dict[str, Any]:
    """The page's bootstrap object, as a browser loading it would get it."""
    return parse(httpx.get(worker.url + "/widget/soak", timeout=10).text)


def stop_all(workers: list[Worker]) -> None:
    for w in workers:
        if w.alive():
            w.proc.terminate()
    for w in workers:
        w.stop()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
