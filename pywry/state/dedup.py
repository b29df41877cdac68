"""Which event ids of one client were handled: protocol logic with no I/O, shared by the backends.

A client numbers its events 1, 2, 3, ... and resends the ones not acknowledged after a reconnect.
Ids can arrive out of order (HTTP posts race, an event is refused during an outage while a later
one on a good connection goes through), so a single "highest id seen" would take a resent
earlier event for a duplicate and drop it. Instead the record is a floor (every id up to it was
handled) and the handled ids above it; ids that close the gap fold into the floor, so the usual
in-order stream keeps the record at one number.
"""

from __future__ import annotations

WINDOW = 512  # handled ids kept above the floor; past that the lowest fold into it
MARKS = 8  # workers whose newest named attempt a record remembers (`took`)


def admit(floor: int, seen: tuple[int, ...], ident: int) -> tuple[int, tuple[int, ...]] | None:
    """The record after handling event `ident`, or None when it was handled before."""
    if ident <= floor or ident in seen:
        return None
    if ident == floor + 1 and not seen:  # the usual case: the next id, nothing out of order
        return ident, ()
    above = sorted((*seen, ident))
    start = 0
    while start < len(above) and above[start] == floor + 1:
        floor = above[start]
        start += 1
    if len(above) - start > WINDOW:  # a client far ahead of a gap: give the gap up
        start = len(above) - WINDOW
        floor = above[start - 1]
    return floor, tuple(above[start:])


def encode(floor: int, seen: tuple[int, ...]) -> str:
    """The record as stored: `floor` or `floor,id,id,...` (a plain number reads back as a floor)."""
    return ",".join(map(str, (floor, *seen)))


def ids_text(seen: tuple[int, ...]) -> str:
    """The handled ids above the floor, as stored next to it ("" for none)."""
    return ",".join(map(str, seen))


def decode(text: str | bytes | None) -> tuple[int, tuple[int, ...]]:
    """A stored record (nothing stored: nothing handled)."""
    if not text:
        return 0, ()
    raw = (text.decode() if isinstance(text, bytes) else text).partition("|")[0]
    parts = [int(p) for p in raw.split(",") if p]
    return (parts[0], tuple(parts[1:])) if parts else (0, ())


def took(text: str | bytes | None, ident: int, attempt: str) -> bool:
    """Whether a stored record says `attempt` (``worker.n``) took event `ident`.

    A worker whose store went away while recording an event cannot tell whether the write
    landed; once the store is back it asks this, and runs the event itself if it did. The record
    keeps each worker's newest such mark (at most `MARKS`), so events the page sent meanwhile
    through other workers do not hide it.
    """
    if not text:
        return False
    raw = text.decode() if isinstance(text, bytes) else text
    return f"{ident}@{attempt}" in raw.split("|")[1:]
