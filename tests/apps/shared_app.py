"""A deploy-mode app run as several processes on one shared backend (the multi-worker tests)."""

import os
import threading
import time

from fastapi.responses import HTMLResponse

from pywry import current_event
from pywry.inline import deploy, get_server_app, get_widget_html, show
from pywry.state import get_worker_id

app = get_server_app()
WORKER = os.environ.get("TEST_WORKER_NAME", get_worker_id())
GATES: dict[str, threading.Event] = {}  # one visitor's callback waits, another's opens it


def on_click(data, event_type, label):
    board.emit("app:answer", {"n": data.get("n"), "worker": WORKER}, to="all")


def on_burst(data, event_type, label):
    for i in range(int(data.get("count", 3))):
        board.emit("app:note", {"i": i, "tag": data.get("tag")}, to="all")


def on_update(data, event_type, label):
    board.update(f"<h1>{data.get('text')}</h1>", to="all")


def on_remember(data, event_type, label):
    ev = current_event()
    ev.session["region"] = data.get("region")
    ev.reply("app:remembered", {"worker": WORKER})


def on_recall(data, event_type, label):
    ev = current_event()
    ev.reply("app:recalled", {"region": ev.session.get("region"), "worker": WORKER})


def on_tell_session(data, event_type, label):
    board.emit("app:told", {"text": data.get("text"), "worker": WORKER}, to="session")


def on_slow(data, event_type, label):
    time.sleep(float(data.get("delay", 0.5)))  # the page may be gone (and back elsewhere) by now
    board.emit("app:slow-answer", {"n": data.get("n"), "worker": WORKER})


board = show(
    "<h1>Shared board</h1>",
    label="board",
    callbacks={
        "app:click": on_click,
        "app:burst": on_burst,
        "app:update": on_update,
        "app:remember": on_remember,
        "app:recall": on_recall,
        "app:slow": on_slow,
        "app:tell-session": on_tell_session,
    },
)


@app.get("/visit", response_class=HTMLResponse)
def visit():
    holder = {}

    def answer(data, event_type, label):
        released = None
        if data.get("wait"):
            released = GATES.setdefault(data["wait"], threading.Event()).wait(10)
        if data.get("open"):
            GATES.setdefault(data["open"], threading.Event()).set()
        reply = {"worker": WORKER, "n": data.get("n")}
        if released is not None:
            reply["released"] = released
        holder["w"].emit("app:visitor-answer", reply)

    holder["w"] = show("<p>visitor</p>", callbacks={"app:hello": answer})
    return HTMLResponse(get_widget_html(holder["w"].label))


@app.get("/whoami")
def whoami():
    return {"worker": WORKER}


if __name__ == "__main__":
    deploy()
