"""A deploy-mode app for the operations tests: numbered events whose runs are counted in Redis.

`app:n` notes which worker started event `n` of its page (`{RUNS_KEY}:started`), waits `delay`
seconds (a callback in flight when SIGTERM comes), records the run (`HINCRBY {RUNS_KEY}
<client>:<n> 1`, when `OPS_RUNS_KEY` is set) and answers the sender with `app:done`.
`app:burst` emits `count` messages to every page; `app:fail` raises.
"""

import os
import time

import redis

from pywry import current_event
from pywry.inline import deploy, get_server_app, show
from pywry.state import get_worker_id

app = get_server_app()
WORKER = os.environ.get("TEST_WORKER_NAME", get_worker_id())
RUNS_KEY = os.environ.get("OPS_RUNS_KEY", "")
_store = redis.Redis.from_url(os.environ["PYWRY_DEPLOY__REDIS_URL"]) if RUNS_KEY else None


def on_n(data, event_type, label):
    ev = current_event()
    n = data.get("n")
    if _store is not None:
        _store.hset(f"{RUNS_KEY}:started", f"{ev.client}:{n}", WORKER)
    time.sleep(float(data.get("delay", 0)))
    if _store is not None:
        _store.hincrby(RUNS_KEY, f"{ev.client}:{n}", 1)
    ev.reply("app:done", {"n": n, "worker": WORKER})


def on_burst(data, event_type, label):
    for i in range(int(data.get("count", 1))):
        board.emit("app:note", {"i": i}, to="all")


def on_fail(data, event_type, label):
    raise ValueError("this callback always fails")


board = show(
    "<h1>Operations board</h1>",
    label="board",
    callbacks={"app:n": on_n, "app:burst": on_burst, "app:fail": on_fail},
)


if __name__ == "__main__":
    deploy()
