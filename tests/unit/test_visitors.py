"""The event being handled: who sent it, where an emit goes, and the sender's session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pywry import current_event
from pywry.config import PyWrySettings
from pywry.core.app import App
from pywry.core.protocol import Incoming
from pywry.core.sessions import SessionError
from pywry.core.streams import CLIENT, SESSION, stream_key
from pywry.handle import WidgetHandle
from tests.support import run_async

SID = "visitor-session-aaaaaaaaaaaa"
OTHER = "visitor-session-bbbbbbbbbbbb"


def fire(app: App, label: str, kind: str, data: Any = None, client: str = "tab-a", sid: str = SID):
    """Run `label`'s callback for one event from `client` of session `sid`."""
    replies: list[str] = []
    widget = app.require(label)
    run_async(
        app.dispatch(widget, Incoming(kind, data or {}, 1, label), replies.append, client, sid)
    )
    return replies


def texts(app: App, key: str | None, label: str = "w") -> list[dict[str, Any]]:
    outbox = app.require(label).outbox if key is None else app.streams.get(key)
    return [json.loads(t) for t in outbox.since(0) or []]


@pytest.fixture
def app() -> App:
    return App(PyWrySettings())


def test_current_event_knows_the_sender_and_is_none_outside(app: App) -> None:
    seen: dict[str, Any] = {}

    def on_click(data: Any, event_type: str, label: str) -> None:
        ev = current_event()
        assert ev is not None
        seen.update(type=ev.type, data=ev.data, client=ev.client, label=ev.label, user=ev.user)
        seen["handle"] = ev.widget

    app.add_widget("<p>x</p>", label="w", callbacks={"app:click": on_click})
    assert current_event() is None
    fire(app, "w", "app:click", {"n": 3})
    assert seen["type"] == "app:click" and seen["data"] == {"n": 3}
    assert seen["client"] == "tab-a" and seen["label"] == "w" and seen["user"] is None
    assert isinstance(seen["handle"], WidgetHandle) and seen["handle"].label == "w"
    assert current_event() is None


def test_a_fourth_parameter_receives_the_event_in_sync_and_async_callbacks(app: App) -> None:
    got: list[Any] = []

    def sync(data: Any, event_type: str, label: str, event: Any) -> None:
        got.append(event.client)

    async def asynchronous(data: Any, event_type: str, label: str, event: Any) -> None:
        got.append(event is current_event())

    app.add_widget("<p>x</p>", label="w", callbacks={"app:a": sync, "app:b": asynchronous})
    fire(app, "w", "app:a")
    fire(app, "w", "app:b")
    assert got == ["tab-a", True]


def test_inside_a_callback_an_emit_reaches_the_sender_only(app: App) -> None:
    handle = WidgetHandle(app, "w")

    def on_click(data: Any, event_type: str, label: str) -> None:
        handle.emit("app:mine", {"n": 1})
        handle.emit("app:everyone", {"n": 2}, to="all")
        handle.emit("app:my-tabs", {"n": 3}, to="session")
        current_event().reply("app:reply", {"n": 4})  # type: ignore[union-attr]

    app.add_widget("<p>x</p>", label="w", callbacks={"app:click": on_click})
    fire(app, "w", "app:click")
    assert [m["type"] for m in texts(app, None)] == ["app:everyone"]
    own = texts(app, stream_key("w", CLIENT, "tab-a"))
    assert [(m["type"], m["cseq"]) for m in own] == [("app:mine", 1), ("app:reply", 2)]
    assert [m["type"] for m in texts(app, stream_key("w", SESSION, SID))] == ["app:my-tabs"]
    assert texts(app, stream_key("w", CLIENT, "tab-b")) == []  # another tab: nothing
    handle.emit("app:outside")  # outside callbacks: every page, as always
    assert [m["type"] for m in texts(app, None)] == ["app:everyone", "app:outside"]
    with pytest.raises(RuntimeError, match="callback"):
        handle.emit("app:x", to="session")
    with pytest.raises(ValueError, match="to="):
        handle.emit("app:x", to="everyone")


def test_a_content_change_for_the_sender_leaves_later_visitors_alone(app: App) -> None:
    handle = WidgetHandle(app, "w")
    calls = {"to": None}

    def on_click(data: Any, event_type: str, label: str) -> None:
        handle.update(f"<p>{data['text']}</p>", to=calls["to"])
        handle.update_theme("light", to=calls["to"])

    app.add_widget("<p>start</p>", label="w", callbacks={"app:click": on_click})
    fire(app, "w", "app:click", {"text": "mine"})
    assert app.require("w").content == "<p>start</p>" and app.require("w").theme is None
    own = texts(app, stream_key("w", CLIENT, "tab-a"))
    assert own[0]["data"] == {"html": "<p>mine</p>"} and own[1]["data"] == {"theme": "light"}
    calls["to"] = "all"
    fire(app, "w", "app:click", {"text": "everyone"})
    assert app.require("w").content == "<p>everyone</p>" and app.require("w").theme == "light"
    assert "<p>everyone</p>" in (app.page_html("w", "") or "")


def test_the_session_keeps_json_values_between_events(app: App) -> None:
    def remember(data: Any, event_type: str, label: str) -> None:
        current_event().session["region"] = data["region"]  # type: ignore[union-attr]

    def recall(data: Any, event_type: str, label: str) -> None:
        ev = current_event()
        assert ev is not None
        ev.reply("app:region", {"region": ev.session.get("region")})

    app.add_widget("<p>x</p>", label="w", callbacks={"app:set": remember, "app:get": recall})
    fire(app, "w", "app:set", {"region": "north"})
    fire(app, "w", "app:get", client="tab-b")  # another tab of the same browser
    fire(app, "w", "app:get", client="tab-c", sid=OTHER)  # another browser
    assert texts(app, stream_key("w", CLIENT, "tab-b"))[0]["data"] == {"region": "north"}
    assert texts(app, stream_key("w", CLIENT, "tab-c"))[0]["data"] == {"region": None}


def test_a_value_a_session_cannot_keep_is_a_clear_error(app: App) -> None:
    def bad(data: Any, event_type: str, label: str) -> None:
        session = current_event().session  # type: ignore[union-attr]
        with pytest.raises(SessionError, match="not JSON"):
            session["when"] = object()
        with pytest.raises(SessionError, match="larger than"):
            session["big"] = "x" * 70_000
        session["ok"] = 1

    app.add_widget("<p>x</p>", label="w", callbacks={"app:bad": bad})
    assert fire(app, "w", "app:bad") == []  # no pywry:error: the callback caught both
    assert json.loads(app.sessions.get(SID) or "{}") == {"ok": 1}


def test_a_per_visitor_widget_belongs_to_the_session_that_made_it(app: App) -> None:
    made: dict[str, str] = {}

    def open_detail(data: Any, event_type: str, label: str) -> None:
        made["label"] = app.add_widget("<p>detail</p>", per_visitor=True).label

    app.add_widget("<p>x</p>", label="w", callbacks={"app:open": open_detail})
    fire(app, "w", "app:open")
    detail = app.require(made["label"])
    assert detail.session == SID
    assert app.session_allowed(detail, SID) and not app.session_allowed(detail, OTHER)
    claimed = app.add_widget("<p>host route</p>", per_visitor=True)  # no session known
    assert app.session_allowed(claimed, OTHER) and not app.session_allowed(claimed, SID)


def test_a_widget_a_callback_shows_never_gets_a_label_derived_from_the_code(app: App) -> None:
    from pywry._register import register_widget  # noqa: PLC0415 - what every show*() calls

    made: list[WidgetHandle] = []

    def report(data: Any, event_type: str, label: str) -> None:
        made.append(register_widget("<p>report</p>", engine=app))  # no choice: per-visitor
        made.append(register_widget("<p>shared</p>", engine=app, per_visitor=False))

    app.add_widget("<p>x</p>", label="w", callbacks={"app:report": report})
    fire(app, "w", "app:report")
    fire(app, "w", "app:report")
    labels = [h.label for h in made]
    assert len(set(labels)) == 4 and all(lb.startswith("w-") for lb in labels)
    assert [h.widget.per_visitor for h in made] == [True, False, True, False]


def test_the_event_follows_the_callback_into_tasks_it_starts(app: App) -> None:
    import asyncio

    seen: list[Any] = []

    async def on_click(data: Any, event_type: str, label: str) -> None:
        async def later() -> None:
            ev = current_event()
            seen.append(ev.client if ev else None)

        await asyncio.get_running_loop().create_task(later())

    app.add_widget("<p>x</p>", label="w", callbacks={"app:click": on_click})
    fire(app, "w", "app:click", client="tab-z")
    assert seen == ["tab-z"]


def test_the_session_cookie_is_http_only_lax_scoped_and_secure_over_https(app: App) -> None:
    from pywry.core.http import Request

    sid, headers = app.visitor(Request("GET", "/widget/w", "/pywry", secure=True))
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"pywry_session={sid}; Path=/pywry;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and cookie.endswith("; Secure")
    plain = app.visitor(Request("GET", "/widget/w", ""))[1]["Set-Cookie"]
    assert "Path=/;" in plain and "Secure" not in plain
    again, none = app.visitor(
        Request("GET", "/", "", headers={"cookie": f"a=b; pywry_session={sid}"})
    )
    assert again == sid and none == {}
    forged = app.visitor(Request("GET", "/", "", headers={"cookie": "pywry_session=<script>"}))
    assert forged[0] != "<script>" and "Set-Cookie" in forged[1]
