"""What `show*` says about the arguments a new user gets wrong, at the call, not on every event."""

from __future__ import annotations

import functools

import pandas as pd
import plotly.graph_objects as go
import pytest

from pywry.core.app import App
from pywry.inline import show, show_dataframe, show_plotly
from pywry.toolbar import Button, Toolbar


def on_click(data):
    """Forgot `event_type` and `label`."""


def too_many(data, event_type, label, event, extra):
    """Wants a fifth argument nobody passes."""


def three(data, event_type, label):
    """The classic callback."""


def four(data, event_type, label, event):
    """Also takes the event being handled."""


@pytest.mark.parametrize(
    ("fn", "text"),
    [
        (
            on_click,
            "callback for 'app:click': on_click(data) cannot be called as "
            "on_click(data, event_type, label); a callback takes those three positional "
            "parameters (and may take the event as a fourth)",
        ),
        (
            too_many,
            "callback for 'app:click': too_many(data, event_type, label, event, extra) cannot "
            "be called as too_many(data, event_type, label); a callback takes those three "
            "positional parameters (and may take the event as a fourth)",
        ),
    ],
)
def test_a_callback_with_the_wrong_parameters_is_refused_at_show(
    engine: App, fn: object, text: str
) -> None:
    with pytest.raises(TypeError) as exc:
        show("<p>x</p>", label="w", callbacks={"app:click": fn})  # type: ignore[dict-item]
    assert str(exc.value) == text
    assert engine.get("w") is None  # nothing was registered


@pytest.mark.parametrize(
    "fn",
    [
        three,
        four,
        lambda *args: None,
        functools.partial(too_many, extra=1),
        print,  # a builtin: taken as it is
    ],
)
def test_callbacks_that_can_take_the_event_are_accepted(engine: App, fn: object) -> None:
    show("<p>x</p>", label="w", callbacks={"app:click": fn})  # type: ignore[dict-item]
    assert engine.get("w") is not None


def test_one_toolbar_is_taken_as_a_list_of_one(engine: App) -> None:
    bar = Toolbar(items=[Button(event="app:go", label="Go", component_id="go")])
    handles = [
        show("<p>x</p>", label="html", toolbars=bar),
        show_plotly(go.Figure(), label="chart", toolbars=bar),
        show_dataframe(pd.DataFrame({"a": [1]}), label="table", toolbars=bar),
    ]
    for handle in handles:
        assert 'data-pywry-component="go"' in handle.widget.content


def test_toolbars_of_another_type_are_refused_by_name(engine: App) -> None:
    with pytest.raises(TypeError) as exc:
        show("<p>x</p>", toolbars=Button(event="app:go", label="Go"))  # type: ignore[arg-type]
    assert str(exc.value).startswith(
        "toolbars must be a pywry.toolbar.Toolbar or a list of them, not Button("
    )
    assert str(exc.value).endswith(": put toolbar items in Toolbar(items=[...])")
    with pytest.raises(TypeError) as exc:
        show("<p>x</p>", toolbars=[Button(event="app:go", label="Go")])  # type: ignore[list-item]
    assert str(exc.value).startswith("toolbars[0] must be a pywry.toolbar.Toolbar, not ")
