"""A deploy-mode app with one module-level table, for counting who receives a table's replies.

- `/widget/trades`: a `show_dataframe` table of `TABLE_ROWS` rows (200,000 unless set; columns
  id, name, score, group), built from a fixed seed so every run and every worker has the same
  rows;
- `POST /announce {"tag": ...}`: emits `app:note` from outside any callback, which reaches every
  page of the table: a barrier a client reads up to.

Run as a script (`deploy()`, settings from `PYWRY_SERVER__*`) or as `bench.servers.table_app:app`.
It uses only API that pywry had before replies went to the asking page alone (`show_dataframe`,
`emit` without `to=`), so the same file serves both the current code and an old checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import pywry
from pywry.inline import deploy, get_server_app, show_dataframe

LABEL = "trades"
TABLE_ROWS = int(os.environ.get("TABLE_ROWS", "200000"))
GROUPS = np.array(["alpha", "beta", "gamma", "delta", "omega"])


def trades(rows: int, seed: int = 7) -> pd.DataFrame:
    """`rows` rows of made-up trades: the same rows for the same seed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "name": [f"trader-{n:05d}" for n in rng.integers(0, 50_000, rows)],
            "score": np.round(rng.normal(50.0, 15.0, rows), 3),
            "group": GROUPS[rng.integers(0, len(GROUPS), rows)],
        }
    )


# the bench checks this line: it says which checkout of pywry the server runs
print(f"table_app: pywry from {Path(pywry.__file__).resolve().parent.parent}", flush=True)
app = get_server_app()
table = show_dataframe(trades(TABLE_ROWS), title="Trades", label=LABEL, filename="trades.csv")


@app.post("/announce")
async def announce(body: dict[str, Any]) -> dict[str, Any]:
    """Emit `app:note` with the posted tag to every page of the table (outside a callback)."""
    table.emit("app:note", {"tag": str(body.get("tag", ""))})
    return {"ok": True}


if __name__ == "__main__":
    deploy()
