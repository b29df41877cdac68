"""Widget kinds: what a kind of widget (a Plotly chart, a table) adds to the core.

The core knows no kind by name. A kind module (`pywry/plotly.py`, `pywry/dataframe.py`)
describes itself with a `WidgetKind` and registers it once, at import, with `register_kind`:

- `assets`: the files its pages need, served under `{base}/pywry-static/<name>`. A loader runs
  the first time a file is asked for and returns its `Path`, its `bytes`, or None when it is
  unavailable (an optional package that is not installed);
- `head`: the `<head>` tags of its pages (`%PYWRY_STATIC%` stands for the URL of the static
  files, replaced when the page is rendered; `Assets.tag` writes a versioned tag);
- `system_events`: the event names its page code and its Python side exchange, and of those
  the `answered_events` that pywry answers itself (a user callback for one is refused);
- `handle`: the class of the handle `show_*` returns for it.

Showing a widget of a kind calls `app.assets.use(kind)`, so that app serves the kind's files.
An app also serves the files of every registered kind on request: with several workers, the
worker a browser asks for `plotly.min.js` need not be the one that showed the chart.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .protocol import check_event_name

if TYPE_CHECKING:
    from .app import App
    from .assets import AssetLoader

__all__ = ["WidgetKind", "find_asset", "register_kind", "registered_kinds"]

HandleT = TypeVar("HandleT")
KindT = TypeVar("KindT", bound="WidgetKind[Any]")

KIND_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def _no_head(app: App) -> str:
    return ""


def check_asset_name(name: object) -> str:
    """`name` if it can be a file name under `pywry-static/`, else ValueError naming it."""
    if not isinstance(name, str) or not ASSET_NAME.match(name) or ".." in name:
        raise ValueError(
            f"asset name {name!r} must be a plain file name (letters, digits, '_', '.', '-')"
        )
    return name


@dataclass(frozen=True, slots=True)
class WidgetKind(Generic[HandleT]):
    """One kind of widget, as the core sees it (see the module docstring)."""

    name: str
    handle: Callable[[App, str], HandleT]
    assets: Mapping[str, AssetLoader] = field(default_factory=dict)
    head: Callable[[App], str] = _no_head
    system_events: frozenset[str] = frozenset()
    answered_events: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not KIND_NAME.match(self.name):
            raise ValueError(
                f"kind name {self.name!r} must be 1-64 lower-case letters, digits, '_' or '-'"
            )
        if not callable(self.handle) or not callable(self.head):
            raise TypeError(f"kind {self.name!r}: handle and head must be callables")
        for asset, loader in self.assets.items():
            check_asset_name(asset)
            if not callable(loader):
                raise TypeError(f"kind {self.name!r}: the loader of {asset!r} is not callable")
        object.__setattr__(self, "system_events", frozenset(self.system_events))
        object.__setattr__(self, "answered_events", frozenset(self.answered_events))
        for event in self.system_events:
            check_event_name(event)
        stray = self.answered_events - self.system_events
        if stray:
            raise ValueError(
                f"kind {self.name!r}: answered events {sorted(stray)} are not "
                "among its system events"
            )
        object.__setattr__(self, "assets", MappingProxyType(dict(self.assets)))

    def refuse_answered(self, events: Iterable[str]) -> None:
        """ValueError if a user callback would take one of the events pywry answers itself."""
        for event in events:
            if event in self.answered_events:
                raise ValueError(
                    f"{event!r} is answered by pywry itself; it cannot have a callback"
                )


_kinds: dict[str, WidgetKind[Any]] = {}
_kinds_lock = threading.Lock()


def register_kind(kind: KindT) -> KindT:
    """Make `kind` known to every app of the process; returns it (for `X = register_kind(...)`).

    Registering a kind of the same name again replaces it (a module reload does that); an asset
    name that another kind already declares is refused.
    """
    if not isinstance(kind, WidgetKind):
        raise TypeError(f"register_kind() takes a WidgetKind, not {kind!r}")
    with _kinds_lock:
        for other in _kinds.values():
            shared = other.name != kind.name and set(other.assets) & set(kind.assets)
            if shared:
                raise ValueError(
                    f"kind {kind.name!r} declares assets {sorted(shared)} that kind "
                    f"{other.name!r} already serves"
                )
        _kinds[kind.name] = kind
    return kind


def registered_kinds() -> list[WidgetKind[Any]]:
    """Every registered kind."""
    with _kinds_lock:
        return list(_kinds.values())


def find_asset(name: str) -> AssetLoader | None:
    """The loader of asset `name` from whichever registered kind declares it, or None."""
    for kind in registered_kinds():
        loader = kind.assets.get(name)
        if loader is not None:
            return loader
    return None


def kind_named(name: str) -> WidgetKind[Any] | None:
    """The registered kind called `name`, if any."""
    with _kinds_lock:
        return _kinds.get(name)
