"""PyWry from PyPI (run in bench/.peers-venv): deploy mode as its documentation shows.

Widgets `bench-0` .. `bench-{N-1}` (PyWry keeps one WebSocket per widget, so every client of
the bench gets its own); a sync callback answers `app:ping` with `app:pong`.
"""

from __future__ import annotations

import os
import resource
import sys
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(16384, hard), hard))

from pywry.inline import deploy, get_server_app, show  # noqa: E402

app = get_server_app()
widgets = {}


def on_ping(data, event_type, label):
    widgets[label].emit("app:pong", data)


started = time.monotonic()
for i in range(int(os.environ.get("BENCH_WIDGETS", "100"))):
    label = f"bench-{i}"
    widgets[label] = show(
        "<button id='ping'>ping</button>", callbacks={"app:ping": on_ping}, widget_id=label
    )
print(f"registered {len(widgets)} widgets in {time.monotonic() - started:.1f}s", file=sys.stderr)
deploy()
