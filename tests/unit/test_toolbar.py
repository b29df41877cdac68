"""Unit tests of pywry.toolbar: models, validation, escaping, layout and toolbar:set-value."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from pywry.toolbar import (
    Button,
    Checkbox,
    DateInput,
    Div,
    Marquee,
    MultiSelect,
    NumberInput,
    Option,
    RadioGroup,
    RangeInput,
    SearchInput,
    SecretInput,
    Select,
    SliderInput,
    TabGroup,
    TextArea,
    TextInput,
    TickerItem,
    Toggle,
    Toolbar,
    apply_set_value,
    collect_secret_ids,
    copy_toolbars,
    render_layout,
    set_value_message,
)

STATIC = Path(__file__).resolve().parents[2] / "pywry" / "static"
XSS = "<script>alert(1)</script>"

# one factory per item type: (kind, factory, interactive)
ITEMS = [
    ("button", lambda: Button(event="app:go", label="Go"), True),
    ("select", lambda: Select(event="app:sel", options=["a", "b"], selected="b"), True),
    ("multiselect", lambda: MultiSelect(event="app:ms", options=["a", "b"], selected=["a"]), True),
    ("text", lambda: TextInput(event="app:text", value="hi", placeholder="type"), True),
    ("textarea", lambda: TextArea(event="app:area", value="hi", rows=4), True),
    ("search", lambda: SearchInput(event="app:search", placeholder="find"), True),
    ("secret", lambda: SecretInput(event="app:key", placeholder="API key"), True),
    ("number", lambda: NumberInput(event="app:num", value=2, min=0, max=5, step=0.5), True),
    ("date", lambda: DateInput(event="app:date", value="2024-03-01"), True),
    ("slider", lambda: SliderInput(event="app:slide", value=3, min=0, max=10), True),
    ("range", lambda: RangeInput(event="app:range", start=2, end=8, min=0, max=10), True),
    ("toggle", lambda: Toggle(event="app:toggle", value=True, label="Live"), True),
    ("checkbox", lambda: Checkbox(event="app:check", label="Show"), True),
    ("radio", lambda: RadioGroup(event="app:radio", options=["x", "y"], selected="x"), True),
    ("tabs", lambda: TabGroup(event="app:tabs", options=["one", "two"]), True),
    ("div", lambda: Div(content="<b>hello</b>"), False),
    ("marquee", lambda: Marquee(items=["AAPL 190", "MSFT 410"]), False),
]


def _tag_with_id(html: str, component_id: str) -> str:
    match = re.search(rf'<[a-z]+ id="{re.escape(component_id)}"[^>]*>', html)
    assert match, f"no element with id {component_id!r} in {html}"
    return match.group(0)


def _errors(exc: pytest.ExceptionInfo[BaseException]) -> str:
    return str(exc.value)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("kind", "factory", "interactive"), ITEMS, ids=[i[0] for i in ITEMS])
def test_each_item_renders_with_data_attributes(kind, factory, interactive):
    item = factory()
    html = item.render()
    tag = _tag_with_id(html, item.component_id)
    assert f'data-pywry-kind="{kind}"' in tag
    assert f'data-pywry-component="{item.component_id}"' in tag
    if interactive:
        assert f'data-pywry-event="{item.event}"' in tag
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", item.component_id)
    # and inside a toolbar
    assert html in Toolbar(items=[item]).render()


def test_module_docstring_example_toolbar():
    toolbar = Toolbar(
        position="top",
        items=[
            Select(
                event="chart:region",
                label="Region",
                options=[
                    Option(label="All", value="all"),
                    Option(label="North", value="north"),
                    Option(label="South", value="south"),
                ],
                selected="all",
            ),
            Button(event="chart:export", label="Export CSV"),
        ],
    )
    html = toolbar.render()
    select, button = toolbar.items
    assert 'class="pywry-toolbar pywry-toolbar-top"' in html
    sel_tag = _tag_with_id(html, select.component_id)
    assert sel_tag.startswith("<select ")
    assert 'data-pywry-event="chart:region"' in sel_tag
    assert 'data-pywry-kind="select"' in sel_tag
    assert re.search(r'<option value="all"[^>]* selected>All</option>', html)
    assert '<option value="north" data-pywry-value="&quot;north&quot;">North</option>' in html
    assert '<option value="south" data-pywry-value="&quot;south&quot;">South</option>' in html
    assert f'for="{select.component_id}"' in html and ">Region</label>" in html
    btn_tag = _tag_with_id(html, button.component_id)
    assert btn_tag.startswith("<button ")
    assert 'data-pywry-event="chart:export"' in btn_tag
    assert 'data-pywry-kind="button"' in btn_tag
    assert 'type="button"' in btn_tag
    assert ">Export CSV</button>" in html
    assert toolbar.events == {"chart:region", "chart:export"}


def test_auto_ids_are_stable_shaped_and_unique():
    a = Button(event="chart:export", label="A")
    b = Button(event="chart:export", label="B")
    assert re.fullmatch(r"tb-chart-export-[0-9a-f]{8}", a.component_id)
    assert a.component_id != b.component_id
    assert re.fullmatch(r"tb-div-[0-9a-f]{8}", Div().component_id)
    assert Button(event="app:x", component_id="mine").component_id == "mine"
    # the id depends on the item only, not on what was built before it
    assert Button(event="chart:export", label="A").component_id == a.component_id
    assert re.fullmatch(r"tb-toolbar-top-[0-9a-f]{8}", Toolbar(items=[a]).component_id)


def test_auto_ids_are_the_same_in_every_process():
    code = (
        "from pywry.toolbar import Button, Marquee, Toolbar\n"
        "bar = Toolbar(items=[Button(event='chart:export', label='A'), Marquee(items=['x'])])\n"
        "print(' '.join(c.component_id for c in [bar, *bar.iter_components()]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    ids = runs.pop().split()
    bar = Toolbar(items=[Button(event="chart:export", label="A"), Marquee(items=["x"])])
    assert ids == [c.component_id for c in [bar, *bar.iter_components()]]


def test_identical_items_need_their_own_ids():
    with pytest.raises(ValidationError, match="give them each a component_id"):
        Toolbar(items=[Button(event="app:go", label="Go"), Button(event="app:go", label="Go")])
    toolbar = Toolbar(
        items=[
            Button(event="app:go", label="Go", component_id="go-1"),
            Button(event="app:go", label="Go", component_id="go-2"),
        ]
    )
    assert [i.component_id for i in toolbar.items] == ["go-1", "go-2"]


def test_marquee_string_tickers_get_ids_unique_per_marquee():
    first = Marquee(items=["AAPL", "AAPL"], event="app:a")
    second = Marquee(items=["AAPL"], event="app:b")
    toolbar = Toolbar(items=[first, second])
    ids = [c.component_id for c in toolbar.iter_components()]
    assert len(set(ids)) == len(ids) == 5
    assert Marquee(items=["AAPL", "AAPL"], event="app:a").items[1].component_id == ids[2]


def test_items_in_toolbar_keep_identity():
    button = Button(event="app:go", label="Go")
    toolbar = Toolbar(items=[button])
    assert toolbar.items[0] is button
    assert toolbar.find(button.component_id) is button
    assert toolbar.find("nope") is None


def test_items_from_dicts_with_kind():
    toolbar = Toolbar.model_validate(
        {"position": "footer", "items": [{"kind": "button", "event": "app:go", "label": "Go"}]}
    )
    assert isinstance(toolbar.items[0], Button)


def test_option_values_keep_their_json_type():
    select = Select(event="app:n", options=[Option(label="Ten", value=10), "x"], selected=10.0)
    html = select.render()
    assert 'data-pywry-value="10"' in html
    assert 'data-pywry-value="&quot;x&quot;"' in html
    assert select.selected == 10 and isinstance(select.selected, int)
    assert Option(label="All").value == "All"
    assert Option(value=3).label == "3"
    with pytest.raises(ValidationError):
        Option()


def test_button_data_is_json_in_attribute():
    html = Button(event="app:go", label="Go", data={"fmt": "csv", "n": 1}).render()
    assert 'data-pywry-data="{&quot;fmt&quot;:&quot;csv&quot;,&quot;n&quot;:1}"' in html
    with pytest.raises(ValidationError, match="data"):
        Button(event="app:go", data={"x": object()})


def test_text_inputs_carry_debounce():
    assert 'data-pywry-debounce="300"' in TextInput(event="app:t").render()
    assert 'data-pywry-debounce="50"' in SearchInput(event="app:s", debounce=50).render()
    with pytest.raises(ValidationError, match="debounce"):
        TextInput(event="app:t", debounce=-1)


def test_tabs_default_to_first_option_and_marquee_tickers():
    tabs = TabGroup(event="app:tabs", options=["one", "two"])
    assert tabs.selected == "one"
    assert 'aria-selected="true" data-pywry-value="&quot;one&quot;"' in tabs.render()
    marquee = Marquee(
        event="tick:click",
        speed=12,
        items=["AAPL", TickerItem(text="MSFT 410", value="MSFT", component_id="msft")],
    )
    html = marquee.render()
    ticker = _tag_with_id(html, "msft")
    assert 'data-pywry-kind="ticker"' in ticker
    assert 'data-pywry-event="tick:click"' in ticker
    assert 'data-pywry-value="&quot;MSFT&quot;"' in ticker
    assert f'data-pywry-marquee="{marquee.component_id}"' in ticker
    assert "--pywry-marquee-duration:12s" in html
    assert marquee.items[0].value == "AAPL"
    # a marquee without an event has no clickable tickers
    assert "data-pywry-event" not in Marquee(items=["A"]).render()


def test_div_content_is_authors_html():
    div = Div(content='<b class="x">bold</b>', event="app:div")
    html = div.render()
    assert '<b class="x">bold</b>' in html
    assert 'role="button"' in html


# --------------------------------------------------------------------------- escaping


def _xss_items():
    return [
        Button(event="app:a", label=XSS, description=XSS),
        Select(event="app:b", label=XSS, options=[XSS, Option(label=XSS, value="v")]),
        MultiSelect(event="app:c", label=XSS, options=[XSS], selected=[XSS], placeholder=XSS),
        TextInput(event="app:d", label=XSS, value=XSS, placeholder=XSS, description=XSS),
        TextArea(event="app:e", value="</textarea>" + XSS, placeholder=XSS),
        SearchInput(event="app:f", value=XSS, placeholder=XSS),
        SecretInput(event="app:g", label=XSS, placeholder=XSS),
        NumberInput(event="app:h", label=XSS, placeholder=XSS),
        DateInput(event="app:i", label=XSS),
        SliderInput(event="app:j", label=XSS),
        RangeInput(event="app:k", label=XSS),
        Toggle(event="app:l", label=XSS),
        Checkbox(event="app:m", label=XSS, style='color:red" onmouseover="alert(1)'),
        RadioGroup(event="app:n", label=XSS, options=[XSS]),
        TabGroup(event="app:o", label=XSS, options=[XSS]),
        Marquee(label=XSS, items=[XSS, TickerItem(text=XSS, value=XSS, description=XSS)]),
        Div(label=XSS, description=XSS),
    ]


@pytest.mark.parametrize("item", _xss_items(), ids=lambda i: type(i).__name__)
def test_user_strings_are_escaped(item):
    html = item.render()
    assert "<script" not in html
    assert html.count("</textarea>") <= 1
    assert '" onmouseover="' not in html
    assert "&lt;script&gt;" in html or type(item).__name__ == "Checkbox"


def test_toolbar_and_layout_escape_their_strings():
    toolbar = Toolbar(items=[Button(event="app:a", label=XSS)], style='x" onload="alert(1)')
    html = render_layout("<p>content</p>", [toolbar])
    assert "<script" not in html
    assert '" onload="' not in html
    with pytest.raises(ValidationError, match="class_name"):
        Toolbar(class_name='a" onclick="x')


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("event", ["pywry:x", "toolbar:x", "plotly:click", "grid:x", "PyWry:x"])
def test_reserved_namespaces_are_refused(event):
    with pytest.raises(ValidationError) as exc:
        Button(event=event, label="x")
    text = _errors(exc)
    assert "event" in text
    assert repr(event) in text
    assert "reserved" in text


@pytest.mark.parametrize("event", ["noseparator", "a:b\n", "1a:b", "a:", ":b", "a:b c", "a:b:c"])
def test_malformed_event_names_are_refused(event):
    with pytest.raises(ValidationError) as exc:
        Select(event=event, options=["a"])
    text = _errors(exc)
    assert "event" in text
    assert repr(event) in text


def test_missing_event_is_an_error_naming_it():
    with pytest.raises(ValidationError, match="event"):
        Button(label="x")
    with pytest.raises(ValidationError, match="event"):
        Marquee(items=[TickerItem(text="a", event="pywry:tick")])


def test_extra_kwarg_is_refused_by_name():
    with pytest.raises(ValidationError) as exc:
        Button(event="app:go", lable="Go")
    assert "lable" in _errors(exc)
    with pytest.raises(ValidationError, match="colour"):
        Toolbar(colour="red")


@pytest.mark.parametrize(
    ("build", "line"),
    [
        (
            lambda: Button(event="app:go", lable="Go"),
            "Button: unknown argument 'lable'; did you mean 'label'?",
        ),
        (
            lambda: Toolbar(postion="top"),
            "Toolbar: unknown argument 'postion'; did you mean 'position'?",
        ),
        (
            lambda: Toolbar(position="topp"),
            "Toolbar: position 'topp' is not one of 'top', 'bottom', 'left', 'right', 'header', "
            "'footer' or 'inside'; did you mean 'top'?",
        ),
        (
            lambda: Toolbar.model_validate(
                {"items": [{"kind": "button", "event": "app:go", "lable": "Go"}]}
            ),
            "Toolbar: items[0]: unknown argument 'lable' of Button; did you mean 'label'?",
        ),
        (
            lambda: Select(event="app:s", options=[{"lable": "a"}]),
            "Select: options[0]: unknown argument 'lable' of Option; did you mean 'label'?",
        ),
    ],
)
def test_typos_are_one_line_that_says_did_you_mean(build, line):
    with pytest.raises(ValidationError) as exc:  # still a ValidationError for `except` clauses
        build()
    assert str(exc.value) == line
    assert repr(line) in repr(exc.value)


def test_an_unknown_argument_without_a_near_name_lists_the_known_ones():
    with pytest.raises(ValidationError) as exc:
        Button(event="app:go", zzz=1)
    assert str(exc.value) == (
        "Button: unknown argument 'zzz' "
        "(component_id, description, disabled, style, event, label, data, variant are known)"
    )


def test_a_typo_in_a_script_ends_with_one_line(tmp_path: Path):
    script = tmp_path / "bar.py"
    script.write_text("from pywry.toolbar import Button\nButton(event='app:go', lable='Go')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "pywry.toolbar.errors.ToolbarError: Button: unknown argument 'lable'; did you mean 'label'?"
    )
    assert "errors.pydantic.dev" not in done.stderr


def test_secret_input_never_has_a_value():
    with pytest.raises(ValidationError) as exc:
        SecretInput(event="app:key", value="hunter2")
    assert "value" in _errors(exc)
    with pytest.raises(ValidationError, match="value"):
        Toolbar.model_validate({"items": [{"kind": "secret", "event": "app:k", "value": "s"}]})
    secret = SecretInput(event="app:key", placeholder="API key")
    html = secret.render()
    assert "value=" not in html
    assert 'type="password"' in html
    assert "value" not in secret.model_dump()
    with pytest.raises(ValueError):
        secret.value = "hunter2"  # type: ignore[attr-defined]  # no such field, on purpose


def test_component_id_is_validated():
    with pytest.raises(ValidationError) as exc:
        Button(event="app:go", component_id="9 bad")
    assert "component_id" in _errors(exc) and "'9 bad'" in _errors(exc)
    with pytest.raises(ValidationError, match="more than once"):
        Toolbar(
            items=[
                Button(event="app:a", component_id="dup"),
                Button(event="app:b", component_id="dup"),
            ]
        )


@pytest.mark.parametrize(
    "position", ["top", "bottom", "left", "right", "header", "footer", "inside"]
)
def test_positions(position):
    toolbar = Toolbar(position=position)
    assert f"pywry-toolbar-{position}" in toolbar.render()
    vertical = position in ("left", "right")
    assert f'aria-orientation="{"vertical" if vertical else "horizontal"}"' in toolbar.render()


@pytest.mark.parametrize("position", ["middle", "TOP", "", None])
def test_bad_position_is_refused(position):
    with pytest.raises(ValidationError) as exc:
        Toolbar(position=position)
    assert "position" in _errors(exc)


def test_bad_items_are_refused():
    with pytest.raises(ValidationError, match=r"items\[0\] is a str"):
        Toolbar(items=["Export"])
    with pytest.raises(ValidationError, match="Marquee"):
        Toolbar(items=[TickerItem(text="x")])
    with pytest.raises(ValidationError, match="kind"):
        Toolbar.model_validate({"items": [{"event": "app:x"}]})


def test_choice_validation():
    with pytest.raises(ValidationError, match="'zz'"):
        Select(event="app:s", options=["a"], selected="zz")
    with pytest.raises(ValidationError, match="more than once"):
        Select(event="app:s", options=["a", "a"])
    with pytest.raises(ValidationError, match="'q'"):
        MultiSelect(event="app:m", options=["a"], selected=["q"])
    with pytest.raises(ValidationError, match="'q'"):
        RadioGroup(event="app:r", options=["a"], selected="q")
    with pytest.raises(ValidationError, match="'q'"):
        TabGroup(event="app:t", options=["a"], selected="q")


def test_number_validation():
    with pytest.raises(ValidationError, match=r"min \(5\) must be <= max \(1\)"):
        NumberInput(event="app:n", min=5, max=1)
    with pytest.raises(ValidationError, match="above max"):
        NumberInput(event="app:n", value=11, max=10)
    with pytest.raises(ValidationError, match="step"):
        SliderInput(event="app:s", step=0)
    with pytest.raises(ValidationError, match="value"):
        NumberInput(event="app:n", value=True)
    with pytest.raises(ValidationError, match="value"):
        NumberInput(event="app:n", value=float("nan"))
    with pytest.raises(ValidationError, match="start"):
        RangeInput(event="app:r", start=8, end=2)
    with pytest.raises(ValidationError, match="below min"):
        RangeInput(event="app:r", start=-1)
    assert SliderInput(event="app:s").value == 0
    assert 'step="any"' in NumberInput(event="app:n").render()
    with pytest.raises(ValidationError, match="speed"):
        Marquee(speed=0)


def test_date_validation():
    assert DateInput(event="app:d", value=dt.date(2024, 1, 2)).value == dt.date(2024, 1, 2)
    assert 'value="2024-01-02"' in DateInput(event="app:d", value="2024-01-02").render()
    with pytest.raises(ValidationError, match="2024-13-01"):
        DateInput(event="app:d", value="2024-13-01")
    with pytest.raises(ValidationError, match="before min"):
        DateInput(event="app:d", value="2024-01-01", min="2024-02-01")
    with pytest.raises(ValidationError, match="datetime"):
        DateInput(event="app:d", value=dt.datetime(2024, 1, 1, 12))


# --------------------------------------------------------------------------- layout


def _all_positions():
    order = ["footer", "inside", "right", "bottom", "top", "left", "header"]
    return [
        Toolbar(position=p, component_id=f"bar-{p}", items=[Button(event=f"app:{p}", label=p)])
        for p in order
    ]


def test_render_layout_places_toolbars():
    html = render_layout('<div id="chart"></div>', _all_positions())
    pos = {p: html.index(f'id="bar-{p}"') for p in ("header", "left", "top", "bottom", "right")}
    pos["footer"] = html.index('id="bar-footer"')
    pos["content"] = html.index('<div class="pywry-content"><div id="chart"></div></div>')
    order = ["header", "left", "top", "content", "bottom", "right", "footer"]
    assert [pos[k] for k in order] == sorted(pos.values())
    # inside floats over the content: in the content wrapper, next to the content
    wrap = html.index('<div class="pywry-content-wrap">')
    inside = html.index('<div class="pywry-layout-inside">')
    assert wrap < pos["content"] < inside < pos["bottom"]
    assert html.startswith('<div class="pywry-layout">')
    # left | main | right share one row, header/footer are outside it
    row = html.index('<div class="pywry-layout-row">')
    assert pos["header"] < row < pos["left"]


def test_render_layout_keeps_order_within_a_position():
    bars = [
        Toolbar(position="top", component_id="first"),
        Toolbar(position="top", component_id="second"),
    ]
    html = render_layout("x", bars)
    assert html.index('id="first"') < html.index('id="second"')


def test_render_layout_without_toolbars_returns_content():
    assert render_layout("<p>hi</p>", []) == "<p>hi</p>"
    assert render_layout("<p>hi</p>", None) == "<p>hi</p>"


def test_render_layout_refuses_duplicate_ids_and_bad_toolbars():
    a = Toolbar(items=[Button(event="app:a", component_id="same")])
    b = Toolbar(position="bottom", items=[Button(event="app:b", component_id="same")])
    with pytest.raises(ValueError, match="'same'"):
        render_layout("x", [a, b])
    with pytest.raises(TypeError, match="toolbars"):
        render_layout("x", ["top"])


def test_collect_secret_ids():
    bars = [
        Toolbar(
            items=[SecretInput(event="app:key", component_id="api-key"), Button(event="app:b")]
        ),
        Toolbar(position="left", items=[SecretInput(event="app:pw", component_id="pw")]),
    ]
    assert collect_secret_ids(bars) == {"api-key", "pw"}
    assert bars[0].secrets == {"api-key"}
    assert collect_secret_ids([]) == set()


# --------------------------------------------------------------------------- toolbar:set-value


def test_set_value_message():
    assert set_value_message("region", "north") == {"componentId": "region", "value": "north"}
    assert set_value_message("n", None) == {"componentId": "n", "value": None}
    assert set_value_message("n", label="L") == {"componentId": "n", "label": "L"}
    msg = set_value_message(
        "region", "b", options=["a", Option(label="B", value="b"), {"value": 3}], disabled=True
    )
    assert msg == {
        "componentId": "region",
        "value": "b",
        "options": [
            {"label": "a", "value": "a"},
            {"label": "B", "value": "b"},
            {"label": "3", "value": 3},
        ],
        "disabled": True,
    }
    assert set_value_message("d", dt.date(2024, 5, 6))["value"] == "2024-05-06"
    assert set_value_message("r", (1, 2))["value"] == [1, 2]


def test_set_value_message_errors_name_the_argument():
    with pytest.raises(ValueError, match="component_id 'bad id'"):
        set_value_message("bad id", 1)
    with pytest.raises(TypeError, match="'bogus'"):
        set_value_message("ok", 1, bogus=True)
    with pytest.raises(ValueError, match="disabled"):
        set_value_message("ok", 1, disabled="yes")
    with pytest.raises(ValueError, match="value"):
        set_value_message("ok", object())
    with pytest.raises(ValueError, match="options"):
        set_value_message("ok", options="abc")


def test_toolbar_set_value_validates_and_records():
    toolbar = Toolbar(
        items=[
            Select(event="app:s", component_id="region", options=["a", "b"], selected="a"),
            SecretInput(event="app:k", component_id="key"),
            NumberInput(event="app:n", component_id="num", max=10),
            RangeInput(event="app:r", component_id="rng"),
            Marquee(items=[TickerItem(text="AAPL", component_id="aapl")]),
            Div(component_id="note", content="<b>x</b>"),
        ]
    )
    assert toolbar.set_value("region", "b") == {"componentId": "region", "value": "b"}
    assert toolbar.find("region").selected == "b"
    assert re.search(r'<option value="b"[^>]* selected>', toolbar.render())
    with pytest.raises(ValueError, match="'zz'"):
        toolbar.set_value("region", "zz")
    assert toolbar.find("region").selected == "b"  # unchanged after a refused value
    toolbar.set_value("region", options=["c", "d"])
    assert toolbar.find("region").selected is None
    with pytest.raises(ValueError, match="secret"):
        toolbar.set_value("key", "hunter2")
    assert toolbar.set_value("key", disabled=True) == {"componentId": "key", "disabled": True}
    with pytest.raises(ValueError, match="above max"):
        toolbar.set_value("num", 11)
    toolbar.set_value("rng", {"start": 5, "end": 6})
    assert (toolbar.find("rng").start, toolbar.find("rng").end) == (5, 6)
    toolbar.set_value("aapl", text="AAPL 190.1")
    assert "AAPL 190.1" in toolbar.render()
    toolbar.set_value("note", text=XSS)
    assert "<script" not in toolbar.render()
    with pytest.raises(ValueError, match="'nope'"):
        toolbar.set_value("nope", 1)
    with pytest.raises(ValueError, match="placeholder"):
        toolbar.set_value("region", placeholder="x")


def test_apply_set_value():
    toolbar = Toolbar(items=[Toggle(event="app:t", component_id="live")])
    assert apply_set_value([toolbar], {"componentId": "live", "value": True}) is True
    assert toolbar.find("live").value is True
    assert apply_set_value([toolbar], {"componentId": "other", "value": True}) is False
    with pytest.raises(ValueError):
        apply_set_value([toolbar], {"componentId": "live", "value": "yes"})


def test_copied_toolbars_do_not_share_values():
    shared = Toolbar(
        items=[
            Select(event="app:s", component_id="region", options=["a", "b"], selected="a"),
            Marquee(items=[TickerItem(text="AAPL", component_id="aapl")]),
        ]
    )
    first, second = copy_toolbars([shared]), copy_toolbars(shared)
    assert first[0].render() == second[0].render() == shared.render()
    assert apply_set_value(first, {"componentId": "region", "value": "b"}) is True
    assert apply_set_value(first, {"componentId": "aapl", "text": "AAPL 190"}) is True
    assert apply_set_value(first, {"componentId": "region", "options": ["b", "c"]}) is True
    assert first[0].find("region").selected == "b"
    for untouched in (second[0], shared):
        assert untouched.find("region").selected == "a"
        assert [o.value for o in untouched.find("region").options] == ["a", "b"]
        assert untouched.find("aapl").text == "AAPL"
        assert "AAPL 190" not in untouched.render()
    assert "AAPL 190" in first[0].render()
    assert [c.component_id for c in first[0].iter_components()] == [
        c.component_id for c in shared.iter_components()
    ]
    assert copy_toolbars(None) == []


# --------------------------------------------------------------------------- golden HTML

# Every item kind in several configurations, alone, in a toolbar at every position, in layouts
# and after each kind of toolbar:set-value.  toolbar.js and toolbar.css rely on this markup, so
# any byte of it changing must be deliberate: then update GOLDEN with the new digests.
G_XSS = "<script>x</script>&\"'"


def _golden_items():
    return {
        "button": Button(event="app:go", label="Go", component_id="b1"),
        "button-full": Button(
            event="app:go",
            label=G_XSS,
            component_id="b2",
            data={"a": 1, "b": [1, "x"]},
            variant="danger",
            disabled=True,
            description=G_XSS,
            style="color:red",
        ),
        "select": Select(
            event="app:sel",
            options=["a", "b", 3, Option(label="T", value=True)],
            selected="b",
            component_id="s1",
            label="Pick",
        ),
        "select-none": Select(
            event="app:sel",
            options=[Option(value=1.5), Option(label="x")],
            component_id="s2",
            disabled=True,
        ),
        "multiselect": MultiSelect(
            event="app:ms",
            options=["a", "b", 2],
            selected=["a", 2],
            component_id="m1",
            label="M",
            placeholder="ph",
        ),
        "multiselect-empty": MultiSelect(
            event="app:ms", options=["a"], component_id="m2", disabled=True
        ),
        "text": TextInput(
            event="app:text",
            value="hi",
            placeholder="type",
            component_id="t1",
            label="T",
            debounce=10,
        ),
        "text-empty": TextInput(event="app:text", component_id="t2"),
        "textarea": TextArea(
            event="app:area",
            value="</textarea>" + G_XSS,
            rows=4,
            component_id="ta",
            placeholder="p",
        ),
        "search": SearchInput(event="app:search", placeholder="find", component_id="se", value="q"),
        "search-empty": SearchInput(event="app:search", component_id="se2", disabled=True),
        "secret": SecretInput(
            event="app:key", placeholder="API key", component_id="k1", label="Key"
        ),
        "number": NumberInput(
            event="app:num",
            value=2,
            min=0,
            max=5,
            step=0.5,
            component_id="n1",
            label="N",
            placeholder="n",
        ),
        "number-bare": NumberInput(event="app:num", component_id="n2"),
        "date": DateInput(
            event="app:date",
            value="2024-03-01",
            min=dt.date(2024, 1, 1),
            max="2024-12-31",
            component_id="d1",
            label="D",
        ),
        "date-empty": DateInput(event="app:date", component_id="d2"),
        "slider": SliderInput(
            event="app:slide", value=3, min=0, max=10, component_id="sl", label="S"
        ),
        "slider-hidden": SliderInput(
            event="app:slide", step=0.25, show_value=False, component_id="sl2", disabled=True
        ),
        "range": RangeInput(
            event="app:range", start=2, end=8, min=0, max=10, component_id="r1", label="R"
        ),
        "range-default": RangeInput(
            event="app:range", component_id="r2", show_value=False, disabled=True
        ),
        "toggle": Toggle(event="app:toggle", value=True, label="Live", component_id="tg"),
        "toggle-off": Toggle(event="app:toggle", component_id="tg2", disabled=True),
        "checkbox": Checkbox(event="app:check", label="Show", component_id="cb"),
        "radio": RadioGroup(
            event="app:radio", options=["x", "y", 1], selected="x", component_id="rg", label="R"
        ),
        "radio-vertical": RadioGroup(
            event="app:radio",
            options=["x"],
            direction="vertical",
            component_id="rg2",
            disabled=True,
        ),
        "tabs": TabGroup(event="app:tabs", options=["one", "two"], component_id="tb1"),
        "tabs-labelled": TabGroup(
            event="app:tabs",
            options=["one", "two"],
            selected="two",
            label="L",
            component_id="tb2",
            disabled=True,
        ),
        "div": Div(content="<b>hello</b>", component_id="dv"),
        "div-event": Div(
            content="<i>x</i>",
            event="app:div",
            label="Lbl",
            component_id="dv2",
            disabled=True,
            description="d",
        ),
        "marquee": Marquee(
            items=[
                TickerItem(text="AAPL 190", component_id="tk1"),
                TickerItem(
                    text="MSFT", value=2, component_id="tk2", event="app:tick", disabled=True
                ),
            ],
            component_id="mq",
        ),
        "marquee-event": Marquee(
            items=[TickerItem(text=G_XSS, component_id="tk3", description=G_XSS, style="a:b")],
            event="app:mq",
            speed=7.5,
            direction="right",
            pause_on_hover=False,
            label="Ticker",
            component_id="mq2",
        ),
    }


def _golden_messages():
    return [
        set_value_message("s1", 3),
        set_value_message("s1", options=["q", "r"]),
        set_value_message("m1", ["b"]),
        set_value_message("m1", options=["b", "z"], placeholder="pp"),
        set_value_message("t1", "new", placeholder="np", label="NL", description="nd"),
        set_value_message("ta", None),
        set_value_message("n1", 4.5, min=1, max=6, step=0.5),
        set_value_message("d1", dt.date(2024, 6, 1)),
        set_value_message("sl", 7),
        set_value_message("r1", {"start": 3, "end": 4}),
        set_value_message("r2", (10, 20)),
        set_value_message("tg", False, disabled=True),
        set_value_message("rg", 1),
        set_value_message("tb1", options=["z", "w"]),
        set_value_message("tb2", options=["two", "q"]),
        set_value_message("dv", text=G_XSS),
        set_value_message("tk1", "V", text="new text"),
        set_value_message("k1", disabled=True, placeholder="pk"),
    ]


def _golden_cases():
    cases = {f"item:{name}": item.render() for name, item in _golden_items().items()}
    positions = ("header", "left", "top", "inside", "bottom", "right", "footer")
    for pos in positions:
        bar = Toolbar(
            position=pos,
            items=list(_golden_items().values()),
            component_id=f"bar-{pos}",
            class_name="a b",
            style="x:y",
        )
        cases[f"bar:{pos}"] = bar.render()
    bars = [
        Toolbar(
            position=p,
            component_id=f"L-{p}",
            items=[Button(event=f"app:{p}", label=p, component_id=f"btn-{p}")],
        )
        for p in positions
    ]
    cases["layout:all"] = render_layout('<div id="c"></div>', bars)
    cases["layout:one"] = render_layout("x", bars[2])
    cases["layout:none"] = render_layout("x", [])
    bar = Toolbar(items=list(_golden_items().values()), component_id="sv")
    for i, message in enumerate(_golden_messages()):
        assert apply_set_value([bar], message) is True
        cases[f"after:{i}"] = bar.render()
    return cases


GOLDEN = {
    "after:0": "9dd67535e3dce3ca",
    "after:1": "6abd8b7fc389a835",
    "after:10": "d8835c82183a68df",
    "after:11": "de86f32580ee9f44",
    "after:12": "1c0d55df18ea8531",
    "after:13": "0f3d799bb3f29ad2",
    "after:14": "4ef2794ae7335973",
    "after:15": "30c36db694c786a6",
    "after:16": "27815704fc957892",
    "after:17": "5e36ac6de44d55f9",
    "after:2": "8016b1dfb238149b",
    "after:3": "986e9f3b2fcaf5ce",
    "after:4": "84210ee947f5d822",
    "after:5": "62ec5b14efeb83f2",
    "after:6": "2eaac1be57005d47",
    "after:7": "d8e7c51647513ebf",
    "after:8": "babc34f910fdc494",
    "after:9": "acfd9b65e7e22135",
    "bar:bottom": "f88f049944ac57fd",
    "bar:footer": "f1751df248cab0ec",
    "bar:header": "c7741f786cd46745",
    "bar:inside": "40a2bcdcc8e0150e",
    "bar:left": "24cde03381fc098c",
    "bar:right": "773d2b90ced67723",
    "bar:top": "089beb14c4afcacd",
    "item:button": "b97ee9168cefdb75",
    "item:button-full": "77205a770099ab26",
    "item:checkbox": "d7b2f0eb36658981",
    "item:date": "7455bd92fedbe6cd",
    "item:date-empty": "fc0e0934a54784ed",
    "item:div": "d0ff05ed9f0d66af",
    "item:div-event": "ad0c31ea08c74b25",
    "item:marquee": "7c51e424a031ed00",
    "item:marquee-event": "5b32d01292e94e3b",
    "item:multiselect": "5b0abddbcb3fd5e9",
    "item:multiselect-empty": "7e91f283e8a3535d",
    "item:number": "0f6fe8abb71e5a63",
    "item:number-bare": "a26618f6d42563d0",
    "item:radio": "1f1d5ed443fdf765",
    "item:radio-vertical": "7d33ddc061973e7f",
    "item:range": "bd12427e6c919715",
    "item:range-default": "3fce908a16af7f1b",
    "item:search": "c9e40595c810377b",
    "item:search-empty": "6477dc799b847276",
    "item:secret": "1680435fd73644f5",
    "item:select": "554058f9fcb59fa3",
    "item:select-none": "a4ce4d6785b87c1f",
    "item:slider": "1e2744436374904d",
    "item:slider-hidden": "c9441ac98453b3a0",
    "item:tabs": "57f603a6b35df441",
    "item:tabs-labelled": "c3e3d7771b3dad2e",
    "item:text": "a02d33cb956c1d97",
    "item:text-empty": "6d825aa9fafd30a4",
    "item:textarea": "239765c01de0383d",
    "item:toggle": "da6d03284d91742e",
    "item:toggle-off": "121d193a6752283c",
    "layout:all": "67ba0c50d7929b69",
    "layout:none": "2d711642b726b044",
    "layout:one": "6af41a250215fd1b",
}


def test_rendering_is_byte_for_byte_unchanged():
    cases = _golden_cases()
    assert set(cases) == set(GOLDEN)
    for name, html in cases.items():
        digest = hashlib.sha256(html.encode()).hexdigest()[:16]
        assert digest == GOLDEN[name], f"{name} now renders as {digest}: {html}"


# --------------------------------------------------------------------------- static files


def test_static_files_exist_and_follow_the_rules():
    js = (STATIC / "toolbar.js").read_text()
    css = (STATIC / "toolbar.css").read_text()
    assert "toolbar:set-value" in js
    assert "innerHTML" not in js.replace("never innerHTML", "")
    for kind in ("button", "select", "multiselect", "secret", "range", "tabs", "ticker"):
        assert f'"{kind}"' in js
    for var in ("--pywry-bg", "--pywry-fg", "--pywry-muted", "--pywry-accent", "--pywry-border"):
        assert var in css
    assert "--pywry-surface" in css
    assert "@keyframes" in css


def test_toolbar_js_parses():
    from tests.support import require_binary

    node = require_binary("node", "apt-get install nodejs")
    subprocess.run([node, "--check", str(STATIC / "toolbar.js")], check=True)
