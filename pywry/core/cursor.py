"""Delivery cursor: where one peer stands in each ordered stream it receives. No I/O here.

A peer receives one or more ordered streams (today the widget's outbox; a client's own stream
plugs in beside it). The cursor remembers the last position delivered from each, and `take()`
says what is still to send and which streams have a gap (history the local outbox no longer
keeps). The transport loop that owns the cursor fills a gap from the shared store (`fill`) or
gives up and resynchronises (`resync`); the cursor itself never waits and never reads a store.
"""

from __future__ import annotations

from collections.abc import Sequence

from .outbox import Outbox


class Cursor:
    """Positions of one peer in its ordered streams."""

    __slots__ = ("streams", "positions")

    def __init__(self, streams: Sequence[Outbox], positions: Sequence[int]) -> None:
        if len(streams) != len(positions):
            raise ValueError("a cursor needs one position per stream")
        self.streams = list(streams)
        self.positions = list(positions)

    def add(self, stream: Outbox, position: int) -> int:
        """Follow another ordered stream from `position`; returns its index."""
        self.streams.append(stream)
        self.positions.append(position)
        return len(self.streams) - 1

    def behind(self) -> bool:
        """True when any stream has messages this peer has not been given."""
        positions = self.positions
        for i, stream in enumerate(self.streams):  # a plain loop: this runs on every delivery
            if stream.seq != positions[i]:
                return True
        return False

    def take(self) -> tuple[list[str], list[int]]:
        """Every message not yet delivered, in stream order, and the indexes of gapped streams.

        Positions advance past what is returned; a gapped stream keeps its position until
        `fill` or `resync` settles it.
        """
        texts: list[str] = []
        gaps: list[int] = []
        for i, stream in enumerate(self.streams):
            pos = self.positions[i]
            if stream.seq == pos:
                continue
            pending = stream.since(pos)
            if pending is None:
                gaps.append(i)
                continue
            texts.extend(pending)
            self.positions[i] = pos + len(pending)
        return texts, gaps

    def fill(self, index: int, texts: Sequence[str]) -> None:
        """Texts for a gap that came from elsewhere (the shared store) were delivered."""
        self.positions[index] += len(texts)

    def resync(self, index: int) -> int:
        """Skip to the stream's head (the page reloads its content); returns the new position."""
        self.positions[index] = self.streams[index].seq
        return self.positions[index]

    def position(self, index: int = 0) -> int:
        """The last position delivered from stream `index` (0: the widget's)."""
        return self.positions[index]
