"""Browser-like pages sending numbered events while something fails, and what they received.

Each `Page` is one thread with one real WebSocket (`wsclient.Client`) to the counting app
(`tests/apps/counting_app.py`). It behaves as the bridge does: it keeps its unacknowledged
events and resends them after a reconnect, drops sequenced messages it has already seen, and
reconnects to replay when it sees a gap. `Tally` puts together what the app ran (its run files)
and what every page received, and counts what went wrong.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.wsclient import Client
from tests.support import connection_holder

Event = tuple[str, int]  # (page name, event number): one app:tick


@dataclass
class Traffic:
    """What every page shares: events acknowledged so far, and when sending is over."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: set[Event] = field(default_factory=set)
    pages_sending: int = 0
    holders: set[int] = field(default_factory=set)  # pids of the workers that held a socket

    def ack(self, event: Event) -> None:
        with self.lock:
            self.acked.add(event)

    def done_sending(self) -> None:
        with self.lock:
            self.pages_sending -= 1

    def all_sent(self) -> bool:
        with self.lock:
            return self.pages_sending == 0

    def expected(self) -> set[Event]:
        with self.lock:
            return set(self.acked)


class Page(threading.Thread):
    """One page: sends `events` ticks at `rate` per second, at most `window` unacknowledged."""

    def __init__(
        self,
        base_url: str,
        boot: dict[str, Any],
        name: str,
        traffic: Traffic,
        *,
        events: int,
        rate: float,
        window: int = 4,
        deadline: float,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.base_url, self.boot, self.traffic = base_url, boot, traffic
        self.events, self.interval, self.window, self.deadline = events, 1 / rate, window, deadline
        self.last = int(boot["seq"])  # the widget stream's position this page reflects
        self.cafter = 0
        self.sent = 0
        self.unacked: dict[int, dict[str, Any]] = {}
        self.log: list[tuple[int, str, Any]] = []  # accepted (seq, type, data), in order
        self.replayed = self.gaps = self.resyncs = self.reconnects = 0
        self.errors: list[Any] = []
        self.failure: BaseException | None = None
        self.sending = True
        traffic.pages_sending += 1
        self.conn: Client | None = self._connect()  # the first socket, before the thread runs

    def _connect(self) -> Client | None:
        """A socket resuming where this page is (to any worker); None while refused."""
        try:
            conn = Client(
                self.base_url,
                self.boot,
                client=self.name,
                after=self.last,
                cafter=self.cafter,
                next_id=self.sent + 1,
            )
            holder = connection_holder(int(self.base_url.rsplit(":", 1)[1]), _local_port(conn))
            for ident, data in self.unacked.items():  # the bridge resends what was not acked
                conn.send("app:tick", data, ident=ident)
        except (InvalidStatus, ConnectionClosed, OSError, TimeoutError):
            return None  # refused (1013 while the store is away) or closed at once
        if holder is not None:
            with self.traffic.lock:
                self.traffic.holders.add(holder)
        return conn

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.failure = exc
        finally:
            self._stop_sending()  # if it gave up: never keep the others waiting
            if self.conn is not None:
                self.conn.close()

    def _stop_sending(self) -> None:
        if self.sending:
            self.sending = False
            self.traffic.done_sending()

    def _run(self) -> None:
        next_send = time.monotonic()
        while time.monotonic() < self.deadline:
            if self.conn is None:
                self.conn = self._connect()
                if self.conn is None:
                    time.sleep(0.05)  # refused (outage): the bridge waits before trying again
                    continue
                self.reconnects += 1
            now = time.monotonic()
            try:
                if self.sent < self.events and len(self.unacked) < self.window and now >= next_send:
                    self.sent += 1
                    data = {"page": self.name, "n": self.sent}
                    self.unacked[self.sent] = data
                    self.conn.send("app:tick", data, ident=self.sent)
                    next_send = max(now, next_send + self.interval)
                wait = max(0.001, next_send - time.monotonic()) if self.sent < self.events else 0.2
                msg = self.conn.recv(timeout=min(wait, 0.2))
                self.cafter = self.conn.positions.get("cseq", self.cafter)
                if not self._accept(msg):
                    self.conn.close()
                    self.conn = None
            except TimeoutError:
                pass
            except (ConnectionClosed, OSError):
                self.conn = None
                continue
            if self.sent == self.events and not self.unacked:
                self._stop_sending()
                if self.traffic.all_sent() and not self.missing():
                    return

    def _accept(self, msg: dict[str, Any]) -> bool:
        """Take one message as the bridge does; False asks for a reconnect (a gap)."""
        kind = msg["type"]
        if kind == "pywry:ack":
            ident = int(msg["data"]["id"])
            if self.unacked.pop(ident, None) is not None:
                self.traffic.ack((self.name, ident))
            return True
        if kind == "pywry:resync":
            self.resyncs += 1
            self.last = int(msg["data"]["seq"])
            return True
        if kind == "pywry:error":
            self.errors.append(msg["data"])
            return True
        seq = msg.get("seq")
        if not isinstance(seq, int):
            return True
        if seq <= self.last:
            self.replayed += 1  # seen before a reconnect: dropped
            return True
        if seq > self.last + 1:
            self.gaps += 1
            return False
        self.last = seq
        self.log.append((seq, kind, msg.get("data")))
        return True

    def tocks(self) -> list[Event]:
        return [(d["page"], int(d["n"])) for _, kind, d in self.log if kind == "app:tock"]

    def missing(self) -> set[Event]:
        return self.traffic.expected() - set(self.tocks())


def _local_port(conn: Client) -> int:
    return int(conn.ws.socket.getsockname()[1])


def runs(folder: Path) -> Counter[Event]:
    """How often the app ran each event, over every worker's run file."""
    counted: Counter[Event] = Counter()
    for path in folder.glob("*.runs"):
        for line in path.read_text().splitlines():
            page, n = line.split()
            counted[(page, int(n))] += 1
    return counted


@dataclass
class Tally:
    """The figures of one run: what was sent, acknowledged, run and received."""

    sent: int
    acked: int
    received: int
    lost: int  # acknowledged events some page never received
    duplicated: int  # events run twice, plus tocks a page accepted twice
    acked_not_run: int
    out_of_order: int  # seqs a page accepted out of order, or pages disagreeing on a seq
    replayed: int
    gaps: int
    resyncs: int
    reconnects: int
    errors: list[Any]

    def line(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.__dict__.items() if k != "errors")


def tally(pages: list[Page], traffic: Traffic, folder: Path) -> Tally:
    """Count everything that went wrong across `pages` and the app's run files."""
    ran = runs(folder)
    acked = traffic.expected()
    lost = sum(len(acked - set(p.tocks())) for p in pages)
    by_seq: dict[int, tuple[str, Any]] = {}
    disorder = 0
    for page in pages:
        seqs = [s for s, _, _ in page.log]
        disorder += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b != a + 1)
        for seq, kind, data in page.log:
            seen = by_seq.setdefault(seq, (kind, data))
            disorder += seen != (kind, data)
    return Tally(
        sent=sum(p.sent for p in pages),
        acked=len(acked),
        received=sum(len(p.tocks()) for p in pages),
        lost=lost,
        duplicated=sum(c - 1 for c in ran.values() if c > 1)
        + sum(len(p.tocks()) - len(set(p.tocks())) for p in pages),
        acked_not_run=sum(1 for e in acked if ran[e] == 0),
        out_of_order=disorder,
        replayed=sum(p.replayed for p in pages),
        gaps=sum(p.gaps for p in pages),
        resyncs=sum(p.resyncs for p in pages),
        reconnects=sum(p.reconnects for p in pages),
        errors=[e for p in pages for e in p.errors],
    )
