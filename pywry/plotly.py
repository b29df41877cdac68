"""Plotly charts: the figure as JSON in the page, plotly.js served by pywry, events both ways.

    from pywry.inline import show_plotly
    w = show_plotly(fig, title="Sales", callbacks={"plotly:click": on_click})
    w.update_figure(new_fig)          # every page, and pages opened later
    w.update_layout(title="Q3", xaxis_range=[0, 10])

`show_plotly` returns a `PlotlyHandle`: a `WidgetHandle` with `update_figure` and
`update_layout`. The page loads plotly.js from `{base}/pywry-static/plotly.min.js` (the copy in
the installed `plotly` package, so no internet is needed) unless the `cdn` server setting
(`PYWRY_SERVER__CDN`, or an adapter's `cdn=` option) says otherwise; see `plotly_script_url`.

Browser -> Python events (only sent when the widget has a callback for them): `plotly:click`,
`plotly:hover` (throttled), `plotly:selected` with `{"points": [...]}` where each point has the
JSON-safe fields of Plotly's event (`curveNumber`, `pointNumber`, `pointIndex`, `x`, `y`, `z`,
`customdata`, `text`, `hovertext`, `label`, `value`, ...), and `plotly:relayout` with the
changed layout keys (`{"xaxis.range[0]": ...}`).

Theme: a figure that uses the default template follows the page theme (the `plotly_dark` or
`plotly_white` template, with the page's background and text colours) and switches with it; a
figure with an explicit template keeps it.
"""

from __future__ import annotations

import functools
import html
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from ._register import Toolbars, register_widget
from .core.app import App
from .core.kinds import WidgetKind, register_kind
from .core.page import script_json
from .core.protocol import encode, json_problem
from .core.widgets import Callback, Widget
from .extras import install_hint
from .handle import WidgetHandle, rerender

__all__ = [
    "PLOTLY",
    "PLOTLY_EVENTS",
    "PlotlyHandle",
    "figure_json",
    "plotly_script_url",
    "show_plotly",
]

log = logging.getLogger("pywry")

#: Browser -> Python events the chart forwards when the widget has a callback for them.
PLOTLY_EVENTS = ("plotly:click", "plotly:hover", "plotly:selected", "plotly:relayout")
#: Python -> browser events the chart's page code (`pywry/static/plotly-glue.js`) applies.
PLOTLY_UPDATES = ("plotly:update-figure", "plotly:update-layout")
PLOTLY_JS = "plotly.min.js"
CDN_URL = "https://cdn.plot.ly/plotly-{version}.min.js"
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")
DEFAULT_CONFIG: dict[str, Any] = {"responsive": True, "displaylogo": False}
_FILL_CSS = (
    "<style>html,body{height:100%}.pywry-root{height:100%}"
    ".pywry-content{display:flex;flex-direction:column}"
    ".pywry-plotly{position:relative;flex:1 1 auto;width:100%;height:100%;min-height:0}"
    ".pywry-plotly-error{padding:1em;color:var(--pywry-danger)}</style>"
)


def _to_json_text(obj: Any) -> str:
    """JSON text of a figure-like object (numpy, pandas and dates handled by plotly's encoder)."""
    try:
        from plotly.io.json import to_json_plotly  # noqa: PLC0415 - optional dependency
    except ImportError:  # plotly not installed: plain JSON types only
        try:
            return encode(obj)
        except TypeError as exc:
            raise TypeError(f"figure is not JSON-serialisable ({exc}); install plotly") from None
    return str(to_json_plotly(obj))


def _as_dict(fig: Any) -> dict[str, Any]:
    if hasattr(fig, "to_plotly_json"):
        obj = fig.to_plotly_json()
    elif isinstance(fig, dict):
        obj = fig
    elif hasattr(fig, "to_dict"):
        obj = fig.to_dict()
    else:
        raise TypeError(
            f"fig must be a plotly Figure or a dict with 'data' and 'layout', not {fig!r}"
        )
    out = orjson.loads(_to_json_text(obj))
    if not isinstance(out, dict):
        raise TypeError(f"fig must serialise to an object, not {type(out).__name__}")
    return out


@functools.lru_cache(maxsize=8)
def _template_json(name: str) -> dict[str, Any] | None:
    """A named plotly template as plain JSON (None without plotly or for an unknown name)."""
    try:
        import plotly.io as pio  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    try:
        template = pio.templates[name]
    except (KeyError, ValueError):
        return None
    out = orjson.loads(_to_json_text(template.to_plotly_json()))
    return out if isinstance(out, dict) else None


def _default_template_name() -> str | None:
    try:
        import plotly.io as pio  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    name = pio.templates.default
    return name if isinstance(name, str) else None


def figure_json(fig: Any) -> tuple[dict[str, Any], bool]:
    """`(figure, themeable)`: the figure as plain JSON, and whether it follows the page theme.

    A figure with no template or with the default one is themeable (its template is dropped:
    the page supplies `plotly_dark` or `plotly_white`); an explicit template is kept.
    """
    out = _as_dict(fig)
    data = out.get("data", [])
    layout = out.get("layout", {})
    if not isinstance(data, list):
        raise TypeError(f"figure 'data' must be a list of traces, not {type(data).__name__}")
    if not isinstance(layout, dict):
        raise TypeError(f"figure 'layout' must be an object, not {type(layout).__name__}")
    figure: dict[str, Any] = {"data": data, "layout": layout}
    if isinstance(out.get("frames"), list) and out["frames"]:
        figure["frames"] = out["frames"]
    themeable = True
    if "template" in layout:
        name = _default_template_name()
        default = _template_json(name) if name else None
        if default is not None and layout["template"] == default:
            layout = {k: v for k, v in layout.items() if k != "template"}
            figure["layout"] = layout
        else:
            themeable = False
    return figure, themeable


def theme_templates() -> dict[str, Any]:
    """The templates a themeable chart uses: `{"dark": plotly_dark, "light": plotly_white}`."""
    out: dict[str, Any] = {}
    for theme, name in (("dark", "plotly_dark"), ("light", "plotly_white")):
        template = _template_json(name)
        if template is not None:
            out[theme] = template
    return out


def plotly_js_path() -> Path | None:
    """The plotly.js bundled with the installed `plotly` package, or None without it."""
    try:
        import plotly  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    path = Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS
    return path if path.is_file() else None


def plotly_js_version() -> str:
    """The version of the plotly.js bundled with the installed `plotly` package."""
    try:
        from plotly.offline import get_plotlyjs_version  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ValueError(
            "the cdn setting names the installed plotly.js version, but plotly is not "
            f"installed: {install_hint('plotly')}, or give the full URL of plotly.js"
        ) from None
    return str(get_plotlyjs_version())


def plotly_script_url(cdn: bool | str | None) -> str | None:
    """Where pages load plotly.js from, for the `cdn` server setting; None: from pywry.

    - None, False, or the text "false", "0", "no" (an environment variable): pywry serves the
      installed package's copy at `{base}/pywry-static/plotly.min.js`;
    - True, or the text "true", "1", "yes": Plotly's CDN, for the installed plotly.js version
      (`https://cdn.plot.ly/plotly-<version>.min.js`);
    - any other text is a URL (`https://`, `http://`, `//` or `/`): used as is when its path
      ends in `.js`, else `/plotly.min.js` is appended; `{version}` in it is replaced by the
      installed plotly.js version.
    """
    if cdn is None or cdn is False:
        return None
    if cdn is True:
        return CDN_URL.format(version=plotly_js_version())
    if not isinstance(cdn, str):
        raise TypeError(f"cdn must be True, False, None or a URL, not {cdn!r}")
    text = cdn.strip()
    if text.lower() in _FALSE:
        return None
    if text.lower() in _TRUE:
        return CDN_URL.format(version=plotly_js_version())
    if not text.startswith(("https://", "http://", "//", "/")):
        raise ValueError(f"cdn must be True, False or a URL of plotly.js (got {cdn!r})")
    if "{version}" in text:
        text = text.replace("{version}", plotly_js_version())
    if urlsplit(text).path.endswith(".js"):
        return text
    return text.rstrip("/") + "/" + PLOTLY_JS


def _check_config(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return dict(DEFAULT_CONFIG)
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of Plotly config options, not {config!r}")
    problem = json_problem(config)
    if problem is not None:
        raise TypeError(f"config is not JSON-serialisable: {problem}")
    return {**DEFAULT_CONFIG, **config}


def _forwarded_events(callbacks: dict[str, Callback] | None) -> list[str]:
    cbs = callbacks or {}
    return [e for e in PLOTLY_EVENTS if e in cbs or "*" in cbs]


def _body(state: dict[str, Any]) -> str:
    """The chart's HTML: a div, the figure JSON and the call that draws it."""
    payload = {
        "figure": state["figure"],
        "themeable": state["themeable"],
        "config": state["config"],
        "events": state["events"],
    }
    return (
        '<div class="pywry-plotly" id="pywry-plotly"></div>'
        f'<script type="application/json" id="pywry-plotly-figure">{script_json(payload)}</script>'
        "<script>window.pywryPlotly&&window.pywryPlotly.mount();</script>"
    )


def layout_json(layout: dict[str, Any]) -> dict[str, Any]:
    """Layout keyword arguments as nested plain JSON (validated, magic underscores expanded)."""
    try:
        import plotly.graph_objects as go  # noqa: PLC0415 - optional dependency
    except ImportError:
        nested: dict[str, Any] = {}
        for key, value in layout.items():
            _deep_merge(nested, _expand(key, value))
        out = orjson.loads(_to_json_text(nested))
    else:
        obj = go.Layout()
        obj.update(layout)
        out = orjson.loads(_to_json_text(obj.to_plotly_json()))
    if not isinstance(out, dict):
        raise TypeError("layout must be a mapping of layout properties")
    return out


def _expand(key: str, value: Any) -> dict[str, Any]:
    parts = key.split("_") if key not in ("paper_bgcolor", "plot_bgcolor") else [key]
    out: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        out = {part: out}
    return out


def _deep_merge(target: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key != "template":
            _deep_merge(target[key], value)
        else:
            target[key] = value
    return target


def flatten_layout(nested: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested layout properties as `Plotly.relayout` keys (`{"xaxis.range": [0, 1]}`)."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "template":
            out.update(flatten_layout(value, path + "."))
        else:
            out[path] = value
    return out


def _plotly_widget(widget: Widget) -> Widget:
    """`widget`, checked to be a Plotly chart (a `PlotlyHandle` can be made for any label)."""
    if widget.kind != PLOTLY.name or "figure" not in widget.state:
        raise TypeError(f"widget {widget.label!r} is not a Plotly widget (kind {widget.kind!r})")
    return widget


def _rerender(widget: Widget) -> None:
    widget.state["body"] = _body(widget.state)
    rerender(widget)


def _head(app: App) -> str:
    """Fill-the-page CSS, the theme templates, plotly.js (local or CDN) and the chart glue."""
    url = plotly_script_url(app.settings.server.cdn)
    if url is not None:
        plotly_js = f'<script src="{html.escape(url, quote=True)}" charset="utf-8"></script>'
    else:
        if app.assets.get(PLOTLY_JS) is None:
            log.warning(
                "plotly.js is not available to serve: %s, or set the cdn setting "
                "(PYWRY_SERVER__CDN=true) so pages load it from Plotly's CDN",
                install_hint("plotly"),
            )
        plotly_js = app.assets.tag(PLOTLY_JS)
    templates = script_json(theme_templates())
    return (
        _FILL_CSS
        + f'<script type="application/json" id="pywry-plotly-templates">{templates}</script>'
        + plotly_js
        + app.assets.tag("plotly-glue.js")
    )


class PlotlyHandle(WidgetHandle):
    """The handle of a Plotly chart: a `WidgetHandle` that can also change the figure."""

    def update_figure(self, fig: Any, *, to: str | None = None) -> int | None:
        """Replace the Plotly figure (for everyone: also for pages opened later)."""
        _plotly_widget(self.widget)
        figure, themeable = figure_json(fig)

        def store(widget: Widget) -> None:
            widget.state["figure"] = figure
            widget.state["themeable"] = themeable
            _rerender(widget)

        data = {"figure": figure, "themeable": themeable}
        return self._change(store, "plotly:update-figure", data, to)

    def update_layout(self, *, to: str | None = None, **layout: Any) -> int | None:
        """`Plotly.relayout` (magic underscores work: `xaxis_range=[0, 1]`).

        For everyone, the layout is merged into the stored figure, so pages opened later show
        it too.
        """
        widget = _plotly_widget(self.widget)
        nested = layout_json(layout)
        themeable = bool(widget.state.get("themeable")) and "template" not in nested

        def store(record: Widget) -> None:
            _deep_merge(record.state["figure"].setdefault("layout", {}), nested)
            record.state["themeable"] = themeable
            _rerender(record)

        data = {"layout": flatten_layout(nested), "themeable": themeable}
        return self._change(store, "plotly:update-layout", data, to)


#: The Plotly chart kind: plotly.js as an asset, its head tags, its events, `PlotlyHandle`.
PLOTLY: WidgetKind[PlotlyHandle] = register_kind(
    WidgetKind(
        name="plotly",
        handle=PlotlyHandle,
        assets={PLOTLY_JS: plotly_js_path},
        head=_head,
        system_events=frozenset(PLOTLY_EVENTS + PLOTLY_UPDATES),
    )
)


def show_plotly(
    fig: Any,
    title: str = "PyWry",
    callbacks: dict[str, Callback] | None = None,
    toolbars: Toolbars = None,
    config: dict[str, Any] | None = None,
    theme: str | None = None,
    label: str | None = None,
    engine: App | None = None,
    *,
    head: str = "",
    per_visitor: bool | None = None,
) -> PlotlyHandle:
    """Register a Plotly chart widget and return its handle (`update_figure`, `update_layout`).

    `fig` is a plotly Figure or a dict with `data` and `layout`. `config` is Plotly's config
    object (merged over `{"responsive": true, "displaylogo": false}`); `theme` is `dark`,
    `light` or `system` for this page; `head`, `per_visitor` and the rest are those of
    `pywry.inline.show`.
    """
    figure, themeable = figure_json(fig)
    state: dict[str, Any] = {
        "figure": figure,
        "themeable": themeable,
        "config": _check_config(config),
        "events": _forwarded_events(callbacks),
    }
    return register_widget(
        _body(state),
        kind=PLOTLY,
        state=state,
        title=title,
        callbacks=callbacks,
        toolbars=toolbars,
        theme=theme,
        label=label,
        engine=engine,
        head=head,
        per_visitor=per_visitor,
    )
