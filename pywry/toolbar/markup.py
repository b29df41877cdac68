"""Text helpers for rendering items: HTML escaping, attribute lists and compact JSON.

Every user string goes through :func:`escape` or :func:`attrs`, so rendering cannot inject markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable


def escape(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def attrs(pairs: Iterable[tuple[str, object]]) -> str:
    """Render ``name="value"`` pairs; ``None``/``False`` are left out, ``True`` is a bare name."""
    out = []
    for name, value in pairs:
        if value is None or value is False:
            continue
        if value is True:
            out.append(f" {name}")
        else:
            out.append(f' {name}="{escape(value)}"')
    return "".join(out)


def typing_attrs(placeholder: str, debounce: int) -> tuple[tuple[str, object], ...]:
    """Attributes of a field typed into: its placeholder (none while empty) and debounce (ms)."""
    return ("placeholder", placeholder or None), ("data-pywry-debounce", debounce)


def to_json(value: object) -> str:
    """Compact JSON as the page parses it (no NaN/Infinity, non-ASCII kept as is)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def num(value: float | None) -> str | None:
    """A number as attribute text, or None (attribute left out) for no number."""
    return None if value is None else str(value)
