"""Callbacks pywry wraps (SecretInput events, table row events) still get the event when they
ask for it as a fourth parameter, sync or async, and the classic three when they do not."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pywry.core.app import App
from pywry.dataframe import show_dataframe
from pywry.inline import show
from pywry.toolbar import SecretInput, Toolbar
from tests.unit.test_visitors import SID, fire


def key_toolbar() -> Toolbar:
    return Toolbar(items=[SecretInput(event="app:key", component_id="api-key")])


def test_a_secret_callback_with_four_parameters_gets_the_sender(engine: App) -> None:
    seen: list[Any] = []

    def on_key(data: Any, event_type: str, label: str, event: Any) -> None:
        seen.append((data, event.client, event.session_id))

    show("<p>k</p>", label="k", toolbars=[key_toolbar()], callbacks={"app:key": on_key})
    fire(engine, "k", "app:key", {"componentId": "api-key", "value": "hunter2"})
    assert seen == [({"componentId": "api-key", "hasValue": True}, "tab-a", SID)]


def test_an_async_secret_callback_with_four_parameters_gets_the_sender(engine: App) -> None:
    seen: list[Any] = []

    async def on_key(data: Any, event_type: str, label: str, event: Any) -> None:
        seen.append((data["hasValue"], event.client))

    show("<p>k</p>", label="k", toolbars=[key_toolbar()], callbacks={"app:key": on_key})
    fire(engine, "k", "app:key", {"componentId": "api-key", "value": "hunter2"}, client="tab-b")
    assert seen == [(True, "tab-b")]


def test_a_secret_callback_with_three_parameters_still_works(engine: App) -> None:
    seen: list[Any] = []
    show(
        "<p>k</p>",
        label="k",
        toolbars=[key_toolbar()],
        callbacks={"app:key": lambda data, event_type, label: seen.append(data)},
    )
    fire(engine, "k", "app:key", {"componentId": "api-key", "value": ""})
    assert seen == [{"componentId": "api-key", "hasValue": False}]


def test_a_table_row_callback_with_four_parameters_gets_rows_and_the_sender(engine: App) -> None:
    seen: list[Any] = []

    def on_cell(data: Any, event_type: str, label: str, event: Any) -> None:
        seen.append((data["value"], event.client))

    def on_rows(data: Any, event_type: str, label: str) -> None:
        seen.append(data["rowIndexes"])

    frame = pd.DataFrame({"name": ["ada", "bob", "cy"], "n": [1, 2, 3]})
    show_dataframe(
        frame, label="t", callbacks={"grid:cell-click": on_cell, "grid:row-select": on_rows}
    )
    fire(engine, "t", "grid:cell-click", {"rowIndex": 1, "column": "name"}, client="tab-c")
    fire(engine, "t", "grid:row-select", {"rowIndexes": [0, 2]})
    assert seen == [("bob", "tab-c"), [0, 2]]
