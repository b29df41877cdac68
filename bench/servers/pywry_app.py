"""The pywry side of the bench: deploy-mode app with module-level widgets.

- `rt-0` .. `rt-{N-1}`: one widget per round-trip client; a sync callback (run in pywry's
  callback thread pool) answers `app:ping` with `app:pong` carrying the same data (each client
  has its own widget, so an answer is not a fan-out);
- `rta-0` .. `rta-{N-1}`: the same with an `async def` callback (runs on the event loop);
- `fan`: `app:fanout` makes the callback emit `app:tick` to every connection of the widget;
- `page`: the page the page-serve scenario fetches.

`BENCH_ROLE=relay` registers none of them (the cross-worker scenario's worker A).
"""

from __future__ import annotations

import os

from pywry.inline import get_server_app, show

app = get_server_app()
ROUND_TRIP_WIDGETS = int(os.environ.get("BENCH_RT_WIDGETS", "100"))
# "relay" (cross-worker scenario): register nothing; the widgets and their callbacks live on the
# "owner" worker and reach this one through the shared state backend.
ROLE = os.environ.get("BENCH_ROLE", "owner")
if ROLE == "relay":
    ROUND_TRIP_WIDGETS = 0
handles = {}


def on_ping(data, event_type, label):
    handles[label].emit("app:pong", data)


async def on_ping_async(data, event_type, label):
    handles[label].emit("app:pong", data)


for i in range(ROUND_TRIP_WIDGETS):
    for prefix, callback in (("rt-", on_ping), ("rta-", on_ping_async)):
        label = f"{prefix}{i}"
        handles[label] = show("<p>round trip</p>", label=label, callbacks={"app:ping": callback})


def on_fanout(data, event_type, label):
    fan.emit("app:tick", data, to="all")


if ROLE != "relay":
    fan = show("<p>fan-out</p>", label="fan", callbacks={"app:fanout": on_fanout})

PAGE_CONTENT = (
    "<h1>Sales dashboard</h1>"
    + "".join(
        f'<section class="card" id="card-{i}"><h2>Region {i}</h2>'
        f'<p>Revenue <b id="rev-{i}">0</b> &middot; orders <b id="ord-{i}">0</b></p>'
        f'<button data-region="{i}">Refresh</button></section>'
        for i in range(12)
    )
    + "<script>document.querySelectorAll('button').forEach(b => b.onclick = () =>"
    " window.pywry.emit('app:refresh', {region: b.dataset.region}));</script>"
)
if ROLE != "relay":
    page = show(PAGE_CONTENT, label="page", title="Bench page")
