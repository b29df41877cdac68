"""Scenario 7: who receives a table's replies, in bytes.

One server (`bench/servers/table_app.py`, a 200,000-row table) and three raw pages of it:
A and B are two visitors (two page loads, two session cookies), A2 is a second tab of A's
session. A turns five pages (`grid:request-page` 2..6, each answer awaited), then exports
(`grid:export`, until its `pywry:download`); B and A2 stay idle. After each phase the app
announces a barrier note to every page (`POST /announce`, an emit outside any callback), and
every page is read up to it, so what an idle page received is counted, not guessed.

Figures are bytes of the WebSocket text frames each page received (frame headers not counted),
from one run of each: they are counts, the same on every run, so there are no rounds.
Baseline: the same server file on pywry at BASELINE_COMMIT (taken from this repository's
history with `git archive`), the last version in which every reply reached every page.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import load
from ..common import PYTHON, ROOT, Skip, free_port, run_server
from ..pages import Page, Tally, answer, barrier, visit
from ..report import Row
from . import Options, pywry_env

NAME = "visitors"
TITLE = "Table replies per visitor (bytes)"
BASELINE_COMMIT = "264be26"
BASELINE = f"pywry {BASELINE_COMMIT}"
SERVERS = ROOT / "bench" / "servers"
PAGES = range(2, 7)  # the five pages A turns to
PAGE_SIZE = 100
LABEL = "trades"  # the table's label in bench/servers/table_app.py


def run(opts: Options, peers: list[Any] | None = None) -> dict[str, Any]:
    measured = {"pywry": measure(ROOT, "visitors-pywry")}
    notes = [
        "A and B: two visitors (separate page loads and session cookies); A2: a second tab of "
        "A's session; B and A2 stay idle while A turns pages 2..6 and exports",
        "bytes: UTF-8 payload of every WebSocket text frame received in the phase (acks "
        "included; barrier notes not counted unless they share a frame with something else)",
    ]
    try:
        with old_pywry(BASELINE_COMMIT) as old:
            measured[BASELINE] = measure(old, "visitors-baseline")
    except Skip as exc:
        notes.append(f"{BASELINE}: not measured: {exc}")
    rows = []
    for metric, key in METRICS:
        rounds: dict[str, Sequence[float]] = {
            name: [float(m[key].bytes)] for name, m in measured.items()
        }
        rounds.setdefault(BASELINE, [])  # not measured: the row shows "–" in its place
        rows.append(Row.make(metric, "bytes", "lower", rounds, reference=BASELINE))
    for name, m in measured.items():
        notes.append(f"{name}: messages by page and phase: {describe(m)}")
    return {"rows": rows, "notes": notes}


METRICS = [
    ("A, its 5 page turns (grid:page + acks)", "A pages"),
    ("A, its export (pywry:download + ack)", "A export"),
    ("B (other visitor, idle), during A's page turns", "B pages"),
    ("B (other visitor, idle), during A's export", "B export"),
    ("A2 (A's other tab, idle), during A's page turns", "A2 pages"),
    ("A2 (A's other tab, idle), during A's export", "A2 export"),
]


def describe(m: dict[str, Tally]) -> str:
    """`phase: type×count, ...` for every phase with messages."""
    parts = []
    for key, tally in m.items():
        kinds = ", ".join(f"{k}×{n}" for k, n in sorted(tally.types.items())) or "nothing"
        parts.append(f"{key}: {kinds}")
    return "; ".join(parts)


def measure(code: Path, name: str) -> dict[str, Tally]:
    """Start the table app on the pywry found in `code` and count what each page receives."""
    port = free_port()
    argv = [PYTHON, str(SERVERS / "launch.py"), "table_app:app", "--port", str(port)]
    # cwd is the servers folder (launch.py imports the app from there) and pywry comes from
    # PYTHONPATH, so the one server file runs on whichever checkout `code` is
    env = pywry_env(port, lifted=False, PYTHONPATH=str(code))  # 3 pages: no limit is near
    with run_server(name, argv, env, port, "/health", cwd=SERVERS, timeout=60) as server:
        log = server.log(100_000)
        if f"pywry from {code}" not in log:
            raise RuntimeError(f"{name} did not run the pywry of {code} (log: {log[-800:]!r})")
        return dict(load.run(_pages_and_export(server.url)))


async def _pages_and_export(url: str) -> dict[str, Tally]:
    a_visit, b_visit = visit(url, LABEL), visit(url, LABEL)
    a = await Page.open("A", url, a_visit)
    b = await Page.open("B", url, b_visit)
    a2 = await Page.open("A2", url, a_visit)  # same cookie, another tab
    pages = [a, b, a2]
    out: dict[str, Tally] = {}
    try:
        await barrier(url, "start", pages)  # whatever connecting sent is not counted
        out["A pages"] = Tally()
        for n in PAGES:
            request = {"requestId": n, "page": n, "pageSize": PAGE_SIZE, "sort": [], "filter": ""}
            a.send("grid:request-page", request, n)
            out["A pages"].merge(await a.until(answer("grid:page", n)))
        _phase(out, "pages", await barrier(url, "paged", pages))
        a.send("grid:export", {"sort": [], "filter": ""}, 100)
        out["A export"] = await a.until(answer("pywry:download"), timeout=60)
        _phase(out, "export", await barrier(url, "exported", pages))
    finally:
        for p in pages:
            await p.close()
    return out


def _phase(out: dict[str, Tally], phase: str, seen: dict[str, Tally]) -> None:
    """Book what each page read up to the barrier that ended `phase`."""
    out[f"A {phase}"].merge(seen["A"])  # A: anything after its answer, before the barrier
    out[f"B {phase}"] = seen["B"]
    out[f"A2 {phase}"] = seen["A2"]


@contextlib.contextmanager
def old_pywry(commit: str) -> Iterator[Path]:
    """A folder holding the `pywry` package as it was at `commit` (from this repo's history)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "pywry"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"git archive failed: {exc}") from None
    if done.returncode != 0:
        raise Skip(f"git archive {commit} failed: {done.stderr.decode(errors='replace')[:200]}")
    with tempfile.TemporaryDirectory(prefix="pywry-old-") as folder:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+ / 3.11.4+
                tar.extractall(folder, filter="data")
            else:  # pragma: no cover - our own repository's archive
                tar.extractall(folder)  # noqa: S202
        yield Path(folder).resolve()
