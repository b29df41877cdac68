"""`python -m soak [--short] [scenario ...]` (or `make soak`): run soak scenarios, print counts."""

from __future__ import annotations

import argparse
import sys

from .scenarios import FULL, SCENARIOS, SHORT, run

COLUMNS = [
    "events_sent", "events_acked", "acked_not_run", "run_twice", "unacked", "ticks_expected",
    "ticks_received", "ticks_lost", "ticks_duplicated", "ticks_out_of_order", "resyncs",
    "reconnects", "drops", "outages",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument("--short", action="store_true", help="the size make test runs")
    args = parser.parse_args(argv)
    size = SHORT if args.short else FULL
    names = args.scenarios or list(SCENARIOS)
    print("scenario\t" + "\t".join(COLUMNS) + "\tseconds", flush=True)
    bad = 0
    for name in names:
        counts, took = run(name, size)
        row = counts.row()
        print(f"{name}\t" + "\t".join(str(row[c]) for c in COLUMNS) + f"\t{took:.0f}", flush=True)
        bad += not counts.perfect()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
