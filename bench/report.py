"""Result rows, the JSON and Markdown outputs, and the plots."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import percentile, summary

SUBJECT = "pywry"
BASELINE = "baseline"


@dataclass
class Row:
    """One metric of one scenario: per-target medians over rounds, pywry/baseline ratio, goal."""

    metric: str
    unit: str
    better: str  # "lower" or "higher"
    values: dict[str, dict[str, Any]]
    ratio: dict[str, Any] | None = None
    goal: float | None = None
    met: bool | None = None
    cpu: dict[str, dict[str, float | None]] = field(default_factory=dict)
    note: str = ""
    peers: dict[str, Any] = field(default_factory=dict)
    reference: str = BASELINE

    @classmethod
    def make(
        cls,
        metric: str,
        unit: str,
        better: str,
        rounds: dict[str, Sequence[float]],
        *,
        goal: float | None = None,
        cpu: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None,
        note: str = "",
        reference: str = BASELINE,
    ) -> Row:
        values = {name: summary(vals) for name, vals in rounds.items()}
        row = cls(metric, unit, better, values, goal=goal, note=note, reference=reference)
        a, b = rounds.get(SUBJECT), rounds.get(reference)
        if a and b:
            paired = [x / y for x, y in zip(a, b, strict=False) if y]
            if paired:
                row.ratio = summary(paired)
                row.ratio.pop("rounds", None)
                if goal is not None:
                    r = row.ratio["median"]
                    row.met = r <= goal if better == "lower" else r >= goal
        for name, (server, client) in (cpu or {}).items():
            row.cpu[name] = {
                "server_pct": summary(server)["median"],
                "client_pct": summary(client)["median"],
            }
        others = [n for n in values if n not in (SUBJECT, reference)]
        if others and values.get(SUBJECT, {}).get("median") is not None:
            mine = values[SUBJECT]["median"]
            for name in others:
                theirs = values[name]["median"]
                if theirs is None:
                    continue
                ahead = mine < theirs if better == "lower" else mine > theirs
                row.peers[name] = {"ahead": ahead, "factor": _factor(mine, theirs, better)}
        return row

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "unit": self.unit,
            "better": self.better,
            "values": self.values,
        }
        if self.reference != BASELINE:
            out["reference"] = self.reference
        if self.ratio is not None:
            out["ratio"] = self.ratio
        if self.goal is not None:
            out["goal"] = ("<= " if self.better == "lower" else ">= ") + f"{self.goal:g}"
            out["met"] = self.met
        if self.cpu:
            out["cpu"] = self.cpu
        if self.peers:
            out["vs_peers"] = self.peers
        if self.note:
            out["note"] = self.note
        return out


def _factor(mine: float, theirs: float, better: str) -> float | None:
    """How many times better pywry is than a peer (>1 = ahead)."""
    if not mine or not theirs:
        return None
    return theirs / mine if better == "lower" else mine / theirs


class Series:
    """Raw samples kept in memory for plots (only percentiles go to the JSON)."""

    def __init__(self) -> None:
        self.samples: dict[str, dict[str, list[float]]] = {}
        self.points: dict[str, dict[str, list[tuple[float, list[float]]]]] = {}

    def add(self, kind: str, name: str, values: Sequence[float]) -> None:
        self.samples.setdefault(kind, {}).setdefault(name, []).extend(values)

    def add_point(self, kind: str, name: str, x: float, ys: Sequence[float]) -> None:
        self.points.setdefault(kind, {}).setdefault(name, []).append((x, list(ys)))

    def merge(self, other: Series) -> None:
        for kind, by in other.samples.items():
            for name, vals in by.items():
                self.add(kind, name, vals)
        for kind, by in other.points.items():
            for name, pts in by.items():
                for x, ys in pts:
                    self.add_point(kind, name, x, ys)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, by in self.samples.items():
            out[kind] = {
                name: {
                    "count": len(v),
                    **{f"p{q:g}": percentile(v, q) for q in (1, 10, 50, 90, 99, 99.9)},
                }
                for name, v in by.items()
            }
        return out


# -- formatting --------------------------------------------------------------------------------
def fmt(value: float | None) -> str:
    """A number with about three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    a = abs(value)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cell(stat: dict[str, Any] | None) -> str:
    """`median (min–max)`."""
    if not stat or stat.get("median") is None:
        return "–"
    if stat.get("min") is None or len(stat.get("rounds", [1, 1])) < 2:
        return fmt(stat["median"])
    return f"{fmt(stat['median'])} ({fmt(stat['min'])}–{fmt(stat['max'])})"


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: goals table, peers table, skipped scenarios, conditions."""
    meta = results["meta"]
    m = meta["machine"]
    lines = [
        "# pywry benchmarks",
        "",
        f"Run {meta['started']} on {m['nproc']} × {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"Python {m['python']} ({m['kernel']}); `{meta['command']}` "
        f"({meta['options']['rounds']} rounds of {meta['options']['seconds']:g} s, "
        f"{meta['duration_s']:.0f} s in all).",
        "",
        "Each cell: median over rounds (min–max). Ratio: pywry / baseline, median of the "
        "per-round ratios (rounds of pywry and its baseline alternate).",
        "",
        "| Scenario | Metric | pywry | baseline | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    peer_rows: list[tuple[str, Row | dict[str, Any]]] = []
    skipped: list[str] = []
    notes: list[str] = []
    for name, sc in results["scenarios"].items():
        if sc["status"] != "ok":
            skipped.append(f"- **{name}** ({sc['title']}): {sc['status']} – {sc.get('reason')}")
            continue
        for note in sc.get("notes", []):
            notes.append(f"- {name}: {note}")
        for row in sc["rows"]:
            vals = row["values"]
            ref = row.get("reference", BASELINE)
            if ref in vals:
                ratio = row.get("ratio")
                ref_cell = cell(vals.get(ref)) + ("" if ref == BASELINE else f" ({ref})")
                mine = cell(vals.get(SUBJECT))
                lines.append(
                    f"| {sc['title']} | {row['metric']} ({row['unit']}) | {mine} "
                    f"| {ref_cell} | {fmt(ratio['median']) if ratio else '–'} "
                    f"| {row.get('goal', '')} | {_met(row.get('met'))} |"
                )
            if row.get("vs_peers"):
                peer_rows.append((sc["title"], row))
    if peer_rows:
        peers = sorted({k for _, r in peer_rows for k in r["vs_peers"]})  # type: ignore[index]
        lines += [
            "",
            "## Against peers (same client, same machine, same run)",
            "",
            "| Scenario | Metric | pywry | " + " | ".join(peers) + " | pywry ahead |",
            "| --- | --- | --- | " + " | ".join("---" for _ in peers) + " | --- |",
        ]
        for title, row in peer_rows:
            vals = row["values"]  # type: ignore[index]
            vs = row.get("vs_peers", {})  # type: ignore[union-attr]
            ahead = [
                f"{p}: {'yes' if v['ahead'] else 'no'} ({fmt(v['factor'])}×)"
                for p, v in vs.items()
                if v.get("factor") is not None
            ]
            lines.append(
                f"| {title} | {row['metric']} ({row['unit']}) | {cell(vals.get(SUBJECT))} | "  # type: ignore[index]
                + " | ".join(cell(vals.get(p)) for p in peers)
                + f" | {'; '.join(ahead) or '–'} |"
            )
    unsupported = results.get("peers", {}).get("unsupported", {})
    if unsupported:
        lines += ["", "Peer scenarios not measured:", ""]
        for peer, items in unsupported.items():
            for scenario, why in items.items():
                lines.append(f"- {peer}, {scenario}: {why}")
    busy = [
        (name, sc.get("system_cpu_busy_pct"), sc.get("loadavg_1min_at_start"))
        for name, sc in results["scenarios"].items()
        if sc.get("system_cpu_busy_pct") is not None
    ]
    if busy:
        lines += [
            "",
            "Machine load while each scenario ran (all processes, the bench's own included; "
            f"{m['nproc']} cores = {m['nproc'] * 100}%): "
            + ", ".join(f"{n} {b:.0f}% (load average {la:g} at start)" for n, b, la in busy)
            + ".",
        ]
    if skipped:
        lines += ["", "## Skipped", ""] + skipped
    if notes:
        lines += ["", "## Notes", ""] + notes
    lines += ["", "## Conditions", ""] + [f"- {c}" for c in meta.get("conditions", [])]
    return "\n".join(lines) + "\n"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "**no**")


def write(results: dict[str, Any], series: Series, out_dir: Path) -> list[Path]:
    """latest.json, latest.md and the PNG plots; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    path = out_dir / "latest.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=_json_default) + "\n")
    written.append(path)
    path = out_dir / "latest.md"
    path.write_text(markdown(results))
    written.append(path)
    written += plots(series, out_dir)
    return written


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(f"cannot serialise {type(obj).__name__}")


#: "how it grows" kinds of points, drawn side by side in scale.png: (y label, panel title)
SCALE_PANELS = {
    "scale_fanout_ms": ("ms until the last client has it", "Fan-out: one emit to N clients"),
    "scale_memory_kib": ("KiB of server RSS per connection", "Idle memory per connection"),
}


def _errorbars(ax: Any, pts: list[tuple[float, list[float]]], label: str) -> None:
    """Median over rounds with the min-max range, one point per x."""
    pts = sorted(p for p in pts if p[1])
    if not pts:
        return
    xs = [x for x, _ in pts]
    meds = [percentile(ys, 50) for _, ys in pts]
    lo = [m - min(ys) for m, (_, ys) in zip(meds, pts, strict=True)]
    hi = [max(ys) - m for m, (_, ys) in zip(meds, pts, strict=True)]
    ax.errorbar(xs, meds, yerr=[lo, hi], marker="o", capsize=3, label=label)


def _scale_plot(plt: Any, points: dict[str, dict[str, list[Any]]], out_dir: Path) -> Path:
    """scale.png: fan-out time and memory per idle connection against the connection count."""
    kinds = [k for k in SCALE_PANELS if k in points]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4.5), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for name, pts in points[kind].items():
            _errorbars(ax, pts, name)
        ylabel, title = SCALE_PANELS[kind]
        ax.set_xscale("log")
        if kind == "scale_fanout_ms":
            ax.set_yscale("log")
        ax.set_xlabel("connections")
        ax.set_ylabel(ylabel + " (median, min–max)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    counts = sorted({int(x) for by in points.values() for pts in by.values() for x, _ in pts})
    fig.suptitle(
        "How it grows: pywry and its raw baseline at " + ", ".join(f"{c:,}" for c in counts)
    )
    fig.tight_layout()
    path = out_dir / "scale.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plots(series: Series, out_dir: Path) -> list[Path]:
    """Latency distributions and throughput against concurrency, with matplotlib's Agg backend."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return []
    written = []
    titles = {
        "latency_ms": "Event round trip, 1 client (ms)",
        "fanout_ms": "Fan-out to 1,000 clients: time until the last has it (ms)",
        "crossworker_ms": "Cross-worker round trip (ms)",
        "httpstream_ms": "HTTP stream round trip (ms)",
    }
    for kind, by in series.samples.items():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, vals in by.items():
            if not vals:
                continue
            data = sorted(vals)
            n = len(data)
            ys = [(i + 1) / n for i in range(n)]
            ax.plot(data, ys, label=f"{name} (p50 {percentile(data, 50):.3g})")
        ax.set_xscale("log")
        ax.set_xlabel("ms (log scale)")
        ax.set_ylabel("fraction of samples ≤ x")
        ax.set_title(titles.get(kind, kind))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{kind}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    scale = {k: v for k, v in series.points.items() if k in SCALE_PANELS}
    if scale:
        written.append(_scale_plot(plt, scale, out_dir))
    for kind, by in series.points.items():
        if kind in SCALE_PANELS:
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, pts in by.items():
            pts = sorted(pts)
            xs = [x for x, _ in pts]
            meds = [percentile(ys, 50) for _, ys in pts]
            lo = [m - min(ys) for m, (_, ys) in zip(meds, pts, strict=True)]
            hi = [max(ys) - m for m, (_, ys) in zip(meds, pts, strict=True)]
            ax.errorbar(xs, meds, yerr=[lo, hi], marker="o", capsize=3, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("round trips per second (median, min–max)")
        ax.set_title("Round-trip throughput against concurrency")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{kind}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
