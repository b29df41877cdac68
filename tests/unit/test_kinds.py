"""Widget kinds as plugins: typed handles, kind assets served by the core, a core without plotly."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import plotly
import plotly.graph_objects as go
import pytest
from typing_extensions import assert_type

from pywry import inline
from pywry.config import PyWrySettings
from pywry.core.app import App
from pywry.core.assets import Assets
from pywry.core.kinds import WidgetKind, register_kind
from pywry.dataframe import TABLE, TableHandle, show_dataframe
from pywry.handle import HTML, WidgetHandle
from pywry.plotly import PLOTLY, PlotlyHandle, show_plotly
from tests.support import ROOT, clean_env, free_port, run_server

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
BASE_METHODS = {
    "label", "widget", "token", "url", "emit", "update", "close", "alert", "download",
    "set_content", "navigate", "inject_css", "remove_css", "set_style", "update_theme",
    "refresh", "set_toolbar_value", "get_secret", "app",
}  # fmt: skip


def public(handle: object) -> set[str]:
    return {name for name in dir(handle) if not name.startswith("_")}


def figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))


# -- typed handles --------------------------------------------------------------------------------


def test_each_kind_returns_a_handle_with_only_its_own_methods(engine: App) -> None:
    html = assert_type(inline.show("<p>x</p>", label="p"), WidgetHandle)
    chart = assert_type(inline.show_plotly(figure(), label="c"), PlotlyHandle)
    table = assert_type(inline.show_dataframe([{"a": 1}], label="t"), TableHandle)
    assert type(html) is WidgetHandle and public(html) == BASE_METHODS
    assert isinstance(chart, WidgetHandle) and public(chart) == BASE_METHODS | {
        "update_figure",
        "update_layout",
    }
    assert isinstance(table, WidgetHandle) and public(table) == BASE_METHODS | {"update_data"}
    assert repr(chart) == "<PlotlyHandle label='c'>"
    assert [engine.require(x).kind for x in ("p", "c", "t")] == ["html", "plotly", "dataframe"]


def test_inline_shows_are_the_kind_modules_own(engine: App) -> None:
    assert inline.show_plotly is show_plotly and inline.show_dataframe is show_dataframe
    with pytest.raises(TypeError, match="unexpected keyword"):
        inline.show_dataframe([{"a": 1}], colour="red")  # type: ignore[call-arg]


def test_show_keeps_an_explicit_kind_name_with_a_plain_handle(engine: App) -> None:
    h = inline.show("<p>x</p>", label="k", kind="report")
    assert type(h) is WidgetHandle and engine.require("k").kind == "report"


def test_kinds_describe_their_events() -> None:
    assert {"plotly:click", "plotly:update-figure"} <= PLOTLY.system_events
    assert {"grid:request-page", "grid:cell-click", "grid:page"} <= TABLE.system_events
    assert TABLE.answered_events == {"grid:request-page", "grid:export"}
    assert HTML.system_events == frozenset() and HTML.assets == {}


# -- kind assets served by the core ---------------------------------------------------------------


def test_showing_a_chart_makes_its_app_serve_plotly_js(engine: App) -> None:
    html = engine.page_html(inline.show_plotly(figure(), label="c").label, "/base")
    assert html is not None
    m = re.search(r'<script src="/base/pywry-static/plotly\.min\.js\?v=(\w+)">', html)
    assert m and m.group(1) == engine.assets.version("plotly.min.js")
    asset = engine.assets.get("plotly.min.js")
    assert asset is not None and asset.body == PLOTLY_JS.read_bytes()
    assert asset.content_type.startswith("text/javascript")


def test_an_app_that_showed_no_chart_still_serves_a_registered_kinds_files() -> None:
    # With several workers the one a browser asks for plotly.min.js may never have shown a chart.
    other = App(PyWrySettings())
    asset = other.assets.get("plotly.min.js")
    assert asset is not None and asset.body[:100] == PLOTLY_JS.read_bytes()[:100]
    assert "plotly.min.js" in other.assets.names()


def test_only_whitelisted_names_are_served() -> None:
    assets = Assets()
    own = ("bridge.js", "pywry.css", "toolbar.css", "toolbar.js", "grid.js", "grid.css")
    for name in (*own, "plotly-glue.js"):
        asset = assets.get(name)
        assert asset is not None and re.fullmatch(r'"[0-9a-f]{20}"', asset.etag), name
    for name in ("../core/app.py", "assets.py", "/etc/passwd", "static/bridge.js", ""):
        assert assets.get(name) is None, name


def test_a_kind_adds_assets_loaded_lazily_once() -> None:
    calls: list[str] = []

    def loader() -> bytes:
        calls.append("x")
        return b"window.x = 1;"

    kind = WidgetKind(name="demo", handle=WidgetHandle, assets={"demo.js": loader})
    assets = Assets()
    assert assets.get("demo.js") is None  # not shown yet, and not a registered kind
    assets.use(kind)
    assets.use(kind)  # showing a second widget of the kind changes nothing
    assert calls == []
    asset = assets.get("demo.js")
    assert asset is not None and asset.body == b"window.x = 1;"
    assert assets.get("demo.js") is asset and calls == ["x"]
    assert (
        assets.tag("demo.js")
        == f'<script src="%PYWRY_STATIC%/demo.js?v={assets.version("demo.js")}"></script>'
    )
    assert assets.tag("grid.css", "/b/pywry-static").startswith(
        '<link rel="stylesheet" href="/b/pywry-static/grid.css?v='
    )


def test_an_unavailable_asset_is_not_served(tmp_path: Path) -> None:
    assets = Assets()
    assets.add("gone.js", lambda: None)
    assets.add("missing.css", lambda: tmp_path / "missing.css")
    assert assets.get("gone.js") is None and assets.version("gone.js") == "0"
    assert assets.get("missing.css") is None
    (tmp_path / "here.css").write_text("p{}")
    assets.add("here.css", lambda: tmp_path / "here.css")
    here = assets.get("here.css")
    assert here is not None and here.body == b"p{}" and here.content_type.startswith("text/css")


def test_bad_asset_names_and_pywrys_own_files_are_refused() -> None:
    assets = Assets()
    for name in ("../x.js", "a/b.js", "", ".hidden.js", "a..js"):
        with pytest.raises(ValueError, match="asset name"):
            assets.add(name, lambda: b"")
    with pytest.raises(ValueError, match="pywry's own"):
        assets.add("bridge.js", lambda: b"evil")
    with pytest.raises(ValueError, match="asset name"):
        WidgetKind(name="bad", handle=WidgetHandle, assets={"../x.js": lambda: b""})


def test_kind_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="kind name"):
        WidgetKind(name="Not A Name", handle=WidgetHandle)
    with pytest.raises(ValueError, match="namespace:name"):
        WidgetKind(name="k", handle=WidgetHandle, system_events=frozenset({"click"}))
    with pytest.raises(ValueError, match="not among its system events"):
        WidgetKind(name="k", handle=WidgetHandle, answered_events=frozenset({"k:x"}))
    thief = WidgetKind(name="thief", handle=WidgetHandle, assets={"plotly.min.js": lambda: b""})
    with pytest.raises(ValueError, match="already serves"):
        register_kind(thief)


# -- through a real server ------------------------------------------------------------------------

CHART_APP = """
import plotly.graph_objects as go
from pywry.inline import deploy, get_server_app, show_plotly

app = get_server_app()
show_plotly(go.Figure(go.Bar(x=["a"], y=[1])), label="chart")
deploy()
"""

NO_PLOTLY_APP = """
import importlib.abc
import sys


class NoPlotly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "plotly" or name.startswith("plotly."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoPlotly())

import pywry.core.app  # noqa: E402

from pywry.inline import deploy, get_server_app, show  # noqa: E402

app = get_server_app()
show("<p id='hello'>hello without plotly</p>", label="hello")
assert not any(m == "plotly" or m.startswith("plotly.") for m in sys.modules), "plotly imported"
deploy()
"""


@contextmanager
def serve(script: str, tmp_path: Path) -> Iterator[str]:
    """Run `script` (a deploy-mode app) as a real server; its URL."""
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(script))
    port = free_port()
    env = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port))
    with run_server([sys.executable, str(path)], env, port, tmp_path / "logs") as server:
        yield server.url


def test_a_real_server_serves_the_plotly_js_a_chart_page_references(tmp_path: Path) -> None:
    with serve(CHART_APP, tmp_path) as url:
        page = httpx.get(f"{url}/widget/chart")
        assert page.status_code == 200
        m = re.search(r'<script src="(/pywry-static/plotly\.min\.js\?v=\w+)">', page.text)
        assert m, page.text[:2000]
        js = httpx.get(url + m.group(1))
        assert js.status_code == 200 and js.content == PLOTLY_JS.read_bytes()
        assert js.headers["content-type"].startswith("text/javascript")
        again = httpx.get(url + m.group(1), headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304


def test_the_core_serves_html_widgets_without_plotly_installed(tmp_path: Path) -> None:
    with serve(NO_PLOTLY_APP, tmp_path) as url:
        page = httpx.get(f"{url}/widget/hello")
        assert page.status_code == 200 and "hello without plotly" in page.text
        assert httpx.get(f"{url}/pywry-static/bridge.js").status_code == 200
        assert httpx.get(f"{url}/pywry-static/plotly.min.js").status_code == 404


def test_the_core_and_the_base_handle_import_no_kind() -> None:
    code = textwrap.dedent(
        """
        import pkgutil, sys
        import pywry.core
        for info in pkgutil.iter_modules(pywry.core.__path__):
            __import__(f"pywry.core.{info.name}")
        import pywry.handle, pywry._register
        kinds = sorted(m for m in sys.modules if m in ("pywry.plotly", "pywry.dataframe"))
        third = sorted(m for m in sys.modules if m.split(".")[0] in ("plotly", "pandas"))
        print(kinds, third)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[] []"
