"""Raw pages of one pywry widget for byte accounting: what each page receives, frame by frame.

A `Page` is one browser tab without a browser: it GETs the widget page (keeping the session
cookie the server sets, as a browser would), opens the page's WebSocket with `bench/wsclient.py`
and counts the bytes of every text frame it receives, phase by phase, where a phase ends with a
barrier message the caller awaits.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .load import BOOTSTRAP, dumps, loads
from .wsclient import WSClient, connect

Event = dict[str, Any]
MAX_FRAMES = 10_000  # per read-until: a page that never sees its target fails, it does not spin


@dataclass
class Visit:
    """What a browser keeps from loading the widget page: its bootstrap and its cookie."""

    boot: dict[str, Any]
    cookie: str = ""


def visit(base_url: str, label: str, timeout: float = 10.0) -> Visit:
    """GET `{base_url}/widget/{label}` as a new visitor (no cookie sent)."""
    req = urllib.request.Request(f"{base_url}/widget/{label}", headers={"Connection": "close"})
    with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - loopback only
        body = res.read()
        cookies = [c.split(";", 1)[0] for c in res.headers.get_all("Set-Cookie") or []]
    match = BOOTSTRAP.search(body)
    if match is None:
        raise ConnectionError(f"GET /widget/{label} has no bootstrap object")
    return Visit(json.loads(match.group(1)), "; ".join(cookies))


def post_json(url: str, body: Any, timeout: float = 10.0) -> None:
    """POST `body` as JSON; any status but 200 raises."""
    req = urllib.request.Request(
        url,
        data=dumps(body).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - loopback only
        if res.status != 200:
            raise ConnectionError(f"POST {url} answered {res.status}")


@dataclass
class Tally:
    """The frames of one phase: their bytes, and the messages they carried by type."""

    frames: int = 0
    bytes: int = 0
    types: Counter[str] = field(default_factory=Counter)

    def add(self, size: int, events: list[Event]) -> None:
        self.frames += 1
        self.bytes += size
        self.types.update(str(e.get("type")) for e in events)

    def merge(self, other: Tally) -> None:
        self.frames += other.frames
        self.bytes += other.bytes
        self.types.update(other.types)


class Page:
    """One tab of a visitor: a socket on the widget and the frames it received."""

    def __init__(self, name: str, conn: WSClient) -> None:
        self.name = name
        self.conn = conn

    @classmethod
    async def open(cls, name: str, base_url: str, seen: Visit, client: str = "") -> Page:
        """Connect as a tab of the visitor that loaded `seen` (`client`: the tab's id)."""
        boot = seen.boot
        client = client or "b" + uuid.uuid4().hex[:12]
        url = (
            base_url.replace("http", "ws", 1)
            + f"{boot['ws']}?client={client}&after={boot['seq']}&cafter=0"
        )
        headers = {"Cookie": seen.cookie} if seen.cookie else {}
        conn = await connect(url, subprotocols=[f"pywry.token.{boot['token']}"], headers=headers)
        return cls(name, conn)

    def send(self, kind: str, data: Any, ident: int) -> None:
        self.conn.send(dumps({"type": kind, "data": data, "id": ident}))

    async def until(
        self, wanted: Callable[[Event], bool], *, count_it: bool = True, timeout: float = 30.0
    ) -> Tally:
        """Read frames up to the one holding an event `wanted` accepts; their tally.

        With `count_it` False (a barrier) a frame that holds only wanted events is not counted;
        one that also carries anything else counts whole, so nothing can hide behind a barrier.
        """
        tally = Tally()
        for _ in range(MAX_FRAMES):
            text = await self.conn.recv(timeout)
            msg = loads(text)
            events: list[Event] = msg["events"] if "events" in msg else [msg]
            hit = any(wanted(e) for e in events)
            others = [e for e in events if not wanted(e)]
            if count_it:
                tally.add(len(text.encode()), events)
            elif others:
                tally.add(len(text.encode()), others)
            if hit:
                return tally
        raise RuntimeError(f"page {self.name}: no awaited message in {MAX_FRAMES} frames")

    async def close(self) -> None:
        await self.conn.close(1.0)
        self.conn.abort()


def note(tag: str) -> Callable[[Event], bool]:
    """Matches the barrier `app:note` with `tag`."""
    return lambda e: e.get("type") == "app:note" and (e.get("data") or {}).get("tag") == tag


def answer(kind: str, request_id: Any = None) -> Callable[[Event], bool]:
    """Matches a `kind` message (with `requestId` in its data when given)."""

    def match(e: Event) -> bool:
        if e.get("type") != kind:
            return False
        return request_id is None or (e.get("data") or {}).get("requestId") == request_id

    return match


async def barrier(base_url: str, tag: str, pages: list[Page]) -> dict[str, Tally]:
    """Announce `tag` to every page (POST /announce) and read each page up to it."""
    await asyncio.to_thread(post_json, f"{base_url}/announce", {"tag": tag})
    tallies = await asyncio.gather(*(p.until(note(tag), count_it=False) for p in pages))
    return {p.name: t for p, t in zip(pages, tallies, strict=True)}
