"""A deploy-mode app that counts its callback runs: one line per run in a file per process.

`app:tick` {"page", "n"} is recorded in `$TEST_RUNS_DIR/<pid>.runs` and answered with
`app:tock` to every page, so a test can tell which events ran, how often, and what each page
received.
"""

import os
from pathlib import Path

from pywry.inline import deploy, get_server_app, show

app = get_server_app()
RUNS = Path(os.environ["TEST_RUNS_DIR"]) / f"{os.getpid()}.runs"


def on_tick(data, event_type, label):
    line = f"{data['page']} {int(data['n'])}\n".encode()
    fd = os.open(RUNS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)  # one write of one line with O_APPEND: whole lines, any thread
    finally:
        os.close(fd)
    board.emit("app:tock", {"page": data["page"], "n": int(data["n"])}, to="all")


board = show(
    "<h1>Counting board</h1>",
    label="board",
    callbacks={"app:tick": on_tick},
)


if __name__ == "__main__":
    deploy()
