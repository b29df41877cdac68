"""Scenarios, in the order `python -m bench` runs them. Each module has NAME, TITLE and run()."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Options:
    """What the command line asked for."""

    seconds: float = 2.0  # length of one measured round
    rounds: int = 5  # rounds per measurement (median and spread are over these)
    rounds_memory: int = 3  # the idle-memory scenario starts fresh servers for every round
    quick: bool = False
    warmup: float = 0.2  # unmeasured seconds before each closed-loop round
    connections: int = 1000  # fan-out and idle-memory scenarios
    # "how it grows": fan-out and idle memory also at these counts (the largest may be cut in
    # quick mode, see the runner); `connections` itself is measured as before
    scale: tuple[int, ...] = (100, 10_000)
    concurrency: tuple[int, ...] = (1, 10, 100)
    extra: dict[str, Any] = field(default_factory=dict)


#: pywry's connection caps per widget and per address, raised for the 10,000-connection steps.
SCALE_LIMITS = {
    "PYWRY_SERVER__MAX_CONNECTIONS_PER_WIDGET": "20000",
    "PYWRY_SERVER__MAX_CONNECTIONS_PER_ADDRESS": "20000",
}

#: Every load client runs on 127.0.0.1: the limits per client address are lifted with these.
LIFTED_ADDRESS_LIMITS = {
    "PYWRY_SERVER__MAX_EVENTS_PER_SECOND_PER_ADDRESS": "1000000",
    "PYWRY_SERVER__MAX_EVENTS_PER_SECOND_PER_TOKEN": "1000000",
    "PYWRY_SERVER__MAX_NEW_CLIENTS_PER_MINUTE": "1000000",
    "PYWRY_SERVER__MAX_CONNECTIONS_PER_ADDRESS": "5000",
}


def pywry_env(port: int, *, lifted: bool = True, **extra: str) -> dict[str, str]:
    """Environment for a pywry server process of the bench.

    The per-connection event rate limit (a security setting, 200/s by default) is lifted so a
    closed-loop client is not throttled; the limiter still runs on every event. The connection
    cap per widget is raised for the 1,000-connection scenarios. With `lifted`, so are the
    limits per client address and token (`lifted=False` for a checkout that predates them).
    """
    from ..common import base_env  # noqa: PLC0415

    env = base_env(
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__LOG_LEVEL="warning",
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_SERVER__MAX_EVENTS_PER_SECOND="1000000",
        PYWRY_SERVER__MAX_CONNECTIONS_PER_WIDGET="5000",
        PYWRY_HEADLESS="1",
        **(LIFTED_ADDRESS_LIMITS if lifted else {}),
    )
    env.update(extra)
    return env
