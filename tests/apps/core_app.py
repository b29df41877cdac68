"""A deploy-mode app that exercises the core: module widget, per-visitor widgets, odd callbacks."""

import asyncio
import threading

from fastapi.responses import HTMLResponse

from pywry.inline import deploy, get_server_app, get_widget_html, get_widget_html_async, show

app = get_server_app()
calls: dict[str, int] = {"app:click": 0}


def on_click(data, event_type, label):
    calls["app:click"] += 1
    board.emit("app:answer", {"n": data.get("n"), "calls": calls["app:click"]}, to="all")


def on_burst(data, event_type, label):
    for i in range(int(data.get("count", 3))):
        board.emit("app:note", {"i": i}, to="all")


SECRET_DSN = "postgresql://report:s3cret-pw@db.internal:5432/sales"


def on_fail(data, event_type, label):
    raise ValueError(f"this callback always fails: cannot reach {SECRET_DSN}")


async def on_async(data, event_type, label):
    await asyncio.sleep(0)
    board.emit("app:async-answer", {"ok": True}, to="all")


def on_thread(data, event_type, label):
    threading.Thread(target=lambda: board.emit("app:from-thread", {"ok": True})).start()


def on_blobs(data, event_type, label):
    """`count` messages of `size` characters to every page (the widget's outbox)."""
    for i in range(int(data.get("count", 1))):
        board.emit("app:blob", {"i": i, "blob": "x" * int(data.get("size", 1000))}, to="all")


def on_big_reply(data, event_type, label):
    """One message of `size` characters to the sender only (its own stream)."""
    board.emit("app:blob", {"blob": "y" * int(data.get("size", 1000))})


def on_count(data, event_type, label):
    board.emit("app:count", {"calls": calls["app:click"]}, to="all")


board = show(
    "<h1>Board</h1>",
    label="board",
    callbacks={
        "app:click": on_click,
        "app:burst": on_burst,
        "app:fail": on_fail,
        "app:async": on_async,
        "app:thread": on_thread,
        "app:count": on_count,
        "app:blobs": on_blobs,
        "app:big-reply": on_big_reply,
    },
)


def _visitor_widget(kind: str):
    holder = {}

    def answer(data, event_type, label):
        holder["w"].emit("app:visitor-answer", {"kind": kind, "label": label})

    holder["w"] = show(f"<p>{kind} visitor</p>", callbacks={"app:hello": answer})
    return holder["w"]


def on_ping(data, event_type, label):
    e2e.emit("app:pong", {"n": data.get("n")})


e2e = show(
    """
    <button id="ping">ping</button><p id="pong">none</p><p id="early">none</p><ul id="notes"></ul>
    <script>
      // emitted while the page is still loading, before any connection exists
      window.pywry.emit("app:early", {state: window.pywry.state});
      window.pywry.on("app:early-answer", (d) => {
        document.getElementById("early").textContent = "early " + d.state;
      });
      let n = 0;
      document.getElementById("ping").onclick = () => window.pywry.emit("app:ping", {n: ++n});
      window.pywry.on("app:pong", (d) => {
        document.getElementById("pong").textContent = "pong " + d.n;
      });
      window.pywry.on("app:note", (d) => {
        const li = document.createElement("li"); li.textContent = d.text;
        document.getElementById("notes").appendChild(li);
      });
    </script>
    """,
    label="e2e",
    callbacks={
        "app:ping": on_ping,
        "app:early": lambda data, ev, label: e2e.emit("app:early-answer", data),
    },
)


@app.post("/test/drop/{label}")
async def drop(label: str, count: int = 3):
    """Close every socket of a widget, then emit while its pages are disconnected."""
    from pywry.core.app import default_app

    closed = await default_app().close_connections(label)
    for i in range(count):
        e2e.emit("app:note", {"text": f"note-{i}"})
    return {"closed": closed}


@app.get("/sync-visit", response_class=HTMLResponse)
def sync_visit():
    w = _visitor_widget("sync")
    return HTMLResponse(get_widget_html(w.label))


@app.get("/async-visit", response_class=HTMLResponse)
async def async_visit():
    w = _visitor_widget("async")
    return HTMLResponse(await get_widget_html_async(w.label))


if __name__ == "__main__":
    deploy()
