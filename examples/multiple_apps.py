"""Two applications on a framework's own server, `go_app` between them.

    python examples/multiple_apps.py                  # FastAPI under uvicorn on port 8080
    python examples/multiple_apps.py flask 8081       # or django, aiohttp; port 0: any free
    PYWRY_SERVER__RELOAD=true python examples/multiple_apps.py   # restarts on code changes

`/` lists the applications (there is no `index` one), `/?app=task_2` or `/app/task_2` opens
one. Each visit runs the function for that visitor: the widget it shows is theirs alone.
"""

# Needs: pip install 'pywry-server[fastapi]'

from __future__ import annotations

import importlib
import sys

from pywry import current_event, go_app
from pywry.inline import show


def task_1():
    """A button whose callback sends the page to task_2."""
    return show(
        '<h1 id="title">Task 1</h1><button id="go" data-pywry-event="app:go">Go to task 2</button>',
        title="Task 1",
        callbacks={"app:go": lambda data, event_type, label: go_app("task_2")},
    )


def task_2():
    """A button whose callback answers the page that pressed it."""

    def ping(data, event_type, label):
        event = current_event()
        assert event is not None
        event.reply("pywry:set-content", {"selector": "#answer", "html": "pong from task 2"})

    return show(
        '<h1 id="title">Task 2</h1>'
        '<button id="ping" data-pywry-event="app:ping">Ping</button><p id="answer"></p>'
        '<a id="back" href="?app=task_1">Back to task 1</a>',
        title="Task 2",
        callbacks={"app:ping": ping},
    )


APPS = [task_1, task_2]

if __name__ == "__main__":
    framework = sys.argv[1] if len(sys.argv) > 1 else "fastapi"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
    adapter = importlib.import_module(f"pywry.adapters.{framework}")
    adapter.start_server(APPS, port=port, host="127.0.0.1")
