"""One log line per refused client and reason a minute: bad tokens, origins, hosts, rate limits.

A refusal is worth knowing about (a misconfigured proxy, a probe, a runaway page), but a client
that retries in a loop must not flood the log. Each line names the reason, the widget and the
client address, and how many refusals of that kind the client had since its last line; it never
contains a token (callers pass the reason and their own answer's text, not what was sent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger("pywry.refused")

WINDOW = 60.0  # seconds between two lines for the same client and reason
MAX_CLIENTS = 10_000  # (client, reason) pairs remembered; the least recently refused go first


class Refusals:
    """Rate-limited logging of refusals, per (client address, reason)."""

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, reason: str, widget: str, address: str, detail: str = "") -> bool:
        """Record a refusal; log it unless this client was logged for `reason` within a minute.

        Returns whether a line was written.
        """
        key = (address or "-", reason)
        now = self.clock()
        with self._lock:
            last, hidden = self._seen.get(key, (0.0, 0))
            if last and now - last < self.window:
                self._seen[key] = (last, hidden + 1)
                self._seen.move_to_end(key)
                return False
            self._seen[key] = (now, 0)
            self._seen.move_to_end(key)
            if len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
        more = f" (and {hidden} more since the last line)" if hidden else ""
        log.warning(
            "refused %s for widget %r from %s%s%s",
            reason,
            widget or "-",
            key[0],
            f": {detail}" if detail else "",
            more,
            extra={"refusal": reason, "widget": widget or "-", "client": key[0]},
        )
        return True
