"""One message to many sockets: a send loop over idle writers, not a task woken per socket.

Waking every peer's writer task costs a future, a task step and a `collect` coroutine per
socket; a fan-out to thousands of pages then takes twice as long as the plain send loop it
could be. Here one task flushes each idle writer in turn. Sends normally finish without
waiting, so the loop runs straight through; the first time one does wait (a slow browser
pushing back), every writer not reached yet is woken to send on its own, so no page waits
behind another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from .peer import Peer

INLINE_FROM = 8  # fewer peers than this are simply woken


def fan_out(peers: Collection[Peer], tasks: set[asyncio.Task[None]]) -> None:
    """Deliver what `peers` have pending (on the loop); `tasks` keeps the running fan-outs."""
    if len(peers) < INLINE_FROM:
        for peer in peers:
            peer.wake.set()
        return
    task = asyncio.get_running_loop().create_task(_send_all(list(peers)))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _send_all(peers: list[Peer]) -> None:
    reached = 0
    waited = False

    def wake_the_rest() -> None:  # runs only once this task has had to wait
        nonlocal waited
        waited = True
        for peer in peers[reached + 1 :]:
            peer.wake.set()

    handle = asyncio.get_running_loop().call_soon(wake_the_rest)
    try:
        for reached, peer in enumerate(peers):  # noqa: B007 - read by wake_the_rest
            if waited:
                return
            writer = peer.writer
            if writer is None or writer.busy or peer.closed:
                peer.wake.set()
            else:
                await writer.flush()
    finally:
        handle.cancel()
