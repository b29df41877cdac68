"""The widgets and page factories every conformance host serves (imported once per process)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pywry.inline import show
from tests.apps.frameworks import PARTNER

STATIC = Path(__file__).resolve().parent / "static"
calls = {"n": 0}


def on_click(data, event_type, label):
    calls["n"] += 1
    board.emit(
        "app:answer", {"n": data.get("n"), "calls": calls["n"], "pid": os.getpid()}, to="all"
    )


def on_burst(data, event_type, label):
    for i in range(int(data.get("count", 3))):
        board.emit("app:note", {"i": i}, to="all")


def on_fail(data, event_type, label):
    raise ValueError("this callback always fails")


async def on_async(data, event_type, label):
    await asyncio.sleep(0)
    board.emit("app:async-answer", {"ok": True}, to="all")


def on_reply(data, event_type, label):
    board.emit("app:reply-answer", {"n": data.get("n")})  # inside a callback: the sender only


def on_count(data, event_type, label):
    board.emit("app:count", {"calls": calls["n"]}, to="all")


board = show(
    "<h1>Board</h1>",
    label="board",
    callbacks={
        "app:click": on_click,
        "app:burst": on_burst,
        "app:fail": on_fail,
        "app:async": on_async,
        "app:count": on_count,
        "app:reply": on_reply,
    },
)


def report():
    """A per-visitor application."""
    holder = {}

    def hello(data, event_type, label):
        holder["w"].emit("app:visitor-answer", {"label": label})

    holder["w"] = show("<p>report</p>", title="Report", callbacks={"app:hello": hello})
    return holder["w"]


async def summary():
    """An async page factory."""
    return show("<p>summary</p>", title="Summary")


APPS = {"report": report, "summary": summary}
OPTIONS = {"apps": APPS, "static_dir": str(STATIC), "allowed_origins": [PARTNER]}


def visit_page() -> str:
    """What a host route does: show a widget for this visitor and answer with its page."""
    from pywry.inline import get_widget_html  # noqa: PLC0415

    holder = {}

    def hello(data, event_type, label):
        holder["w"].emit("app:visitor-answer", {"label": label})

    holder["w"] = show("<p>visitor</p>", title="Visitor", callbacks={"app:hello": hello})
    return get_widget_html(holder["w"].label) or ""
