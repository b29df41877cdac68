"""`pywry.go_app(name)`: the sender's page in a callback, every page of `widget=` outside."""

from __future__ import annotations

import pytest

import pywry
from pywry.core.app import App
from pywry.core.events import Event, current
from pywry.core.streams import CLIENT, stream_key


def test_go_app_outside_a_callback_says_what_it_needs(engine: App) -> None:
    with pytest.raises(RuntimeError, match="call it in a callback"):
        pywry.go_app("report")


def test_go_app_in_a_callback_moves_only_the_sender(engine: App) -> None:
    widget = engine.add_widget("<p>x</p>", label="board", state={"pywry.app": {"base": "/b"}})
    event = Event(engine, widget, "app:go", {}, "client-a", "", 1)
    token = current.set(event)
    try:
        pywry.go_app("report", new_window=True)
    finally:
        current.reset(token)
    assert widget.outbox.since(0) == []  # nothing on the stream every page follows
    (sent,) = engine.streams.get(stream_key("board", CLIENT, "client-a")).since(0)
    assert '"type":"pywry:navigate"' in sent and '"url":"/b/app/report","newTab":true' in sent


def test_go_app_to_an_unknown_application_says_which_there_are(engine: App) -> None:
    engine.configure(apps={"report": lambda: None, "summary": lambda: None})
    engine.add_widget("<p>x</p>", label="board")
    with pytest.raises(ValueError, match="no application called 'reprot'; .* report, summary"):
        pywry.go_app("reprot", widget="board", app=engine)
