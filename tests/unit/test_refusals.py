"""The refusal log: one line per client and reason a minute, then a count of what was left out."""

from __future__ import annotations

import logging

import pytest

from pywry.core.refusals import MAX_CLIENTS, Refusals


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pywry.refused"]


def test_one_line_per_client_and_reason_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    refusals = Refusals(clock=clock)
    with caplog.at_level(logging.WARNING, logger="pywry.refused"):
        assert refusals.note("bad-token", "board", "10.0.0.1")
        for _ in range(4):
            assert not refusals.note("bad-token", "board", "10.0.0.1")
        assert refusals.note("origin-not-allowed", "board", "10.0.0.1")  # another reason
        assert refusals.note("bad-token", "board", "10.0.0.2")  # another client
        clock.now += 59.9
        assert not refusals.note("bad-token", "board", "10.0.0.1")
        clock.now += 0.2
        assert refusals.note("bad-token", "chart", "10.0.0.1", "no token")
    assert lines(caplog) == [
        "refused bad-token for widget 'board' from 10.0.0.1",
        "refused origin-not-allowed for widget 'board' from 10.0.0.1",
        "refused bad-token for widget 'board' from 10.0.0.2",
        "refused bad-token for widget 'chart' from 10.0.0.1: no token "
        "(and 5 more since the last line)",
    ]
    record = [r for r in caplog.records if r.name == "pywry.refused"][-1]
    assert (record.refusal, record.widget, record.client) == ("bad-token", "chart", "10.0.0.1")  # type: ignore[attr-defined]


def test_memory_is_bounded() -> None:
    refusals = Refusals()
    for i in range(MAX_CLIENTS + 50):
        refusals.note("bad-token", "board", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(refusals._seen) == MAX_CLIENTS
