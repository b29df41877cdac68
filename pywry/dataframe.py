"""Tables with server-side paging, sorting and filtering: the browser never holds the frame.

    from pywry.inline import show_dataframe
    w = show_dataframe(df, title="Trades", page_size=100,
                       callbacks={"grid:cell-click": on_cell, "grid:row-select": on_rows})

`show_dataframe` returns a `TableHandle`: a `WidgetHandle` with `update_data`. The page gets
the first page embedded; `grid.js` asks for others over the bridge:

    page -> Python  grid:request-page {requestId, page (1-based), pageSize,
                                       sort: [{column, dir: "asc"|"desc"}, ...],
                                       filter: "text" | {"text": "...", "columns": {col: "..."}}}
    Python -> page  grid:page {requestId, rows: [[...], ...], index: [row positions], page,
                               pageSize, pages, total (after filtering), totalRows, sort, filter}

The answer goes to the asking page only (its own stream), as every reply does. The row order of each
(sort, filter) pair is cached (a bounded LRU), so turning pages of a sorted million-row frame
only slices an index. A column filter on a numeric column may start with `>`, `>=`, `<`, `<=`,
`=` or `!=`; other filters match case-insensitive substrings of the shown text.

Callbacks get data resolved on the server from the row positions the page sends:
`grid:cell-click` -> `{"row": {col: value}, "column": col, "value": v, "rowIndex": i}` and
`grid:row-select` -> `{"rows": [{col: value}, ...], "rowIndexes": [i, ...]}`. The grid's
"Export CSV" button sends `grid:export`; the server answers with `pywry:download` of the rows
in the current sort and filter (`filename`, default `data.csv`). A text cell or header that a
spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
return) is exported with a leading `'`, unless `show_dataframe(escape_formulas=False)`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._register import Toolbars, register_widget
from .core.app import App, default_app
from .core.events import current_event
from .core.kinds import WidgetKind, register_kind
from .core.page import script_json
from .core.widgets import Callback, Widget
from .extras import need
from .handle import WidgetHandle, rerender

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TABLE", "GridSource", "TableHandle", "show_dataframe", "to_frame"]

log = logging.getLogger("pywry")

#: Page -> Python events pywry answers itself; a user callback for one is refused.
SYSTEM_EVENTS = ("grid:request-page", "grid:export")
#: Page -> Python events a user callback gets, with rows resolved on the server.
ROW_EVENTS = ("grid:cell-click", "grid:row-select")
#: Python -> page events `pywry/static/grid.js` applies.
GRID_UPDATES = ("grid:page", "grid:reset", "grid:export-error")
MAX_PAGE_SIZE = 1000
MAX_SORT_COLUMNS = 8
MAX_FILTER_LENGTH = 500
MAX_SELECTED_ROWS = 10000
DEFAULT_CACHE = 8
_OP_RE = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(.+?)\s*$")
_FILL_CSS = "<style>html,body{height:100%}.pywry-root{height:100%}</style>"
#: What a spreadsheet takes for the start of a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _pd() -> Any:
    return need("pandas", "show_dataframe", "pandas")


def to_frame(data: Any) -> pd.DataFrame:
    """A DataFrame with a 0..n-1 RangeIndex and unique string column names (not copied if so)."""
    pd = _pd()
    if isinstance(data, pd.DataFrame):
        df = data
    elif isinstance(data, dict):
        df = pd.DataFrame(data)
    elif isinstance(data, (list, tuple)):
        if not all(isinstance(row, dict) for row in data):
            raise TypeError("a list given to show_dataframe must hold row dicts")
        df = pd.DataFrame.from_records(list(data)) if data else pd.DataFrame()
    else:
        raise TypeError(
            "data must be a pandas DataFrame, a list of row dicts or a dict of columns, "
            f"not {type(data).__name__}"
        )
    index = df.index
    default_index = (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )
    if not default_index:
        df = df.reset_index()
    names = [" / ".join(str(p) for p in c) if isinstance(c, tuple) else str(c) for c in df.columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"column name {name!r} appears more than once")
        seen.add(name)
    if names != list(df.columns):
        df = df.set_axis(names, axis=1)
    return df


def _kind(series: pd.Series) -> str:
    api = _pd().api.types
    if api.is_bool_dtype(series.dtype):
        return "boolean"
    if api.is_numeric_dtype(series.dtype):
        return "number"
    if api.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "string"


def cell(value: Any) -> Any:
    """One value as JSON: None for missing, ISO text for dates, str for anything exotic."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return cell(item())
        except (TypeError, ValueError):
            pass
    pd = _pd()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _text(value: Any) -> str:
    """The text a visitor sees for a value (what a filter matches)."""
    v = cell(value)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def _number(text: str) -> float | None:
    try:
        n = float(text)
    except ValueError:
        return None
    return n if math.isfinite(n) else None


class GridSource:
    """A frame held on the server that answers page requests from cached row orders."""

    def __init__(self, data: Any, page_size: int = 100, cache_size: int = DEFAULT_CACHE) -> None:
        self.df = to_frame(data)
        self.columns: list[str] = list(self.df.columns)
        self.kinds: list[str] = [_kind(self.df[c]) for c in self.columns]
        self.page_size = page_size
        self.cache_size = cache_size
        self._codes: dict[str, tuple[np.ndarray, int]] = {}
        self._texts: dict[str, np.ndarray] = {}
        self._uniques: dict[str, Any] = {}
        self._orders: OrderedDict[tuple[Any, ...], np.ndarray | None] = OrderedDict()
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.df)

    @property
    def column_meta(self) -> list[dict[str, str]]:
        """`[{"name", "kind"}]` for the page (`kind`: number, string, boolean, datetime)."""
        return [{"name": n, "kind": k} for n, k in zip(self.columns, self.kinds, strict=True)]

    # -- validation ------------------------------------------------------------------------------
    def check_sort(self, sort: Any) -> tuple[tuple[str, bool], ...]:
        """`[{column, dir}]` as `((column, descending), ...)`; ValueError naming a bad entry."""
        if sort in (None, ""):
            return ()
        if not isinstance(sort, list) or len(sort) > MAX_SORT_COLUMNS:
            raise ValueError(f"sort must be a list of at most {MAX_SORT_COLUMNS} entries")
        out: list[tuple[str, bool]] = []
        for entry in sort:
            if not isinstance(entry, dict):
                raise ValueError(f"sort entry {entry!r} must be {{column, dir}}")
            column, direction = entry.get("column"), entry.get("dir", "asc")
            if column not in self.columns:
                raise ValueError(f"unknown sort column {column!r}")
            if direction not in ("asc", "desc"):
                raise ValueError(f"sort dir {direction!r} must be 'asc' or 'desc'")
            if any(c == column for c, _ in out):
                continue
            out.append((column, direction == "desc"))
        return tuple(out)

    def check_filter(self, filt: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
        """A filter (text, or `{text, columns}`) as `(text, ((column, text), ...))`."""
        if filt in (None, ""):
            return "", ()
        text: Any
        columns: Any
        if isinstance(filt, str):
            text, columns = filt, {}
        elif isinstance(filt, dict):
            text, columns = filt.get("text") or "", filt.get("columns") or {}
        else:
            raise ValueError("filter must be a string or {text, columns}")
        if not isinstance(text, str) or not isinstance(columns, dict):
            raise ValueError("filter must be a string or {text, columns}")
        pairs: list[tuple[str, str]] = []
        for column, value in columns.items():
            if column not in self.columns:
                raise ValueError(f"unknown filter column {column!r}")
            if not isinstance(value, str):
                raise ValueError(f"filter for column {column!r} must be a string")
            if value.strip():
                pairs.append((column, value.strip()))
        total = len(text) + sum(len(v) for _, v in pairs)
        if total > MAX_FILTER_LENGTH:
            raise ValueError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
        return text.strip().lower(), tuple(sorted(pairs))

    # -- row orders ------------------------------------------------------------------------------
    def _factorized(self, column: str) -> tuple[np.ndarray, int]:
        """Dense sort ranks of a column (missing = -1) and the number of distinct values."""
        with self._lock:
            hit = self._codes.get(column)
        if hit is not None:
            return hit
        import numpy as np  # noqa: PLC0415 - optional dependency

        pd = _pd()
        series = self.df[column]
        try:
            codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
        except TypeError:  # mixed types cannot be ordered: order their text instead
            texts = series.map(_text)
            codes, uniques = pd.factorize(texts, sort=True, use_na_sentinel=True)
            codes = np.where(series.isna().to_numpy(), -1, codes)
        dtype = np.int32 if len(uniques) < 2**31 - 1 else np.int64
        out = (np.asarray(codes).astype(dtype, copy=False), len(uniques))
        with self._lock:
            self._codes[column] = out
            self._texts.pop(column, None)
            self._uniques[column] = uniques
        return out

    def _sort_key(self, column: str, descending: bool) -> np.ndarray:
        import numpy as np  # noqa: PLC0415 - optional dependency

        codes, n = self._factorized(column)
        key = (n - 1 - codes) if descending else codes.copy()
        key[codes < 0] = n  # missing values last in both directions
        return np.asarray(key)

    def _texts_of(self, column: str) -> np.ndarray:
        """Lower-case shown text of each distinct value of a column (for filters)."""
        with self._lock:
            hit = self._texts.get(column)
        if hit is not None:
            return hit
        import numpy as np  # noqa: PLC0415 - optional dependency

        self._factorized(column)
        uniques = self._uniques[column]
        api = _pd().api.types
        if api.is_integer_dtype(uniques.dtype) and not api.is_bool_dtype(uniques.dtype):
            texts = np.asarray(uniques.astype(str), dtype=object)
        elif api.is_string_dtype(uniques.dtype) and uniques.inferred_type == "string":
            texts = np.asarray(uniques.str.lower(), dtype=object)
        else:
            texts = np.array([_text(v).lower() for v in uniques], dtype=object)
        with self._lock:
            self._texts[column] = texts
        return texts

    def _match_text(self, column: str, needle: str) -> np.ndarray:
        import numpy as np  # noqa: PLC0415 - optional dependency

        pd = _pd()
        codes, n = self._factorized(column)
        texts = self._texts_of(column)
        hits = pd.Series(texts, dtype=object).str.contains(needle, regex=False).to_numpy(bool)
        hits = np.append(hits, False)  # code -1 (missing) indexes this last slot
        return hits[codes]

    def _match_column(self, column: str, text: str, kind: str) -> np.ndarray:
        import numpy as np  # noqa: PLC0415 - optional dependency

        m = _OP_RE.match(text)
        if kind == "number" and m is not None and _number(m.group(2)) is not None:
            op, target = m.group(1), _number(m.group(2))
            values = self.df[column].to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if op == ">":
                    return values > target
                if op == ">=":
                    return values >= target
                if op == "<":
                    return values < target
                if op == "<=":
                    return values <= target
                if op == "!=":
                    return ~(values == target) & ~np.isnan(values)
                return values == target
        if kind == "number" and _number(text) is not None:
            values = self.df[column].to_numpy(dtype=float, na_value=np.nan)
            return values == _number(text)
        return self._match_text(column, text.lower())

    def _filter_mask(self, text: str, columns: tuple[tuple[str, str], ...]) -> np.ndarray | None:
        import numpy as np  # noqa: PLC0415 - optional dependency

        mask: np.ndarray | None = None
        if text:
            any_col = np.zeros(len(self.df), dtype=bool)
            for column in self.columns:
                any_col |= self._match_text(column, text)
            mask = any_col
        for column, value in columns:
            hit = self._match_column(column, value, self.kinds[self.columns.index(column)])
            mask = hit if mask is None else (mask & hit)
        return mask

    def order(self, sort: Any = None, filt: Any = None) -> np.ndarray | None:
        """Row positions in view order for (sort, filter); None means all rows, unsorted."""
        import numpy as np  # noqa: PLC0415 - optional dependency

        skey, fkey = self.check_sort(sort), self.check_filter(filt)
        key = (skey, fkey)
        if not skey and fkey == ("", ()):
            return None
        with self._lock:
            if key in self._orders:
                self._orders.move_to_end(key)
                return self._orders[key]
        mask = self._filter_mask(*fkey)
        positions = None if mask is None else np.flatnonzero(mask).astype(np.int64)
        if skey:
            keys = [self._sort_key(c, desc) for c, desc in reversed(skey)]
            if positions is not None:
                keys = [k[positions] for k in keys]
            if len(keys) == 1:
                idx = np.argsort(keys[0], kind="stable")
            else:
                idx = np.lexsort(keys)
            positions = idx.astype(np.int64) if positions is None else positions[idx]
        with self._lock:
            self._orders[key] = positions
            self._orders.move_to_end(key)
            while len(self._orders) > self.cache_size:
                self._orders.popitem(last=False)
        return positions

    # -- rows ------------------------------------------------------------------------------------
    def rows(self, positions: Any) -> list[list[Any]]:
        """The rows at `positions` as lists of JSON values, in column order."""
        part = self.df.take(positions)
        columns = [[cell(v) for v in part[c].tolist()] for c in self.columns]
        return (
            [list(r) for r in zip(*columns, strict=True)]
            if columns
            else [[] for _ in range(len(part))]
        )

    def row_dicts(self, positions: list[int]) -> list[dict[str, Any]]:
        """The rows at `positions` as `{column: value}`."""
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows(positions)]

    def check_positions(self, value: Any, limit: int = MAX_SELECTED_ROWS) -> list[int]:
        """Row positions sent by a page, checked to exist."""
        items = value if isinstance(value, list) else [value]
        if len(items) > limit:
            raise ValueError(f"at most {limit} rows can be selected at once")
        n = len(self.df)
        out: list[int] = []
        for i in items:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
                raise ValueError(f"row index {i!r} is not a row of this table")
            out.append(i)
        return out

    def page(
        self,
        page: Any = 1,
        page_size: Any = None,
        sort: Any = None,
        filt: Any = None,
    ) -> dict[str, Any]:
        """One page of the view: rows, their positions and the counts the pager shows."""
        import numpy as np  # noqa: PLC0415 - optional dependency

        size = self.page_size if page_size is None else page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"pageSize {size!r} must be a whole number from 1 to {MAX_PAGE_SIZE}")
        if isinstance(page, bool) or not isinstance(page, int):
            raise ValueError(f"page {page!r} must be a whole number (1 is the first page)")
        order = self.order(sort, filt)
        total = len(self.df) if order is None else len(order)
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        start, stop = (page - 1) * size, min(page * size, total)
        positions = np.arange(start, stop) if order is None else order[start:stop]
        return {
            "rows": self.rows(positions),
            "index": positions.tolist(),
            "page": page,
            "pageSize": size,
            "pages": pages,
            "total": total,
            "totalRows": len(self.df),
            "sort": [
                {"column": c, "dir": "desc" if d else "asc"} for c, d in self.check_sort(sort)
            ],
            "filter": filt if isinstance(filt, (str, dict)) else "",
        }

    def csv(
        self,
        sort: Any = None,
        filt: Any = None,
        limit: int | None = None,
        *,
        escape_formulas: bool = True,
    ) -> str:
        """The rows of the view as CSV text (header first); ValueError past `limit` rows.

        With `escape_formulas`, text that a spreadsheet would run as a formula gets a leading
        `'` (`defuse`), so opening an export never runs what a visitor typed into the data.
        """
        order = self.order(sort, filt)
        total = len(self.df) if order is None else len(order)
        if limit is not None and total > limit:
            raise ValueError(
                f"{total} rows are more than the export limit of {limit}; filter the table first"
            )
        frame = self.df if order is None else self.df.take(order)
        if escape_formulas:
            frame = _defused(frame)
        return str(frame.to_csv(index=False, lineterminator="\n"))


def defuse(value: Any) -> Any:
    """`value` with a leading `'` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _defused(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (not changed) with its text columns and headers passed through `defuse`."""
    texts = {
        str(name): frame[name].map(defuse)
        for name in frame.columns
        if frame[name].dtype.kind in "OSU"  # object, string and categorical columns
    }
    out = frame.assign(**texts) if texts else frame.copy(deep=False)
    out.columns = [defuse(name) for name in out.columns]
    return out


# --------------------------------------------------------------------------- widget


def _source(engine: App, label: str) -> tuple[Widget, GridSource] | None:
    widget = engine.get(label)
    source = widget.state.get("grid") if widget is not None else None
    if widget is None or not isinstance(source, GridSource):
        return None
    return widget, source


def _request_id(data: Any) -> Any:
    rid = data.get("requestId") if isinstance(data, dict) else None
    return rid if isinstance(rid, (str, int)) and not isinstance(rid, bool) else None


#: Answers a system event of a table: (engine, the widget, its rows, the event's data).
_TableAnswer = Callable[[App, Widget, GridSource, Any], None]


def _on_table(engine: App, answer: _TableAnswer) -> Callback:
    """The callback that runs `answer` for an event of a table widget (others are ignored)."""

    def on_table_event(data: Any, event_type: str, label: str) -> None:
        found = _source(engine, label)
        if found is not None:
            answer(engine, *found, data)

    return on_table_event


def _send_page(engine: App, widget: Widget, source: GridSource, data: Any) -> None:
    """`grid:request-page`: answer with `grid:page` (or its error) for the asking page."""
    answer: dict[str, Any]
    try:
        if not isinstance(data, dict):
            raise ValueError("grid:request-page data must be an object")
        answer = source.page(
            data.get("page", 1), data.get("pageSize"), data.get("sort"), data.get("filter")
        )
    except ValueError as exc:
        answer = {"error": str(exc)}
    answer["requestId"] = _request_id(data)
    engine.emit_to(widget, "grid:page", answer)


def _send_export(engine: App, widget: Widget, source: GridSource, data: Any) -> None:
    """`grid:export`: the view as CSV in `pywry:download`, or `grid:export-error`.

    Exports are the largest messages a page can ask for: each page (and each address) may ask
    only so often (`MAX_EXPORTS_PER_MINUTE`), and the answer says when to try again.
    """
    data = data if isinstance(data, dict) else {}
    ev = current_event()
    if ev is not None:
        refusal = engine.limits.export(ev.address, widget.label, ev.client)
        if refusal is not None:
            failure = {
                "requestId": _request_id(data),
                "error": refusal.detail,
                "retryAfter": refusal.retry_after,
            }
            engine.emit_to(widget, "grid:export-error", failure)
            return
    try:
        content = source.csv(
            data.get("sort"),
            data.get("filter"),
            widget.state["export_limit"],
            escape_formulas=widget.state.get("escape_formulas", True),
        )
    except ValueError as exc:
        failure = {"requestId": _request_id(data), "error": str(exc)}
        engine.emit_to(widget, "grid:export-error", failure)
        return
    download = {
        "filename": widget.state["filename"],
        "content": content,
        "mimeType": "text/csv;charset=utf-8",
    }
    engine.emit_to(widget, "pywry:download", download)


def _resolving(engine: App, user: Callback, resolve: Callable[[GridSource, Any], Any]) -> Callback:
    """Wrap `user` so it gets rows looked up on the server, not whatever the page claimed."""

    def wrapper(data: Any, event_type: str, label: str, *rest: Any) -> Any:
        found = _source(engine, label)
        if found is None:
            return None
        try:
            clean = resolve(found[1], data)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignored %s on widget %r: %s", event_type, label, exc)
            return None
        return engine.dispatcher.forward(user, clean, event_type, label, rest)

    return wrapper


def _resolve_cell(source: GridSource, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("grid:cell-click data must be an object")
    (index,) = source.check_positions(data.get("rowIndex"), 1)
    column = data.get("column")
    if column not in source.columns:
        raise ValueError(f"unknown column {column!r}")
    (row,) = source.row_dicts([index])
    return {"row": row, "column": column, "value": row[column], "rowIndex": index}


def _resolve_rows(source: GridSource, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("grid:row-select data must be an object")
    indexes = source.check_positions(data.get("rowIndexes", []))
    return {"rows": source.row_dicts(indexes), "rowIndexes": indexes}


def _grid_callbacks(engine: App, callbacks: dict[str, Callback] | None) -> dict[str, Callback]:
    out = dict(callbacks or {})
    TABLE.refuse_answered(out)
    catch_all = out.get("*")
    for name, resolve in zip(ROW_EVENTS, (_resolve_cell, _resolve_rows), strict=True):
        user = out.get(name) or catch_all
        if user is not None:
            if not callable(user):
                raise TypeError(f"callback for {name!r} is not callable: {user!r}")
            out[name] = _resolving(engine, user, resolve)
    out["grid:request-page"] = _on_table(engine, _send_page)
    out["grid:export"] = _on_table(engine, _send_export)
    return out


def _body(source: GridSource, state: dict[str, Any]) -> str:
    boot = {
        "columns": source.column_meta,
        "first": source.page(1, source.page_size),
        "pageSize": source.page_size,
        "filename": state["filename"],
        "columnFilters": state["column_filters"],
        "selectable": state["selectable"],
        "cellClick": state["cell_click"],
    }
    return (
        '<div class="pywry-grid" id="pywry-grid"></div>'
        f'<script type="application/json" id="pywry-grid-data">{script_json(boot)}</script>'
        "<script>window.pywryGrid&&window.pywryGrid.mount();</script>"
    )


def _head(app: App) -> str:
    """Fill-the-page CSS and the grid's stylesheet and script."""
    return _FILL_CSS + app.assets.tag("grid.css") + app.assets.tag("grid.js")


class TableHandle(WidgetHandle):
    """The handle of a table: a `WidgetHandle` that can also replace the rows."""

    def update_data(self, data: Any) -> int | None:
        """Replace the rows (a DataFrame, row dicts or a dict of columns) for every page.

        Every page reloads its current view (`grid:reset`), also when called in a callback (a
        table's rows are the same for everyone); pages opened later show the new rows.
        """
        widget = self.widget
        old = widget.state.get("grid")
        if widget.kind != TABLE.name or not isinstance(old, GridSource):
            raise TypeError(f"widget {widget.label!r} is not a table (kind {widget.kind!r})")
        source = GridSource(data, old.page_size, old.cache_size)
        with widget.lock:
            widget.state["grid"] = source
            widget.state["body"] = _body(source, widget.state)
            rerender(widget)
            return self._engine.send(
                widget,
                "grid:reset",
                {"columns": source.column_meta, "totalRows": len(source)},
                None,
            )


#: The table kind: grid.js and grid.css in the head, its events, `TableHandle`.
TABLE: WidgetKind[TableHandle] = register_kind(
    WidgetKind(
        name="dataframe",
        handle=TableHandle,
        head=_head,
        system_events=frozenset(SYSTEM_EVENTS + ROW_EVENTS + GRID_UPDATES),
        answered_events=frozenset(SYSTEM_EVENTS),
    )
)


def show_dataframe(
    df: Any,
    title: str = "PyWry",
    callbacks: dict[str, Callback] | None = None,
    toolbars: Toolbars = None,
    page_size: int = 100,
    label: str | None = None,
    engine: App | None = None,
    *,
    theme: str | None = None,
    filename: str = "data.csv",
    column_filters: bool = True,
    export_limit: int = 1_000_000,
    escape_formulas: bool = True,
    head: str = "",
    per_visitor: bool | None = None,
) -> TableHandle:
    """Register a table widget (server-side paging, sorting, filtering, CSV export).

    `df` is a pandas DataFrame (not copied: do not change it while it is shown), a list of row
    dicts or a dict of columns. `filename` names the CSV export, `column_filters` adds a filter
    box per column, `export_limit` is the most rows one export may hold, `escape_formulas=False`
    exports text starting with `= + - @` as it is (by default it gets a leading `'`); `theme`,
    `head`, `per_visitor` and the rest are those of `pywry.inline.show`.
    """
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise TypeError(f"page_size must be a whole number, not {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size {page_size} must be from 1 to {MAX_PAGE_SIZE}")
    if not isinstance(filename, str) or not filename or re.search(r"[/\\\x00]", filename):
        raise ValueError(f"filename {filename!r} must be a plain file name")
    if isinstance(export_limit, bool) or not isinstance(export_limit, int) or export_limit < 1:
        raise ValueError(f"export_limit {export_limit!r} must be a positive whole number")
    eng = engine or default_app()
    source = GridSource(df, page_size)
    cbs = callbacks or {}
    state: dict[str, Any] = {
        "grid": source,
        "filename": filename,
        "export_limit": export_limit,
        "escape_formulas": bool(escape_formulas),
        "column_filters": bool(column_filters),
        "selectable": "grid:row-select" in cbs or "*" in cbs,
        "cell_click": "grid:cell-click" in cbs or "*" in cbs,
    }
    return register_widget(
        _body(source, state),
        kind=TABLE,
        state=state,
        callbacks=_grid_callbacks(eng, callbacks),
        title=title,
        toolbars=toolbars,
        label=label,
        engine=eng,
        theme=theme,
        head=head,
        per_visitor=per_visitor,
    )
