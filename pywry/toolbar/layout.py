"""Placing toolbars around a widget's content: the page regions of every position."""

from __future__ import annotations

from .bar import POSITIONS
from .collection import Toolbars, as_toolbars
from .ids import with_id_hint

#: Names of the files in ``pywry/static`` that a page showing toolbars loads (after the bridge).
TOOLBAR_CSS = "toolbar.css"
TOOLBAR_JS = "toolbar.js"


def render_layout(content_html: str, toolbars: Toolbars) -> str:
    """Wrap ``content_html`` with ``toolbars`` in their positions.

    Layout: header toolbars above everything (full width); then a row of left toolbars |
    [top toolbars, the content, bottom toolbars] | right toolbars; then footer toolbars.
    ``inside`` toolbars float over the content's top-right corner.  Toolbars of one position
    keep the order given.  The content sits in ``<div class="pywry-content">``.  With no
    toolbars the content is returned unchanged.
    """
    bars = as_toolbars(toolbars)
    if not bars:
        return content_html
    seen: set[str] = set()
    for tb in bars:
        for cid in [tb.component_id, *(c.component_id for c in tb.iter_components())]:
            if cid in seen:
                message = f"component_id {cid!r} is used by more than one toolbar item"
                raise ValueError(with_id_hint(message, cid))
            seen.add(cid)
    by_pos: dict[str, list[str]] = {p: [] for p in POSITIONS}
    for tb in bars:
        by_pos[tb.position].append(tb.render())

    def region(pos: str) -> str:
        if not by_pos[pos]:
            return ""
        return f'<div class="pywry-layout-{pos}">{"".join(by_pos[pos])}</div>'

    inside = region("inside")
    content = (
        f'<div class="pywry-content-wrap"><div class="pywry-content">{content_html}</div>'
        f"{inside}</div>"
    )
    main = f'<div class="pywry-layout-main">{region("top")}{content}{region("bottom")}</div>'
    row = f'<div class="pywry-layout-row">{region("left")}{main}{region("right")}</div>'
    return f'<div class="pywry-layout">{region("header")}{row}{region("footer")}</div>'
