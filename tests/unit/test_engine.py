"""App and page rendering without a server: registration, emits, HTML, deploy settings."""

from __future__ import annotations

import json
import re

import pytest

from pywry.config import ConfigError, PyWrySettings
from pywry.core.app import App, UnknownWidgetError
from pywry.core.page import script_json
from pywry.handle import WidgetHandle
from pywry.inline import _check_workers


def boot(html: str) -> dict:
    m = re.search(r'id="pywry-bootstrap">(.*?)</script>', html)
    assert m
    return json.loads(m.group(1))


@pytest.fixture
def engine() -> App:
    return App(PyWrySettings())


def test_page_carries_bootstrap_and_bridge_under_the_base_path(engine: App) -> None:
    w = engine.add_widget("<p>hi</p>", label="chart", title="T")
    html = engine.page_html("chart", "/pywry")
    assert html is not None
    b = boot(html)
    assert b["label"] == "chart" and b["token"] == w.token and b["seq"] == 0
    assert b["ws"] == "/pywry/ws/chart" and b["events"] == "/pywry/events/chart"
    assert b["stream"] == "/pywry/sse/chart"
    assert '<script src="/pywry/pywry-static/bridge.js' in html
    assert (
        "<title>T</title>" in html and '<div id="pywry-root" class="pywry-root"><p>hi</p>' in html
    )
    assert engine.page_html("nope") is None


def test_full_document_content_gets_the_bridge_in_its_head(engine: App) -> None:
    engine.add_widget("<html><head><title>Mine</title></head><body>x</body></html>", label="doc")
    html = engine.page_html("doc", "")
    assert html is not None
    assert html.index("pywry-bootstrap") < html.index("<title>Mine</title>")
    assert html.count("<html") == 1


def test_title_is_escaped_and_bootstrap_cannot_break_out(engine: App) -> None:
    engine.add_widget("x", label="t", title="</title><script>alert(1)</script>")
    html = engine.page_html("t", "")
    assert html is not None and "<script>alert(1)" not in html
    assert "</script>" not in script_json({"a": "</script><b>"})


def test_show_with_same_label_is_idempotent(engine: App) -> None:
    a = engine.add_widget("x", label="same")
    engine.emit("same", "app:x", {})
    b = engine.add_widget("x", label="same")
    assert a.token == b.token and b.outbox.seq == 1


def test_emit_validates_and_sequences(engine: App) -> None:
    engine.add_widget("x", label="w")
    h = WidgetHandle(engine, "w")
    assert h.emit("app:one", {"a": 1}) == 1
    assert h.alert("hello", "success", 1000) == 2
    with pytest.raises(ValueError, match="namespace:name"):
        h.emit("bad", {})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        h.emit("app:x", {"obj": object()})
    with pytest.raises(ValueError, match="alert type"):
        h.alert("x", "loud")
    h.close()
    with pytest.raises(UnknownWidgetError):
        h.emit("app:x", {})


def test_update_changes_content_for_later_pages(engine: App) -> None:
    engine.add_widget("<p>old</p>", label="u")
    WidgetHandle(engine, "u").update("<p>new</p>")
    html = engine.page_html("u", "")
    assert html is not None and "<p>new</p>" in html and boot(html)["seq"] == 1


def test_bad_arguments_name_the_value(engine: App) -> None:
    with pytest.raises(ValueError, match="label 'has space'"):
        engine.add_widget("x", label="has space")
    with pytest.raises(TypeError, match="not callable"):
        engine.add_widget("x", callbacks={"app:x": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="'nocolon'"):
        engine.add_widget("x", callbacks={"nocolon": print})
    with pytest.raises(TypeError, match="content must be"):
        engine.add_widget(42)  # type: ignore[arg-type]


def test_widget_limit(engine: App) -> None:
    small = App(PyWrySettings(server={"max_widgets": 2}))
    small.add_widget("a")
    small.add_widget("b")
    with pytest.raises(RuntimeError, match="MAX_WIDGETS"):
        small.add_widget("c")


def test_per_visitor_widgets_are_collected_after_the_connection_ttl() -> None:
    eng = App(PyWrySettings(deploy={"connection_ttl": 1}))
    w = eng.add_widget("x", per_visitor=True)
    kept = eng.add_widget("x", label="module")
    w.created -= 2
    kept.created -= 2
    assert eng.reap() == 1
    assert eng.get(w.label) is None and eng.get("module") is not None


def test_more_than_one_worker_needs_a_shared_backend() -> None:
    with pytest.raises(ConfigError, match="sqlite.*redis"):
        _check_workers(PyWrySettings(server={"workers": 4}))


def test_unnamed_module_widgets_get_the_same_label_in_every_process(engine: App) -> None:
    other = App(PyWrySettings())

    def show_twice(eng: App) -> list[str]:
        return [eng.add_widget("x").label for _ in range(2)]

    first, second = show_twice(engine), show_twice(other)
    assert first == second and first[0] != first[1]
    visitor = engine.add_widget("x", per_visitor=True).label
    assert visitor not in first and visitor.startswith("w-")


def test_page_is_rendered_again_only_when_what_it_shows_changes(engine: App) -> None:
    engine.add_widget("<p>a</p>", label="cached")
    first = engine.page_html("cached", "")
    assert engine.page_html("cached", "") is first  # reused
    assert engine.page_html("cached", "/other") is not first  # another base path
    engine.emit("cached", "app:x", {})
    assert boot(engine.page_html("cached", "") or "")["seq"] == 1
    WidgetHandle(engine, "cached").update("<p>b</p>")
    assert "<p>b</p>" in (engine.page_html("cached", "") or "")
    WidgetHandle(engine, "cached").update_theme("light")
    assert boot(engine.page_html("cached", "") or "")["theme"] == "light"


def test_a_theme_nobody_chose_is_left_to_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """null: dark on a page of its own, the host's preference in a frame (the bridge decides);
    a theme given to show() or set in the settings, even "dark", is kept everywhere."""
    unset = App(PyWrySettings())
    unset.add_widget("<p>a</p>", label="a")
    unset.add_widget("<p>b</p>", label="b", theme="light")
    assert boot(unset.page_html("a", "") or "")["theme"] is None
    assert boot(unset.page_html("b", "") or "")["theme"] == "light"
    monkeypatch.setenv("PYWRY_SERVER__THEME", "dark")
    chosen = App(PyWrySettings())
    chosen.add_widget("<p>a</p>", label="a")
    assert boot(chosen.page_html("a", "") or "")["theme"] == "dark"
