"""Server-side paging of a 1,000,000-row table: first-page bytes and the server time of a page turn.

Run: python -m bench.bench_dataframe [--rounds N] [--json PATH]

Measures, in one process and without a browser (the work a page turn costs the server is the
`grid:request-page` callback: look up the cached row order, slice it, turn the rows into JSON and
append the `grid:page` message to the widget's outbox):

- the bytes of the widget page (bridge bootstrap + first page embedded) and of one `grid:page`;
- the median time of a page turn unsorted, sorted by a number and by a string column (warm:
  the row order is cached), and filtered;
- the one-off cost of a new sort or filter (cold: the row order is computed);
- baselines measured in the same run: slicing + `to_json` of the unsorted frame with pandas, and
  `sort_values` of the whole frame (what re-sorting on every page turn would cost). Ratios are
  pywry's time over the baseline's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pywry.config import PyWrySettings
from pywry.core.app import App
from pywry.dataframe import show_dataframe

N_ROWS = 1_000_000
PAGE_SIZE = 100


def make_frame(n: int = N_ROWS) -> pd.DataFrame:
    """The e2e test's frame: an id, a name, a permuted integer score, a group and a float."""
    ids = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": ids,
            "name": pd.Series(ids).map("row-{:07d}".format),
            "score": (ids * 7919) % 1_000_003,
            "group": np.array(["alpha", "beta", "gamma", "delta"])[ids % 4],
            "price": rng.normal(100, 15, n).round(2),
        }
    )


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    """Median wall time of `fn()` over `rounds` calls, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def once_ms(fn: Callable[[], Any]) -> float:
    """Wall time of one call of `fn()`, in milliseconds."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run(rounds: int = 50, n_rows: int = N_ROWS) -> dict[str, Any]:
    """Measure everything; returns the figures as a flat dict (times in ms, sizes in bytes)."""
    df = make_frame(n_rows)
    engine = App(PyWrySettings())
    handle = show_dataframe(df, label="bench", page_size=PAGE_SIZE, engine=engine)
    widget = engine.require(handle.label)
    html = engine.page_html(handle.label, "") or ""
    request = widget.callbacks["grid:request-page"]
    pages = (n_rows + PAGE_SIZE - 1) // PAGE_SIZE
    rnd = random.Random(1)
    counter = iter(range(10**9))

    def turn(sort: list[dict[str, str]] | None = None, filt: Any = "") -> Callable[[], None]:
        def go() -> None:
            data = {
                "requestId": f"b:{next(counter)}",
                "page": rnd.randint(1, pages),
                "pageSize": PAGE_SIZE,
                "sort": sort or [],
                "filter": filt,
            }
            request(data, "grid:request-page", handle.label)

        return go

    by_score = [{"column": "score", "dir": "desc"}]
    by_name = [{"column": "name", "dir": "desc"}]
    by_two = [{"column": "group", "dir": "asc"}, {"column": "price", "dir": "desc"}]
    out: dict[str, Any] = {"rows": n_rows, "page_size": PAGE_SIZE, "rounds": rounds}
    out["first_page_html_bytes"] = len(html.encode())
    out["cold_sort_number_ms"] = once_ms(turn(by_score))
    out["cold_sort_string_ms"] = once_ms(turn(by_name))
    out["cold_sort_two_columns_ms"] = once_ms(turn(by_two))
    out["cold_filter_ms"] = once_ms(turn(None, "row-00012"))
    out["page_turn_unsorted_ms"] = median_ms(turn(), rounds)
    out["page_turn_sorted_number_ms"] = median_ms(turn(by_score), rounds)
    out["page_turn_sorted_string_ms"] = median_ms(turn(by_name), rounds)
    out["page_turn_sorted_two_columns_ms"] = median_ms(turn(by_two), rounds)
    out["page_turn_filtered_ms"] = median_ms(turn(None, "row-00012"), rounds)
    last = (widget.outbox.since(widget.outbox.seq - 1) or [""])[-1]
    out["page_message_bytes"] = len(last.encode())

    def pandas_slice() -> None:
        start = rnd.randint(0, pages - 1) * PAGE_SIZE
        df.iloc[start : start + PAGE_SIZE].to_json(orient="values")

    out["baseline_pandas_slice_ms"] = median_ms(pandas_slice, rounds)
    out["baseline_resort_every_turn_ms"] = median_ms(
        lambda: df.sort_values("score", ascending=False, kind="stable"), max(3, rounds // 10)
    )
    out["ratio_unsorted_vs_pandas_slice"] = (
        out["page_turn_unsorted_ms"] / out["baseline_pandas_slice_ms"]
    )
    out["ratio_sorted_vs_resort_every_turn"] = (
        out["page_turn_sorted_number_ms"] / out["baseline_resort_every_turn_ms"]
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--rows", type=int, default=N_ROWS)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.rounds, args.rows)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<{width}}  {shown}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    return figures


if __name__ == "__main__":
    main()
