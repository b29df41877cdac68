"""Plotly charts: the figure as JSON in the page, plotly.js served by pywry, events both ways.

    from pywry.inline import show_plotly
    w = show_plotly(fig, title="Sales", callbacks={"plotly:click": on_click})
    w.update_figure(new_fig)          # every page, and pages opened later
    w.update_layout(title="Q3", xaxis_range=[0, 10])

The page loads plotly.js from `{base}/pywry-static/plotly.min.js` (taken from the installed
`plotly` package, so no internet is needed) unless `PYWRY_SERVER__CDN` is set: a URL ending in
`.js` is used as is (`{version}` is replaced by the bundled plotly.js version), any other value
is a prefix that `/plotly.min.js` is appended to.

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
from typing import Any

from .core.app import App
from .core.page import script_json
from .core.protocol import encode
from .core.widgets import Callback, Widget
from .handle import WidgetHandle

__all__ = [
    "PLOTLY_EVENTS",
    "figure_json",
    "plotly_script_url",
    "show_plotly",
    "update_figure",
    "update_layout",
]

#: Browser -> Python events the chart forwards when the widget has a callback for them.
PLOTLY_EVENTS = ("plotly:click", "plotly:hover", "plotly:selected", "plotly:relayout")
DEFAULT_CONFIG: dict[str, Any] = {"responsive": True, "displaylogo": False}
_FILL_CSS = (
    "<style>html,body{height:100%}.pywry-root{height:100%}"
    ".pywry-content{display:flex;flex-direction:column}"
    ".pywry-plotly{position:relative;flex:1 1 auto;width:100%;height:100%;min-height:0}"
    ".pywry-plotly-error{padding:1em;color:var(--pywry-danger)}</style>"
)


def _orjson_loads(text: str) -> Any:
    import orjson  # noqa: PLC0415

    return orjson.loads(text)


def _to_json_text(obj: Any) -> str:
    """JSON text of a figure-like object (numpy, pandas and dates handled by plotly's encoder)."""
    try:
        from plotly.io.json import to_json_plotly  # noqa: PLC0415
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
    out = _orjson_loads(_to_json_text(obj))
    if not isinstance(out, dict):
        raise TypeError(f"fig must serialise to an object, not {type(out).__name__}")
    return out


@functools.lru_cache(maxsize=8)
def _template_json(name: str) -> dict[str, Any] | None:
    """A named plotly template as plain JSON (None without plotly or for an unknown name)."""
    try:
        import plotly.io as pio  # noqa: PLC0415
    except ImportError:
        return None
    try:
        template = pio.templates[name]
    except (KeyError, ValueError):
        return None
    out = _orjson_loads(_to_json_text(template.to_plotly_json()))
    return out if isinstance(out, dict) else None


def _default_template_name() -> str | None:
    try:
        import plotly.io as pio  # noqa: PLC0415
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


def _plotly_js_version() -> str:
    try:
        from plotly.offline import get_plotlyjs_version  # noqa: PLC0415

        return str(get_plotlyjs_version())
    except ImportError:
        return "latest"


def plotly_script_url(cdn: str | None) -> str:
    """Where the page loads plotly.js from: pywry's static route, or the configured CDN."""
    if not cdn:
        return "%PYWRY_STATIC%/plotly.min.js"
    cdn = cdn.strip()
    if "{version}" in cdn:
        cdn = cdn.replace("{version}", _plotly_js_version())
    if cdn.endswith(".js"):
        return cdn
    return cdn.rstrip("/") + "/plotly.min.js"


def _check_config(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return dict(DEFAULT_CONFIG)
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of Plotly config options, not {config!r}")
    try:
        encode(config)
    except TypeError as exc:
        raise TypeError(f"config is not JSON-serialisable: {exc}") from None
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


def _head(engine: App) -> str:
    src = html.escape(plotly_script_url(engine.settings.server.cdn), quote=True)
    glue = engine.assets.version("plotly-glue.js")
    return (
        _FILL_CSS + f'<script type="application/json" id="pywry-plotly-templates">'
        f"{script_json(theme_templates())}</script>"
        f'<script src="{src}" charset="utf-8"></script>'
        f'<script src="%PYWRY_STATIC%/plotly-glue.js?v={glue}"></script>'
    )


def show_plotly(
    fig: Any,
    title: str = "PyWry",
    callbacks: dict[str, Callback] | None = None,
    toolbars: list[Any] | None = None,
    config: dict[str, Any] | None = None,
    theme: str | None = None,
    label: str | None = None,
    engine: App | None = None,
    **kw: Any,
) -> WidgetHandle:
    """Register a Plotly chart widget and return its handle (`update_figure`, `update_layout`).

    `config` is Plotly's config object (merged over `{"responsive": true, "displaylogo":
    false}`); `theme` is `dark`, `light` or `system` for this page; other keyword arguments
    (`head`, `per_visitor`) are those of `pywry.inline.show`.
    """
    from ._register import register_widget  # noqa: PLC0415
    from .core.app import default_app  # noqa: PLC0415

    unknown = set(kw) - {"head", "per_visitor"}
    if unknown:
        raise TypeError(f"show_plotly() got unexpected keyword arguments {sorted(unknown)}")
    eng = engine or default_app()
    figure, themeable = figure_json(fig)
    state: dict[str, Any] = {
        "figure": figure,
        "themeable": themeable,
        "config": _check_config(config),
        "events": _forwarded_events(callbacks),
    }
    return register_widget(
        _body(state),
        engine=eng,
        label=label,
        title=title,
        callbacks=callbacks,
        toolbars=toolbars,
        theme=theme,
        head=_head(eng) + kw.get("head", ""),
        kind="plotly",
        state=state,
        per_visitor=kw.get("per_visitor"),
    )


def _require_plotly_widget(widget: Widget) -> None:
    if widget.kind != "plotly" or "figure" not in widget.state:
        raise TypeError(f"widget {widget.label!r} is not a Plotly widget (kind {widget.kind!r})")


def _rerender(widget: Widget) -> None:
    from ._register import rerender  # noqa: PLC0415

    widget.state["body"] = _body(widget.state)
    rerender(widget)


def update_figure(engine: App, widget: Widget, fig: Any) -> int | None:
    """Store `fig` as the widget's figure and send `plotly:update-figure` to every page."""
    _require_plotly_widget(widget)
    figure, themeable = figure_json(fig)
    with widget.lock:
        widget.state["figure"] = figure
        widget.state["themeable"] = themeable
        _rerender(widget)
        return engine.emit_to(
            widget, "plotly:update-figure", {"figure": figure, "themeable": themeable}
        )


def layout_json(layout: dict[str, Any]) -> dict[str, Any]:
    """Layout keyword arguments as nested plain JSON (validated, magic underscores expanded)."""
    try:
        import plotly.graph_objects as go  # noqa: PLC0415
    except ImportError:
        nested: dict[str, Any] = {}
        for key, value in layout.items():
            _deep_merge(nested, _expand(key, value))
        out = _orjson_loads(_to_json_text(nested))
    else:
        obj = go.Layout()
        obj.update(layout)
        out = _orjson_loads(_to_json_text(obj.to_plotly_json()))
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


def update_layout(engine: App, widget: Widget, layout: dict[str, Any]) -> int | None:
    """Merge `layout` into the stored figure and send `plotly:update-layout` to every page."""
    _require_plotly_widget(widget)
    nested = layout_json(layout)
    with widget.lock:
        figure = widget.state["figure"]
        _deep_merge(figure.setdefault("layout", {}), nested)
        if "template" in nested:
            widget.state["themeable"] = False
        _rerender(widget)
        return engine.emit_to(
            widget,
            "plotly:update-layout",
            {"layout": flatten_layout(nested), "themeable": widget.state["themeable"]},
        )
