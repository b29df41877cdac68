"""Operational metrics: what `GET {base}/metrics` reports, in the Prometheus text format.

`Metrics` counts nothing (metrics are off by default, and the hot paths call its hooks
unconditionally). `PrometheusMetrics` keeps pywry's series in prometheus_client. The worker
processes of one deployment each write their values to files in `PROMETHEUS_MULTIPROC_DIR` (one
directory per deployment; `deploy()` makes it), and whichever worker answers `/metrics` sums
them: prometheus_client's multiprocess mode. Gauges count live processes only, so a stopped or
killed worker's connections leave the sum.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ..extras import need

#: The environment variable that names the deployment's directory of per-process values.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TRANSPORTS = ("websocket", "sse")
FLUSH_AT = 10_000  # counts kept between flushes at most (a stalled tick cannot grow them more)


class Metrics:
    """No metrics: every hook does nothing and the route is not served."""

    enabled = False

    def connected(self, transport: str) -> None:
        """A WebSocket or event stream opened."""

    def disconnected(self, transport: str) -> None:
        """A WebSocket or event stream closed."""

    def widgets(self, count: int) -> None:
        """This worker now holds `count` widgets of its own (not copies of another's)."""

    def event(self) -> None:
        """A browser event reached its callback's worker (once, duplicates are not counted)."""

    def emitted(self) -> None:
        """Python sent one message to pages."""

    def callback(self, seconds: float, failed: bool) -> None:
        """A callback ran for `seconds`; `failed` when it raised."""

    def replayed(self) -> None:
        """A reconnecting page was sent what it had missed."""

    def resynced(self) -> None:
        """A reconnecting page's history was gone: it was told to resynchronise."""

    def flush(self) -> None:
        """Hand what was counted since the last flush to the exported series."""

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        raise LookupError("metrics are off (PYWRY_SERVER__METRICS)")

    def close(self) -> None:
        """This process stops serving: its live values leave the deployment's sums."""


class PrometheusMetrics(Metrics):
    """pywry's series in prometheus_client (the `metrics` extra)."""

    enabled = True

    def __init__(self) -> None:
        prom = need("prometheus_client", "PYWRY_SERVER__METRICS", "metrics")
        self._prom = prom
        self._multiprocess = need(
            "prometheus_client.multiprocess", "PYWRY_SERVER__METRICS", "metrics"
        )
        self.directory = os.environ.get(MULTIPROC_ENV) or None
        self.registry = prom.CollectorRegistry()
        r = self.registry
        connections = prom.Gauge(
            "pywry_connections",
            "Open connections to pages, by transport",
            ["transport"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self._connections = {t: connections.labels(t) for t in TRANSPORTS}
        self._widgets = prom.Gauge(
            "pywry_widgets",
            "Widgets held by the workers (a module-level widget counts once per worker)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._events = prom.Counter("pywry_events", "Browser events handled", registry=r)
        self._emits = prom.Counter("pywry_emits", "Messages sent from Python", registry=r)
        self._errors = prom.Counter("pywry_callback_errors", "Callbacks that raised", registry=r)
        self._replays = prom.Counter(
            "pywry_replays", "Reconnects sent the messages they missed", registry=r
        )
        self._resyncs = prom.Counter(
            "pywry_resyncs", "Reconnects whose history was gone (pywry:resync)", registry=r
        )
        self._duration = prom.Histogram(
            "pywry_callback_duration_seconds", "How long callbacks ran", registry=r
        )
        self._pending_events: list[None] = []
        self._pending_emits: list[None] = []
        self._pending_calls: list[tuple[float, bool]] = []
        self._flushing = threading.Lock()

    def connected(self, transport: str) -> None:
        self._connections[transport].inc()

    def disconnected(self, transport: str) -> None:
        self._connections[transport].dec()

    def widgets(self, count: int) -> None:
        self._widgets.set(count)

    # Per event, per emit and per callback only a list append (atomic, from any thread): a
    # prometheus_client series takes a lock and, in multiprocess mode, writes a file on every
    # change. `flush` (every housekeeping tick, about once a second, and before a scrape)
    # hands the counts over.
    def event(self) -> None:
        self._pending_events.append(None)
        if len(self._pending_events) > FLUSH_AT:
            self.flush()

    def emitted(self) -> None:
        self._pending_emits.append(None)
        if len(self._pending_emits) > FLUSH_AT:
            self.flush()

    def callback(self, seconds: float, failed: bool) -> None:
        self._pending_calls.append((seconds, failed))
        if len(self._pending_calls) > FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        with self._flushing:
            for pending, series in (
                (self._pending_events, self._events),
                (self._pending_emits, self._emits),
            ):
                n = len(pending)
                if n:
                    del pending[:n]  # what was appended meanwhile waits for the next flush
                    series.inc(n)
            calls = self._pending_calls
            n = len(calls)
            if n:
                taken = calls[:n]
                del calls[:n]
                errors = 0
                for seconds, failed in taken:
                    self._duration.observe(seconds)
                    errors += failed
                if errors:
                    self._errors.inc(errors)

    def replayed(self) -> None:
        self._replays.inc()

    def resynced(self) -> None:
        self._resyncs.inc()

    def render(self) -> tuple[bytes, str]:
        self.flush()  # this worker's own counts are current; the others' at most a tick old
        prom = self._prom
        registry: Any = self.registry
        if self.directory is not None:
            self._forget_dead()
            registry = prom.CollectorRegistry()
            self._multiprocess.MultiProcessCollector(registry, path=self.directory)
        return prom.generate_latest(registry), prom.exposition.CONTENT_TYPE_PLAIN_0_0_4

    def _forget_dead(self) -> None:
        """Drop the live values of workers that died without saying so (SIGKILL)."""
        assert self.directory is not None
        for name in os.listdir(self.directory):
            if not (name.startswith("gauge_live") and name.endswith(".db")):
                continue
            pid = name[: -len(".db")].rpartition("_")[2]
            if pid.isdigit() and not _alive(int(pid)):
                self._multiprocess.mark_process_dead(int(pid), self.directory)

    def close(self) -> None:
        self.flush()
        if self.directory is not None:
            self._multiprocess.mark_process_dead(os.getpid(), self.directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def metrics_for(enabled: bool) -> Metrics:
    """The metrics an app with `PYWRY_SERVER__METRICS=enabled` keeps."""
    return PrometheusMetrics() if enabled else Metrics()
