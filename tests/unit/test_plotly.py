"""Plotly widgets, toolbar set-value and SecretInput on the server, without a server."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs_version

from pywry import inline
from pywry.config import PyWrySettings
from pywry.core.app import App
from pywry.core.events import Event, current
from pywry.plotly import (
    PlotlyHandle,
    figure_json,
    flatten_layout,
    plotly_script_url,
    show_plotly,
)
from pywry.toolbar import Button, Div, Option, SecretInput, Select, Toolbar
from tests.support import run_async


def sent(engine: App, label: str) -> list[dict[str, Any]]:
    """Every sequenced message the widget emitted so far."""
    texts = engine.require(label).outbox.since(0) or []
    return [json.loads(t) for t in texts]


def page_figure(html: str) -> dict[str, Any]:
    m = re.search(r'id="pywry-plotly-figure">(.*?)</script>', html)
    assert m
    return json.loads(m.group(1))


def bar(y: list[int]) -> go.Figure:
    return px.bar(x=["Q1", "Q2", "Q3", "Q4"], y=y)


# -- figures --------------------------------------------------------------------------------------


def test_default_template_is_dropped_so_the_chart_follows_the_page_theme() -> None:
    figure, themeable = figure_json(bar([1, 2, 3, 4]))
    assert themeable and "template" not in figure["layout"]
    assert figure["data"][0]["type"] == "bar" and figure["data"][0]["x"] == ["Q1", "Q2", "Q3", "Q4"]


def test_an_explicit_template_is_kept() -> None:
    figure, themeable = figure_json(px.bar(x=[1], y=[2], template="ggplot2"))
    assert not themeable and "template" in figure["layout"]


def test_dicts_numpy_and_dates_become_plain_json() -> None:
    fig = {
        "data": [
            {
                "type": "scatter",
                "x": pd.date_range("2024-01-01", periods=2),
                "y": np.array([1.5, np.nan]),
            }
        ],
        "layout": {"title": {"text": "t"}},
    }
    figure, themeable = figure_json(fig)
    assert themeable
    assert figure["data"][0]["x"] == ["2024-01-01T00:00:00", "2024-01-02T00:00:00"]
    assert figure["data"][0]["y"] == [1.5, None]


@pytest.mark.parametrize("bad", [42, "fig", [1, 2], {"data": "nope"}, {"layout": []}])
def test_figure_errors_name_the_problem(bad: object) -> None:
    with pytest.raises(TypeError, match="fig|data|layout"):
        figure_json(bad)


# -- where pages load plotly.js (the cdn setting) --------------------------------------------------

INSTALLED_JS = get_plotlyjs_version()
PLOTLY_CDN = f"https://cdn.plot.ly/plotly-{INSTALLED_JS}.min.js"


@pytest.mark.parametrize("cdn", [None, False, "false", "0", "no", " False ", ""])
def test_cdn_off_serves_plotly_from_pywry(cdn: object) -> None:
    assert plotly_script_url(cdn) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("cdn", [True, "true", "1", "yes", " TRUE "])
def test_cdn_on_uses_plotlys_cdn_for_the_installed_version(cdn: bool | str) -> None:
    assert plotly_script_url(cdn) == PLOTLY_CDN


@pytest.mark.parametrize(
    ("cdn", "url"),
    [
        ("https://cdn.example/plotly.min.js", "https://cdn.example/plotly.min.js"),
        ("https://mirror.example/js/", "https://mirror.example/js/plotly.min.js"),
        ("/assets/js", "/assets/js/plotly.min.js"),
        ("//cdn.example/p.js?sri=1", "//cdn.example/p.js?sri=1"),
        (
            "https://cdn.jsdelivr.net/npm/plotly.js-dist-min@{version}/plotly.min.js",
            f"https://cdn.jsdelivr.net/npm/plotly.js-dist-min@{INSTALLED_JS}/plotly.min.js",
        ),
    ],
)
def test_a_cdn_url_is_used_with_the_installed_version_filled_in(cdn: str, url: str) -> None:
    assert plotly_script_url(cdn) == url


def test_a_cdn_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="cdn"):
        plotly_script_url("ftp://cdn.example/plotly.min.js")
    with pytest.raises(TypeError, match="cdn"):
        plotly_script_url(3)  # type: ignore[arg-type]


def test_the_installed_version_needs_plotly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly.offline", None)  # `import` now raises ImportError
    with pytest.raises(ValueError, match="plotly is not installed"):
        plotly_script_url(True)
    assert plotly_script_url("https://cdn.example/plotly.min.js")  # a full URL needs no plotly


def with_cdn(cdn: object) -> App:
    """An app whose `cdn` server setting is `cdn`, as an adapter's `cdn=` option sets it."""
    settings = PyWrySettings()
    server = settings.server.model_copy(update={"cdn": cdn})
    return App(settings.model_copy(update={"server": server}))


def test_cdn_true_points_the_page_at_plotlys_cdn() -> None:
    eng = with_cdn(True)
    html = eng.page_html(show_plotly(bar([1, 2, 3, 4]), engine=eng, label="c").label, "")
    assert html is not None and f'<script src="{PLOTLY_CDN}"' in html
    assert "/pywry-static/plotly.min.js" not in html
    assert "/pywry-static/plotly-glue.js?v=" in html  # the glue is still pywry's


def test_cdn_from_the_environment_is_text() -> None:
    eng = App(PyWrySettings(server={"cdn": "yes"}))
    html = eng.page_html(show_plotly(bar([1, 2, 3, 4]), engine=eng, label="c").label, "")
    assert html is not None and f'<script src="{PLOTLY_CDN}"' in html
    eng = App(PyWrySettings(server={"cdn": "0"}))
    html = eng.page_html(show_plotly(bar([1, 2, 3, 4]), engine=eng, label="c").label, "/b")
    assert html is not None and '<script src="/b/pywry-static/plotly.min.js?v=' in html


# -- show_plotly ----------------------------------------------------------------------------------


def test_page_loads_plotly_from_pywry_and_embeds_the_figure_safely(engine: App) -> None:
    fig = go.Figure(go.Bar(x=["a"], y=[1], name="</script><script>alert(1)</script>"))
    w = show_plotly(fig, label="c", title="Chart", callbacks={"plotly:click": lambda *a: None})
    html = engine.page_html(w.label, "/base")
    assert html is not None
    assert re.search(r'<script src="/base/pywry-static/plotly\.min\.js\?v=\w+">', html)
    assert "/base/pywry-static/plotly-glue.js?v=" in html and "%PYWRY_STATIC%" not in html
    assert "<script>alert(1)" not in html
    boot = page_figure(html)
    assert boot["figure"]["data"][0]["name"] == "</script><script>alert(1)</script>"
    assert boot["events"] == ["plotly:click"] and boot["config"]["responsive"] is True
    assert engine.require("c").kind == "plotly"
    templates = re.search(r'id="pywry-plotly-templates">(.*?)</script>', html)
    assert templates and set(json.loads(templates.group(1))) == {"dark", "light"}


def test_cdn_setting_changes_where_the_page_loads_plotly() -> None:
    eng = App(PyWrySettings(server={"cdn": "https://cdn.example/plotly.min.js"}))
    w = show_plotly(bar([1, 2, 3, 4]), label="c", engine=eng)
    html = eng.page_html(w.label, "")
    assert html is not None and '<script src="https://cdn.example/plotly.min.js"' in html
    assert "/pywry-static/plotly.min.js" not in html


def test_update_figure_reaches_pages_and_later_visitors(engine: App) -> None:
    w = show_plotly(bar([1, 2, 3, 4]), label="c")
    seq = w.update_figure(bar([5, 6, 7, 8]))
    (msg,) = sent(engine, "c")
    assert msg["type"] == "plotly:update-figure" and msg["seq"] == seq
    assert msg["data"]["themeable"] is True
    html = engine.page_html("c", "")
    assert html is not None
    assert page_figure(html)["figure"] == msg["data"]["figure"]
    assert '"seq":1' in html  # a later visitor starts after the update it already shows


def test_update_layout_merges_magic_underscores_into_the_stored_figure(engine: App) -> None:
    w = show_plotly(bar([1, 2, 3, 4]), label="c")
    w.update_layout(title="Q3", xaxis_range=[0, 2], paper_bgcolor="red")
    (msg,) = sent(engine, "c")
    assert msg["type"] == "plotly:update-layout"
    assert msg["data"]["layout"] == {
        "title.text": "Q3",
        "xaxis.range": [0, 2],
        "paper_bgcolor": "red",
    }
    html = engine.page_html("c", "")
    assert html is not None
    layout = page_figure(html)["figure"]["layout"]
    assert layout["title"]["text"] == "Q3" and layout["xaxis"]["range"] == [0, 2]
    assert layout["xaxis"]["title"]["text"] == "x"  # merged, not replaced
    with pytest.raises(ValueError, match="bogus"):
        w.update_layout(bogus=1)


def test_flatten_keeps_lists_and_templates_whole() -> None:
    nested = {"xaxis": {"range": [0, 1], "title": {"text": "x"}}, "template": {"layout": {}}}
    assert flatten_layout(nested) == {
        "xaxis.range": [0, 1],
        "xaxis.title.text": "x",
        "template": {"layout": {}},
    }


def test_plotly_methods_refuse_other_widgets_and_bad_arguments(engine: App) -> None:
    h = inline.show("<p>x</p>", label="plain")
    assert not hasattr(h, "update_figure") and not hasattr(h, "update_layout")
    with pytest.raises(TypeError, match="not a Plotly widget"):
        PlotlyHandle(engine, "plain").update_figure(bar([1, 2, 3, 4]))
    with pytest.raises(TypeError, match="not a Plotly widget"):
        PlotlyHandle(engine, "plain").update_layout(title="x")
    with pytest.raises(TypeError, match="unexpected keyword"):
        show_plotly(bar([1, 2, 3, 4]), colour="red")
    with pytest.raises(TypeError, match="config"):
        show_plotly(bar([1, 2, 3, 4]), config="responsive")
    with pytest.raises(ValueError, match="theme"):
        show_plotly(bar([1, 2, 3, 4]), theme="blue")


# -- toolbar:set-value from Python ----------------------------------------------------------------


def region_toolbar() -> Toolbar:
    return Toolbar(
        items=[
            Select(
                event="chart:region",
                component_id="region",
                options=[Option(label="All", value="all"), Option(label="North", value="north")],
                selected="all",
            ),
            Div(component_id="note", content="<b>hi</b>"),
        ]
    )


def test_set_toolbar_value_updates_pages_and_the_stored_toolbar(engine: App) -> None:
    w = show_plotly(bar([1, 2, 3, 4]), label="c", toolbars=[region_toolbar()])
    w.set_toolbar_value("region", "north")
    w.set_toolbar_value("note", text="<script>x</script>")
    msgs = sent(engine, "c")
    assert [m["type"] for m in msgs] == ["toolbar:set-value", "toolbar:set-value"]
    assert msgs[0]["data"] == {"componentId": "region", "value": "north"}
    html = engine.page_html("c", "")
    assert html is not None
    assert re.search(r'<option value="north"[^>]*selected', html)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert page_figure(html)["figure"]["data"][0]["type"] == "bar"  # the chart is still there


def test_set_toolbar_value_errors(engine: App) -> None:
    w = show_plotly(bar([1, 2, 3, 4]), label="c", toolbars=[region_toolbar()])
    with pytest.raises(ValueError, match="no toolbar item"):
        w.set_toolbar_value("missing", 1)
    with pytest.raises(ValueError):
        w.set_toolbar_value("region", "west")
    plain = inline.show("<p>x</p>", label="plain")
    with pytest.raises(ValueError, match="no toolbar item"):
        plain.set_toolbar_value("region", "north")
    assert sent(engine, "c") == []


# -- SecretInput on the server --------------------------------------------------------------------


@contextmanager
def visitor(engine: App, label: str, session: str = "session-one-aaaaaaaaaaaa") -> Iterator[None]:
    """Code inside runs as the callback of an event from `session` on widget `label`."""
    token = current.set(Event(engine, engine.require(label), "app:key", {}, "c1", session, None))
    try:
        yield
    finally:
        current.reset(token)


def secret_toolbar() -> Toolbar:
    return Toolbar(
        items=[
            SecretInput(event="app:key", component_id="api-key"),
            Button(event="app:key", component_id="other", label="same event"),
        ]
    )


def test_a_secret_is_kept_on_the_server_and_the_callback_sees_only_has_value(
    engine: App,
) -> None:
    seen: list[Any] = []
    w = inline.show(
        "<p>x</p>",
        label="a",
        toolbars=[secret_toolbar()],
        callbacks={"app:key": lambda d, e, lbl: seen.append(d)},
    )
    cb = engine.require("a").callbacks["app:key"]
    with visitor(engine, "a"):
        cb({"value": "hunter2", "componentId": "api-key", "secret": True}, "app:key", "a")
        assert seen == [{"componentId": "api-key", "hasValue": True}]
        assert w.get_secret("api-key") == "hunter2"
        cb({"componentId": "other"}, "app:key", "a")  # another item on the same event
        assert seen[-1] == {"componentId": "other"}
    assert w.get_secret("api-key") is None  # outside a callback: no session, no secret
    html = engine.page_html("a", "")
    assert html is not None and "hunter2" not in html
    assert all("hunter2" not in t for t in engine.require("a").outbox.since(0) or [])
    with visitor(engine, "a"):
        cb({"value": "", "componentId": "api-key", "secret": True}, "app:key", "a")
        assert seen[-1] == {"componentId": "api-key", "hasValue": False}
        assert w.get_secret("api-key") is None


def test_secrets_are_per_widget_and_session_and_unknown_ids_are_ignored(engine: App) -> None:
    seen: list[Any] = []
    a = inline.show(
        "a",
        label="a",
        toolbars=[secret_toolbar()],
        callbacks={"app:key": lambda d, e, lbl: seen.append(d)},
    )
    b = inline.show("b", label="b", toolbars=[secret_toolbar()])
    with visitor(engine, "a"):
        engine.require("a").callbacks["app:key"](
            {"value": "only-a", "componentId": "api-key", "secret": True}, "app:key", "a"
        )
        assert a.get_secret("api-key") == "only-a" and b.get_secret("api-key") is None
        engine.require("a").callbacks["app:key"](
            {"value": "x", "componentId": "nope", "secret": True}, "app:key", "a"
        )
        assert len(seen) == 1 and a.get_secret("nope") is None
        # b has no callback for the event, but its secret is still stored
        engine.require("b").callbacks["app:key"](
            {"value": "only-b", "componentId": "api-key", "secret": True}, "app:key", "b"
        )
        assert b.get_secret("api-key") == "only-b" and a.get_secret("api-key") == "only-a"
    with visitor(engine, "a", session="session-two-bbbbbbbbbbbb"):
        assert a.get_secret("api-key") is None  # another visitor typed nothing


def test_async_and_catch_all_callbacks_are_wrapped_too(engine: App) -> None:
    seen: list[Any] = []

    async def on_any(data: Any, event: str, label: str) -> None:
        seen.append(data)

    inline.show("a", label="a", toolbars=[secret_toolbar()], callbacks={"*": on_any})
    cb = engine.require("a").callbacks["app:key"]

    async def typed() -> None:
        with visitor(engine, "a"):
            await cb({"value": "s", "componentId": "api-key", "secret": True}, "app:key", "a")

    run_async(typed())
    assert seen == [{"componentId": "api-key", "hasValue": True}]


def test_plotly_widgets_wrap_secrets_as_well(engine: App) -> None:
    w = show_plotly(bar([1, 2, 3, 4]), label="c", toolbars=[secret_toolbar()])
    with visitor(engine, "c"):
        engine.require("c").callbacks["app:key"](
            {"value": "pw", "componentId": "api-key", "secret": True}, "app:key", "c"
        )
        assert w.get_secret("api-key") == "pw"
