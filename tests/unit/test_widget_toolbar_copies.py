"""Two widgets built from one Toolbar object own separate copies of it."""

from __future__ import annotations

import re

import pytest

from pywry import inline
from pywry._register import register_widget
from pywry.core.app import App
from pywry.toolbar import Option, Select, Toolbar


@pytest.mark.parametrize("register", ["show", "register_widget"])
def test_a_value_set_on_one_widget_stays_out_of_the_other(engine: App, register: str) -> None:
    shared = Toolbar(
        items=[
            Select(
                event="app:region",
                component_id="region",
                options=[Option(value="all"), Option(value="north")],
                selected="all",
            )
        ]
    )
    if register == "show":
        a = inline.show("<p>a</p>", label="a", toolbars=[shared])
        b = inline.show("<p>b</p>", label="b", toolbars=[shared])
    else:
        a = register_widget("<p>a</p>", label="a", toolbars=[shared])
        b = register_widget("<p>b</p>", label="b", toolbars=[shared])
    assert b.label == "b"
    a.set_toolbar_value("region", "north")
    north = r'<option value="north"[^>]*selected'
    assert re.search(north, engine.page_html("a", "") or "")
    assert not re.search(north, engine.page_html("b", "") or "")
    assert shared.find("region").selected == "all"
