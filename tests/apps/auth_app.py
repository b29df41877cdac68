"""A deploy-mode app with access control on, for the sign-in tests (run as several workers).

"board" lets in any signed-in user; "secret-board" only admins (PYWRY_DEPLOY__ADMIN_USERS);
"report", shown by `POST /publish` on one worker, only admins on both.
`app:whoami` answers the page that asked with the signed-in user's id and the worker's name.
"""

import html
import os

from fastapi.responses import HTMLResponse

from pywry import current_event
from pywry.auth import current_user
from pywry.inline import deploy, get_server_app, show
from pywry.state import get_worker_id

app = get_server_app()
WORKER = os.environ.get("TEST_WORKER_NAME") or get_worker_id()


def on_whoami(data, event_type, label):
    user = current_user()
    current_event().reply(
        "app:whoami",
        {
            "id": None if user is None else user.id,
            "roles": [] if user is None else sorted(user.roles),
            "worker": WORKER,
            "pid": os.getpid(),
            "n": data.get("n"),
        },
    )


board = show("<h1>Board</h1>", label="board", callbacks={"app:whoami": on_whoami})
secret = show(
    "<h1>Secret board</h1>",
    label="secret-board",
    callbacks={"app:whoami": on_whoami},
    roles=["admin"],
)


@app.post("/publish")
def publish():
    """Show an admins-only report while handling a request, on whichever worker takes it: the
    other worker serves it from the shared store, under the same rules."""
    report = show(
        "<h1>Report</h1>", label="report", roles=["admin"], per_visitor=False,
        callbacks={"app:whoami": on_whoami},
    )  # fmt: skip
    return {"label": report.label, "pid": os.getpid()}


@app.get("/", response_class=HTMLResponse)
def home():
    user = current_user()
    name = "" if user is None else html.escape(user.id)
    return HTMLResponse(f'<h1>Home</h1><p id="user">{name}</p>')


if __name__ == "__main__":
    deploy()
