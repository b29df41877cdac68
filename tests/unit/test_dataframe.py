"""Server-side tables: frames, paging, sorting, filtering, callbacks, export; no server."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pywry.core.app import App
from pywry.dataframe import GridSource, TableHandle, cell, show_dataframe, to_frame
from pywry.inline import show


def sent(engine: App, label: str) -> list[dict[str, Any]]:
    return [json.loads(t) for t in engine.require(label).outbox.since(0) or []]


def grid_boot(html: str) -> dict[str, Any]:
    m = re.search(r'id="pywry-grid-data">(.*?)</script>', html)
    assert m
    return json.loads(m.group(1))


def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["bob", "alice", "carol", "dave", "erin", "alice"],
            "age": [30, 25, np.nan, 41, 25, 35],
            "city": ["Oslo", "Rome", "Oslo", None, "Lima", "Rome"],
        }
    )


# -- frames and cells -----------------------------------------------------------------------------


def test_rows_columns_and_frames_are_accepted() -> None:
    assert list(to_frame([{"a": 1, "b": 2}, {"a": 3}]).columns) == ["a", "b"]
    assert len(to_frame({"a": [1, 2, 3]})) == 3
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    assert list(to_frame(df).columns) == ["key", "v"]  # a meaningful index becomes a column
    plain = pd.DataFrame({0: [1], 1: [2]})
    assert list(to_frame(plain).columns) == ["0", "1"]
    same = pd.DataFrame({"a": [1]})
    assert to_frame(same) is same  # not copied


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (42, TypeError),
        ("a,b", TypeError),
        ([1, 2], TypeError),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), ValueError),
    ],
)
def test_bad_data_is_refused_with_a_clear_error(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_frame(bad)


def test_cells_become_json_values() -> None:
    assert cell(np.int64(3)) == 3 and isinstance(cell(np.int64(3)), int)
    assert cell(np.float32(1.5)) == 1.5 and cell(np.nan) is None and cell(float("inf")) is None
    assert cell(pd.NaT) is None and cell(pd.NA) is None and cell(None) is None
    assert cell(pd.Timestamp("2024-01-02 03:04")) == "2024-01-02T03:04:00"
    assert cell(dt.date(2024, 1, 2)) == "2024-01-02"
    assert cell(decimal.Decimal("1.25")) == 1.25 and cell(b"ab") == "ab"
    assert cell(np.bool_(True)) is True and cell({1, 2}) in ("{1, 2}", "{2, 1}")


# -- paging, sorting, filtering -------------------------------------------------------------------


def names(answer: dict[str, Any]) -> list[str]:
    return [row[0] for row in answer["rows"]]


def test_pages_are_slices_with_counts() -> None:
    src = GridSource(people(), page_size=4)
    first = src.page(1)
    assert names(first) == ["bob", "alice", "carol", "dave"]
    assert first["index"] == [0, 1, 2, 3] and first["total"] == 6 and first["pages"] == 2
    last = src.page(99)  # clamped
    assert last["page"] == 2 and names(last) == ["erin", "alice"] and last["index"] == [4, 5]
    assert src.page(1, 2)["rows"][1] == ["alice", 25.0, "Rome"]
    assert src.page(1)["rows"][2] == ["carol", None, "Oslo"]


def test_sorting_is_stable_multi_column_with_missing_values_last() -> None:
    src = GridSource(people(), page_size=10)
    asc = src.page(1, sort=[{"column": "age", "dir": "asc"}])
    assert names(asc) == ["alice", "erin", "bob", "alice", "dave", "carol"]
    desc = src.page(1, sort=[{"column": "age", "dir": "desc"}])
    assert names(desc) == ["dave", "alice", "bob", "alice", "erin", "carol"]
    multi = src.page(1, sort=[{"column": "name", "dir": "asc"}, {"column": "age", "dir": "desc"}])
    assert multi["index"][:2] == [5, 1]  # the two alices, older first
    assert multi["sort"] == [{"column": "name", "dir": "asc"}, {"column": "age", "dir": "desc"}]
    city = src.page(1, sort=[{"column": "city", "dir": "desc"}])
    assert [r[2] for r in city["rows"]] == ["Rome", "Rome", "Oslo", "Oslo", "Lima", None]


def test_filters_global_and_per_column() -> None:
    src = GridSource(people(), page_size=10)
    assert names(src.page(1, filt="ALI")) == ["alice", "alice"]
    assert names(src.page(1, filt="oslo")) == ["bob", "carol"]
    assert src.page(1, filt="25")["total"] == 2  # 25.0 is shown (and matched) as 25
    by_age = src.page(1, filt={"text": "", "columns": {"age": ">= 30"}})
    assert names(by_age) == ["bob", "dave", "alice"]
    both = src.page(1, filt={"text": "rome", "columns": {"age": "<30"}})
    assert names(both) == ["alice"]
    assert names(src.page(1, filt={"columns": {"age": "41"}})) == ["dave"]
    assert names(src.page(1, filt={"columns": {"age": "!=25"}})) == ["bob", "dave", "alice"]
    sorted_filtered = src.page(1, sort=[{"column": "age", "dir": "desc"}], filt="a")
    assert names(sorted_filtered)[0] == "dave"
    assert src.page(1, filt="zzz")["total"] == 0 and src.page(1, filt="zzz")["pages"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sort": [{"column": "nope"}]}, "unknown sort column"),
        ({"sort": [{"column": "age", "dir": "up"}]}, "dir"),
        ({"sort": "age"}, "sort must be a list"),
        ({"filt": {"columns": {"nope": "x"}}}, "unknown filter column"),
        ({"filt": 5}, "filter must be"),
        ({"filt": "x" * 600}, "longer than"),
        ({"page_size": 0}, "pageSize"),
        ({"page_size": 5000}, "pageSize"),
        ({"page": "2"}, "page"),
    ],
)
def test_bad_requests_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GridSource(people()).page(**kwargs)


def test_row_orders_are_cached_and_the_cache_is_bounded() -> None:
    src = GridSource(people(), cache_size=2)
    first = src.order([{"column": "age", "dir": "asc"}])
    assert src.order([{"column": "age", "dir": "asc"}]) is first
    src.order([{"column": "age", "dir": "desc"}])
    src.order([{"column": "name", "dir": "asc"}])
    assert len(src._orders) == 2
    assert src.order(None, "") is None  # the natural order needs no index at all


def test_mixed_type_columns_still_sort() -> None:
    src = GridSource({"v": [3, "b", None, 1.5, "a"]})
    assert [r[0] for r in src.page(1, sort=[{"column": "v", "dir": "asc"}])["rows"]] == [
        1.5,
        3,
        "a",
        "b",
        None,
    ]


def test_a_million_rows_open_with_a_small_first_page(engine: App) -> None:
    n = 1_000_000
    ids = np.arange(n)
    df = pd.DataFrame({"id": ids, "score": (ids * 7919) % 1_000_003, "g": ids % 7})
    w = show_dataframe(df, label="big")
    html = engine.page_html(w.label, "")
    assert html is not None and len(html.encode()) < 200_000
    boot = grid_boot(html)
    assert boot["first"]["totalRows"] == n and len(boot["first"]["rows"]) == 100
    src = GridSource(df)
    third = src.page(3, 100, [{"column": "score", "dir": "desc"}])
    expected = np.argsort(-df["score"].to_numpy(), kind="stable")[200:300]
    assert third["index"] == expected.tolist()


# -- the widget -----------------------------------------------------------------------------------


def test_request_page_answers_with_the_request_id(engine: App) -> None:
    show_dataframe(people(), label="t", page_size=2)
    cb = engine.require("t").callbacks["grid:request-page"]
    cb(
        {"requestId": "c1:1", "page": 2, "sort": [{"column": "name", "dir": "asc"}]},
        "grid:request-page",
        "t",
    )
    cb({"requestId": "c1:2", "sort": [{"column": "bogus"}]}, "grid:request-page", "t")
    ok, bad = sent(engine, "t")
    assert ok["type"] == "grid:page" and ok["data"]["requestId"] == "c1:1"
    assert [r[0] for r in ok["data"]["rows"]] == ["bob", "carol"] and ok["data"]["page"] == 2
    assert bad["data"] == {"error": "unknown sort column 'bogus'", "requestId": "c1:2"}


def test_export_sends_the_current_view_as_a_download(engine: App) -> None:
    show_dataframe(people(), label="t", filename="people.csv", export_limit=3)
    cb = engine.require("t").callbacks["grid:export"]
    cb(
        {
            "requestId": "x",
            "sort": [{"column": "age", "dir": "desc"}],
            "filter": "oslo",
        },
        "grid:export",
        "t",
    )
    cb({"requestId": "y"}, "grid:export", "t")
    download, refused = sent(engine, "t")
    assert download["type"] == "pywry:download"
    assert download["data"]["filename"] == "people.csv"
    assert download["data"]["content"] == "name,age,city\nbob,30.0,Oslo\ncarol,,Oslo\n"
    assert refused["type"] == "grid:export-error" and refused["data"]["requestId"] == "y"
    assert "export limit of 3" in refused["data"]["error"]


def test_export_defuses_cells_a_spreadsheet_would_run(engine: App) -> None:
    """CSV injection: text starting with = + - @, a tab or a CR reaches the file as text."""
    rows = pd.DataFrame(
        {
            "=HYPERLINK(1)": ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "plain", None],
            "n": [-1, 2, 3, 4, 5, 6, 7],  # numbers stay numbers, signs and all
            "kind": pd.Categorical(["=a", "b", "b", "b", "b", "b", "\rz"]),
        }
    )
    show_dataframe(rows, label="t")
    show_dataframe(rows, label="raw", escape_formulas=False)
    for label in ("t", "raw"):
        engine.require(label).callbacks["grid:export"]({}, "grid:export", label)
    (safe,), (raw,) = sent(engine, "t"), sent(engine, "raw")
    assert safe["data"]["content"].split("\n") == [
        "'=HYPERLINK(1),n,kind",
        "'=1+1,-1,'=a",
        "'+SUM(A1),2,b",
        "'-2+3,3,b",
        "'@cmd,4,b",
        "'\tx,5,b",
        "plain,6,b",
        ",7,'\rz",
        "",
    ]
    assert raw["data"]["content"].startswith("=HYPERLINK(1),n,kind\n=1+1,-1,=a\n")
    assert list(rows.columns)[0] == "=HYPERLINK(1)" and rows.iloc[0, 0] == "=1+1"  # not changed


def test_cell_click_and_row_select_get_rows_from_the_server(engine: App) -> None:
    seen: list[Any] = []
    w = show_dataframe(
        people(),
        label="t",
        callbacks={
            "grid:cell-click": lambda d, e, lbl: seen.append(d),
            "grid:row-select": lambda d, e, lbl: seen.append(d),
        },
    )
    callbacks = engine.require("t").callbacks
    callbacks["grid:cell-click"](
        {"rowIndex": 1, "column": "city", "value": "forged"}, "grid:cell-click", "t"
    )
    callbacks["grid:row-select"]({"rowIndexes": [3, 0]}, "grid:row-select", "t")
    callbacks["grid:cell-click"]({"rowIndex": 99, "column": "city"}, "grid:cell-click", "t")
    assert seen[0] == {
        "row": {"name": "alice", "age": 25.0, "city": "Rome"},
        "column": "city",
        "value": "Rome",
        "rowIndex": 1,
    }
    assert seen[1]["rowIndexes"] == [3, 0] and [r["name"] for r in seen[1]["rows"]] == [
        "dave",
        "bob",
    ]
    assert len(seen) == 2  # a row that does not exist never reaches the callback
    html = engine.page_html(w.label, "")
    assert html is not None
    boot = grid_boot(html)
    assert boot["selectable"] and boot["cellClick"]


def test_system_events_cannot_be_overridden_and_options_are_checked(engine: App) -> None:
    with pytest.raises(ValueError, match="answered by pywry"):
        show_dataframe(people(), callbacks={"grid:request-page": lambda *a: None})
    with pytest.raises(ValueError, match="page_size"):
        show_dataframe(people(), page_size=0)
    with pytest.raises(ValueError, match="filename"):
        show_dataframe(people(), filename="../etc/passwd")
    with pytest.raises(TypeError, match="unexpected keyword"):
        show_dataframe(people(), colour="red")


def test_update_data_replaces_rows_for_everyone(engine: App) -> None:
    w = show_dataframe(people(), label="t")
    w.update_data([{"x": 1}, {"x": 2}])
    (msg,) = sent(engine, "t")
    assert msg["type"] == "grid:reset"
    assert msg["data"] == {"columns": [{"name": "x", "kind": "number"}], "totalRows": 2}
    html = engine.page_html("t", "")
    assert html is not None and grid_boot(html)["first"]["rows"] == [[1], [2]]
    plain = show("<p>x</p>", label="plain")
    assert not hasattr(plain, "update_data")  # only a table's handle offers it
    with pytest.raises(TypeError, match="not a table"):
        TableHandle(engine, "plain").update_data([{"x": 1}])
