"""Functions over the list of toolbars of one widget: normalise, copy, find secrets, set values.

A widget must own its toolbars: ``toolbar:set-value`` records values in the models, so a
Toolbar object shared by two widgets would leak one widget's values into the other's pages.
Registering a widget therefore keeps :func:`copy_toolbars` of what it was given, and
:func:`apply_set_value` changes only the toolbars it is handed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .bar import Toolbar, apply_to_toolbar

#: What the functions here accept: one Toolbar, a list of them (or of Toolbar dicts), or None.
Toolbars = Iterable[Toolbar | Mapping[str, object]] | Toolbar | None


def as_toolbars(toolbars: Toolbars) -> list[Toolbar]:
    """``toolbars`` as a list of Toolbar (dicts are validated into new ones); TypeError else."""
    if toolbars is None:
        return []
    if isinstance(toolbars, (Toolbar, Mapping)):
        toolbars = [toolbars]
    if isinstance(toolbars, (str, bytes)) or not isinstance(toolbars, Iterable):
        raise TypeError(f"toolbars must be a list of Toolbar, got {type(toolbars).__name__}")
    out = []
    for i, tb in enumerate(toolbars):
        if isinstance(tb, Toolbar):
            out.append(tb)
        elif isinstance(tb, Mapping):
            out.append(Toolbar.model_validate(tb))
        else:
            raise TypeError(f"toolbars[{i}] is a {type(tb).__name__}, not a Toolbar")
    return out


def copy_toolbars(toolbars: Toolbars) -> list[Toolbar]:
    """Deep copies of ``toolbars`` (same ids, same values) for one widget to own.

    Call it once when a widget is registered and keep only the copies: values set later on
    one widget then never show in another widget built from the same Toolbar objects.
    """
    return [tb.model_copy(deep=True) for tb in as_toolbars(toolbars)]


def collect_secret_ids(toolbars: Toolbars) -> set[str]:
    """Component ids of every SecretInput in ``toolbars``."""
    ids: set[str] = set()
    for tb in as_toolbars(toolbars):
        ids |= tb.secrets
    return ids


def apply_set_value(toolbars: Toolbars, data: Mapping[str, object]) -> bool:
    """Record a ``toolbar:set-value`` message's data in ``toolbars`` (so pages rendered later
    show it), changing nothing else.

    Pass the widget's own toolbars (see :func:`copy_toolbars`).  Returns False when no item has
    the data's ``componentId``; raises ValueError when the data does not fit the item.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"toolbar:set-value data must be an object, got {data!r}")
    return any(apply_to_toolbar(tb, data) for tb in as_toolbars(toolbars))
