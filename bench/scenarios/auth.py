"""Scenario: what access control costs (bearer token), auth on against auth off.

The same pywry bench app (`bench/servers/pywry_app.py`) runs twice under the same uvicorn
settings: once as is ("auth off"), once with `PYWRY_DEPLOY__AUTH_ENABLED=true` and a random
`PYWRY_DEPLOY__AUTH_SECRET` of this run ("auth on"). The bench process issues the token with
`pywry.auth.issue_token` on an `App` that only shares the secret (as any process holding it can)
and sends `Authorization: Bearer <token>` on the page GETs and the WebSocket handshakes of the
auth-on server. The raw Starlette echo / FastAPI page (`raw_app.py`) is the third target.

Measured, rounds of the three interleaved (order reversed every other round):

- events on an open socket: round-trip p50/p99 at 1 client, throughput and server CPU per
  round trip at 10 clients (the user is resolved once at the handshake, so on/off should be ~1);
- handshake: from TCP connect to the first message (pywry sends its stream position once the
  socket is admitted, which is after the access check; the echo answers the first ping), and to
  the answer of a first event, one socket at a time, each a new client id;
- page GET latency: sequential GETs on one keep-alive connection.

Before measuring it checks that the auth-on server really refuses a page GET and a socket
without the token. Rounds are at most `MAX_ROUND_S` long and no round starts after `BUDGET_S`,
so the scenario stays under 90 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import httpload, load
from ..common import (
    LOGS,
    CpuMeter,
    Server,
    base_env,
    free_port,
    http_get,
    percentile,
    run_server,
    uvicorn_argv,
)
from ..report import Row
from . import Options, pywry_env

NAME = "auth"
TITLE = "Access control (bearer token)"
ON, OFF, RAW = "pywry", "auth off", "baseline"  # "pywry" is the report's subject: auth on
CLIENTS = 10  # throughput clients; widget rt-{CLIENTS} is the handshake scenario's
MAX_ROUND_S = 1.0
BUDGET_S = 70.0  # no new round starts after this many seconds of the scenario
HANDSHAKES = 250  # at most, per target and round (and at most half a round's seconds)
PAGE_GETS = 1000  # at most, per target and round (and at most half a round's seconds)
WARMUP = 20  # handshakes (and twice as many page GETs) per target before the first round


def issue(secret: str) -> str:
    """A bearer token from a process that only shares the secret (this one)."""
    from pywry.auth import issue_token  # noqa: PLC0415
    from pywry.config import PyWrySettings  # noqa: PLC0415
    from pywry.core.app import App  # noqa: PLC0415

    settings = PyWrySettings(deploy={"auth_enabled": True, "auth_secret": secret})
    return issue_token("bench", ["viewer"], ttl=900, app=App(settings))


def _start(stack: contextlib.ExitStack, specs: list[tuple[Any, ...]]) -> list[Server]:
    """Start servers side by side (start-up is not measured); all stop with `stack`."""
    cms = [run_server(*spec) for spec in specs]
    with ThreadPoolExecutor(len(cms)) as pool:
        futures = [pool.submit(cm.__enter__) for cm in cms]
    servers, failure = [], None
    for cm, fut in zip(cms, futures, strict=True):
        try:
            servers.append(fut.result())
            stack.push(cm.__exit__)
        except BaseException as exc:  # noqa: BLE001 - raised once the others are registered
            failure = failure or exc
    if failure is not None:
        raise failure
    return servers


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    started = time.monotonic()
    secret = secrets.token_urlsafe(32)
    token = issue(secret)
    bearer = {"Authorization": f"Bearer {token}"}
    p_on, p_off, p_raw = free_port(), free_port(), free_port()
    widgets = str(CLIENTS + 1)
    app = "bench.servers.pywry_app:app"
    notes = [
        "auth on: PYWRY_DEPLOY__AUTH_ENABLED=true, a random 43-character AUTH_SECRET; token from "
        "pywry.auth.issue_token in the bench process (same secret), sent as "
        "`Authorization: Bearer` on page GETs and WebSocket handshakes; auth off: the same app "
        "without it; both under bench/servers/launch.py, 1 worker, memory backend",
    ]
    with contextlib.ExitStack() as stack:
        on, off = _start(
            stack,
            [
                (
                    "auth-on",
                    uvicorn_argv(app, p_on),
                    pywry_env(
                        p_on,
                        BENCH_RT_WIDGETS=widgets,
                        PYWRY_DEPLOY__AUTH_ENABLED="true",
                        PYWRY_DEPLOY__AUTH_SECRET=secret,
                    ),
                    p_on,
                    "/health",
                ),
                (
                    "auth-off",
                    uvicorn_argv(app, p_off),
                    pywry_env(p_off, BENCH_RT_WIDGETS=widgets),
                    p_off,
                    "/health",
                ),
            ],
        )
        status, body = http_get(off.url + "/widget/page")
        if status != 200:
            raise RuntimeError(f"auth-off page answered {status}")
        page_file = LOGS / "auth-page.html"
        page_file.write_bytes(body)
        (raw,) = _start(
            stack,
            [
                (
                    "auth-baseline",
                    uvicorn_argv("bench.servers.raw_app:app", p_raw),
                    base_env(BENCH_PAGE_FILE=str(page_file)),
                    p_raw,
                    "/health",
                )
            ],
        )
        notes.append(check_refusals(on, bearer))
        rt = {
            ON: load.PywryTarget(on.url, name=ON, headers=bearer),
            OFF: load.PywryTarget(off.url, name=OFF),
            RAW: load.EchoTarget(raw.url),
        }
        label = f"rt-{CLIENTS}"
        hs = {
            ON: load.PywryTarget(on.url, prefix=label, name=ON, headers=bearer),
            OFF: load.PywryTarget(off.url, prefix=label, name=OFF),
            RAW: load.EchoTarget(raw.url),
        }
        servers = {ON: on, OFF: off, RAW: raw}
        pages = {
            ON: (on.url + "/widget/page", bearer),
            OFF: (off.url + "/widget/page", {}),
            RAW: (raw.url + "/widget/page", {}),
        }
        result = load.run(measure(rt, hs, servers, pages, opts, started))
        result["notes"] = notes + result["notes"]
        return result


def check_refusals(on: Server, bearer: dict[str, str]) -> str:
    """Fail loudly unless the auth-on server refuses without the token and admits with it."""
    without, _ = http_get(on.url + "/widget/page")
    with_token, _ = http_get(on.url + "/widget/page", headers=bearer)
    if without == 200 or with_token != 200:
        raise RuntimeError(
            f"auth-on page: {without} without the token, {with_token} with it (want 401/200)"
        )
    code = load.run(_socket_refused(on, bearer))
    if code is None:
        raise RuntimeError("auth-on server sent a message to a socket without the token")
    return (
        f"checked: auth-on page GET without the token {without}, with it {with_token}; "
        f"a socket without it is closed with {code}"
    )


async def _socket_refused(on: Server, bearer: dict[str, str]) -> int | None:
    """Close code of a socket opened without the bearer (None: the server let it in)."""
    label = f"rt-{CLIENTS}"
    with_token = load.PywryTarget(on.url, prefix=label, headers=bearer)
    without = load.PywryTarget(on.url, prefix=label)
    without.boots[label] = with_token.boot(label)  # the page (its widget token) needs the bearer
    conn = await without.open(10**6)
    try:
        await conn.recv(timeout=5)
    except ConnectionError:
        return conn.closed.result() if conn.closed.done() else -1
    finally:
        conn.abort()
    return None


async def handshakes(
    target: load.Target, first_client: int, count: int, seconds: float
) -> tuple[list[float], list[float], int]:
    """Open sockets one at a time: ms to the first message, ms to the first event's answer."""
    first: list[float] = []
    answered: list[float] = []
    errors = 0
    now = time.perf_counter
    end = now() + seconds
    for k in range(count):
        if k and now() > end:
            break
        t0 = now()
        conn = None
        try:
            conn = await target.open(first_client + k)
            conn.next_n = 1
            conn.send(target.request(conn, 1))
            text = await conn.recv(timeout=5)
            t1 = now()
            while not target.is_answer(text):
                text = await conn.recv(timeout=5)
            t2 = now()
            first.append((t1 - t0) * 1000)
            answered.append((t2 - t0) * 1000)
        except (ConnectionError, asyncio.TimeoutError):
            errors += 1
        finally:
            if conn is not None:
                await conn.close(1.0)
                conn.abort()
    return first, answered, errors


FIELDS = (
    "p50",
    "p99",
    "tput",
    "cpu_us",
    "hs_first_p50",
    "hs_first_p99",
    "hs_answer_p50",
    "page_p50",
    "page_p99",
)


async def measure(
    rt: dict[str, load.Target],
    hs: dict[str, load.Target],
    servers: dict[str, Server],
    pages: dict[str, tuple[str, dict[str, str]]],
    opts: Options,
    started: float,
) -> dict[str, Any]:
    keys = [ON, OFF, RAW]
    seconds = min(opts.seconds, MAX_ROUND_S)
    conns = {k: await load.open_many(rt[k], CLIENTS, parallel=CLIENTS) for k in keys}
    s: dict[str, dict[str, list[float]]] = {k: {f: [] for f in FIELDS} for k in keys}
    cpu: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in keys}
    errors: dict[str, int] = dict.fromkeys(keys, 0)
    counts: dict[str, list[int]] = {"handshakes": [], "page GETs": []}
    client = 0
    rounds = 0
    notes: list[str] = []
    try:
        for k in keys:  # warm-up (not measured): boot pages, first sockets, first GETs
            _, _, bad = await handshakes(hs[k], client, WARMUP, 1.0)
            client += WARMUP
            errors[k] += bad
            await httpload.sequential(pages[k][0], 2 * WARMUP, 0.5, pages[k][1])
        for r in range(opts.rounds):
            if r and time.monotonic() - started > BUDGET_S:
                notes.append(f"time budget: stopped after {r} of {opts.rounds} rounds")
                break
            rounds += 1
            order = keys if r % 2 == 0 else list(reversed(keys))
            for k in order:
                res = await load.closed_loop(rt[k], conns[k][:1], seconds, warmup=opts.warmup)
                errors[k] += res.errors
                ms = [x * 1000 for x in res.latencies]
                if ms:
                    s[k]["p50"].append(percentile(ms, 50))
                    s[k]["p99"].append(percentile(ms, 99))
                await asyncio.sleep(0.05)
            for k in order:
                with CpuMeter(servers[k].pids()) as meter:
                    res = await load.closed_loop(rt[k], conns[k], seconds, warmup=opts.warmup)
                errors[k] += res.errors
                s[k]["tput"].append(res.throughput)
                cpu[k][0].append(meter.server)
                cpu[k][1].append(meter.client)
                if res.total:
                    s[k]["cpu_us"].append(meter.server / 100 * meter.wall / res.total * 1e6)
                await asyncio.sleep(0.05)
            for k in order:
                first, answered, bad = await handshakes(hs[k], client, HANDSHAKES, seconds / 2)
                client += HANDSHAKES
                errors[k] += bad
                counts["handshakes"].append(len(first))
                if first:
                    s[k]["hs_first_p50"].append(percentile(first, 50))
                    s[k]["hs_first_p99"].append(percentile(first, 99))
                    s[k]["hs_answer_p50"].append(percentile(answered, 50))
            for k in order:
                url, headers = pages[k]
                lat, bad = await httpload.sequential(url, PAGE_GETS, seconds / 2, headers)
                errors[k] += bad
                counts["page GETs"].append(len(lat))
                if lat:
                    ms = [x * 1000 for x in lat]
                    s[k]["page_p50"].append(percentile(ms, 50))
                    s[k]["page_p99"].append(percentile(ms, 99))
    finally:
        for cs in conns.values():
            await load.close_all(cs)
    notes.append(
        f"{rounds} rounds of {seconds:g} s per target (round trips), handshakes and page GETs "
        f"for up to {seconds / 2:g} s each: {min(counts['handshakes'], default=0)}–"
        f"{max(counts['handshakes'], default=0)} handshakes and "
        f"{min(counts['page GETs'], default=0)}–{max(counts['page GETs'], default=0)} GETs "
        "per target and round"
    )
    failed = {k: v for k, v in errors.items() if v}
    if failed:
        notes.append(f"errors (lost sockets, timeouts, non-200 pages): {failed}")
    return {"rows": rows(s, cpu), "notes": notes}


def rows(
    s: dict[str, dict[str, list[float]]], cpu: dict[str, tuple[list[float], list[float]]]
) -> list[Row]:
    """Auth on against auth off for every metric; then both against the raw baseline."""
    specs = [
        ("round trip p50, 1 client", "ms", "lower", "p50", 1.1),
        ("round trip p99, 1 client", "ms", "lower", "p99", None),
        (f"throughput, {CLIENTS} clients", "round trips/s", "higher", "tput", 0.9),
        (f"server CPU per round trip, {CLIENTS} clients", "µs", "lower", "cpu_us", None),
        ("handshake: connect to first message, p50", "ms", "lower", "hs_first_p50", None),
        ("handshake: connect to first message, p99", "ms", "lower", "hs_first_p99", None),
        ("handshake: connect to first event answered, p50", "ms", "lower", "hs_answer_p50", None),
        ("page GET p50, 1 connection", "ms", "lower", "page_p50", None),
        ("page GET p99, 1 connection", "ms", "lower", "page_p99", None),
    ]
    out = []
    for metric, unit, better, field, goal in specs:
        out.append(
            Row.make(
                f"{metric}, auth on / off",
                unit,
                better,
                {ON: s[ON][field], OFF: s[OFF][field]},
                goal=goal,
                cpu={ON: cpu[ON], OFF: cpu[OFF]} if field == "tput" else None,
                reference=OFF,
            )
        )
    for metric, unit, better, field, _ in specs:
        if field in ("p99", "hs_first_p99", "hs_answer_p50", "page_p99"):
            continue
        for side, name in ((ON, "auth on"), (OFF, "auth off")):
            out.append(
                Row.make(
                    f"{metric}, {name} / raw",
                    unit,
                    better,
                    {ON: s[side][field], RAW: s[RAW][field]},
                    cpu={ON: cpu[side], RAW: cpu[RAW]} if field == "tput" else None,
                )
            )
    return out
