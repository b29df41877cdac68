"""Metrics counted on the hot path as list appends: none lost, all in the next scrape."""

from __future__ import annotations

import threading

from pywry.core.metrics import FLUSH_AT, PrometheusMetrics


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in the scrape")


def test_counts_from_many_threads_all_reach_the_scrape() -> None:
    metrics = PrometheusMetrics()
    per_thread = FLUSH_AT + 500  # past the inline flush too, in every thread
    start = threading.Barrier(6)

    def work() -> None:
        start.wait()
        for i in range(per_thread):
            metrics.event()
            metrics.emitted()
            metrics.callback(0.001, failed=i % 1000 == 0)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    text = metrics.render()[0].decode()
    total = 6 * per_thread
    assert sample(text, "pywry_events_total") == total
    assert sample(text, "pywry_emits_total") == total
    assert sample(text, "pywry_callback_duration_seconds_count") == total
    assert sample(text, "pywry_callback_errors_total") == 6 * 11  # i = 0, 1000, ..., 10000
