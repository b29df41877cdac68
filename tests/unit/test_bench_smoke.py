"""Smoke test of the benchmark harness: scenario 1 for about a second, no timed assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_roundtrip_scenario_runs_and_reports(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWRY_")}
    argv = [
        sys.executable,
        "-m",
        "bench",
        "--only",
        "roundtrip",
        "--quick",
        "--seconds",
        "1",
        "--rounds",
        "1",
        "--concurrency",
        "1",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.md").read_text().startswith("# pywry benchmarks")
    assert "| Event round trip" in done.stdout  # the table is printed too

    meta = results["meta"]
    assert meta["machine"]["nproc"] >= 1 and meta["machine"]["python"]
    assert meta["options"]["scenarios"] == ["roundtrip"]
    scenario = results["scenarios"]["roundtrip"]
    assert scenario["status"] == "ok", scenario
    rows = {row["metric"]: row for row in scenario["rows"]}
    for metric in ("p50 latency, 1 client", "p99 latency, 1 client", "throughput, 1 client"):
        row = rows[metric]
        for side in ("pywry", "baseline"):
            stat = row["values"][side]
            assert stat["median"] > 0 and stat["min"] > 0 and stat["rounds"], (metric, side)
        assert row["ratio"]["median"] > 0
    assert rows["p50 latency, 1 client"]["goal"] == "<= 1.3"
    assert isinstance(rows["p50 latency, 1 client"]["met"], bool)
    assert rows["throughput, 1 client"]["cpu"]["pywry"]["server_pct"] is not None
    assert "p50 latency, 1 client, async callback" in rows
    for metric in (
        "p50 latency, 1 client, permessage-deflate",
        "p50 latency, 1 client, async callback, permessage-deflate",
    ):
        row = rows[metric]
        assert row["goal"] == "<= 1.3" and row["ratio"]["median"] > 0, metric
        assert row["values"]["baseline"]["median"] > 0, metric
    assert any("servers answered: pywry: " in note for note in scenario["notes"])
    assert scenario["distributions"]["latency_ms"]["pywry"]["count"] > 0


def test_auth_scenario_runs_and_reports(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWRY_")}
    argv = [sys.executable, "-m", "bench", "--only", "auth", "--quick", "--seconds", "0.3"]
    argv += ["--rounds", "1", "--out", str(tmp_path)]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    scenario = json.loads((tmp_path / "latest.json").read_text())["scenarios"]["auth"]
    assert scenario["status"] == "ok", scenario
    assert any("without the token 401" in note for note in scenario["notes"]), scenario["notes"]
    rows = {row["metric"]: row for row in scenario["rows"]}
    for metric in (
        "round trip p50, 1 client, auth on / off",
        "throughput, 10 clients, auth on / off",
        "handshake: connect to first message, p50, auth on / off",
        "page GET p50, 1 connection, auth on / off",
    ):
        row = rows[metric]
        assert row["reference"] == "auth off"
        for side in ("pywry", "auth off"):
            assert row["values"][side]["median"] > 0, (metric, side)
        assert row["ratio"]["median"] > 0
    raw = rows["round trip p50, 1 client, auth on / raw"]
    assert raw["values"]["baseline"]["median"] > 0 and raw["ratio"]["median"] > 0
