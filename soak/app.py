"""The app every soak worker runs: a widget whose callback records each event it runs, and a
ticker that emits numbered messages to every page at a steady rate.

Environment: SOAK_RUNS (file the callback appends "client n" lines to), SOAK_TICKS (file the
ticker writes its last emitted number to; `<file>.done` once it is finished), SOAK_RATE (ticks
per second, 0: none), SOAK_TICK_COUNT (how many ticks in all),
TEST_WORKER_NAME (this worker's name in the ticks).
"""

import os
import threading
import time

from pywry import current_event
from pywry.inline import deploy, get_server_app, show

app = get_server_app()
NAME = os.environ.get("TEST_WORKER_NAME", "w?")
RUNS = open(os.environ["SOAK_RUNS"], "a", buffering=1)  # noqa: SIM115 - the process's lifetime
RATE = float(os.environ.get("SOAK_RATE", "0"))
lock = threading.Lock()


def on_work(data, event_type, label):
    ev = current_event()
    with lock:
        RUNS.write(f"{ev.client} {data['n']}\n")


board = show("<h1>Soak</h1>", label="soak", callbacks={"app:work": on_work})


def ticker() -> None:
    """Emit `app:tick` {w, i} to every page, RATE a second, i = 1 .. SOAK_TICK_COUNT."""
    start = time.monotonic()
    path = os.environ["SOAK_TICKS"]
    for i in range(1, int(os.environ.get("SOAK_TICK_COUNT", "0")) + 1):
        board.emit("app:tick", {"w": NAME, "i": i}, to="all")
        with open(path + ".tmp", "w") as out:
            out.write(str(i))
        os.replace(path + ".tmp", path)
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    open(path + ".done", "w").close()


if __name__ == "__main__":
    if RATE > 0:  # its first emits wait in the publish queue until the server runs
        threading.Thread(target=ticker, daemon=True, name="soak-ticker").start()
    deploy()
