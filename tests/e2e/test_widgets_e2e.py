"""Widgets in a real Chromium: the Full Example, chart clicks, a 1M-row grid, system events,
toolbar escaping, SecretInput isolation and themed screenshots."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support import EXAMPLES, ROOT, Server, clean_env, free_port, run_server

pytestmark = pytest.mark.e2e

SEED_CSV = "quarter,value\nQ1,100\nQ2,150\nQ3,130\nQ4,180"
PLOT = "document.querySelector('.js-plotly-plot')"
PLOTTED_Y = f"Array.from({PLOT}.data[0].y)"
REGION = "select[data-pywry-event='chart:region']"


def start(script: str, tmp_path_factory: pytest.TempPathFactory, **env: str) -> Iterator[Server]:
    port = free_port()
    full = clean_env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), **env)
    with run_server([sys.executable, script], full, port, tmp_path_factory.mktemp("e2e")) as srv:
        yield srv


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """examples/deploy_full_example.py, theme "system" so the browser's scheme decides."""
    yield from start(
        str(EXAMPLES / "deploy_full_example.py"), tmp_path_factory, PYWRY_SERVER__THEME="system"
    )


@pytest.fixture(scope="module")
def widgets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(str(ROOT / "tests" / "apps" / "widgets_app.py"), tmp_path_factory)


def open_chart(page, url: str) -> None:
    page.goto(url)
    page.evaluate("window.pywry.ready")
    page.wait_for_function(f"{PLOT} && {PLOT}._fullLayout && {PLOT}.data.length > 0")


def choose_region(page, value: str, expected: list[int]) -> None:
    page.select_option(REGION, value)
    want = json.dumps(json.dumps(expected, separators=(",", ":")))
    page.wait_for_function(f"JSON.stringify({PLOTTED_Y}) === {want}")


# -- the Full Example ----------------------------------------------------------------------------


def test_region_select_redraws_the_chart_for_this_visitor_only(demo: Server, page, browser) -> None:
    open_chart(page, demo.url + "/")
    choose_region(page, "north", [60, 90, 70, 100])
    choose_region(page, "south", [40, 60, 60, 80])
    tab = page.context.new_page()  # another tab of the same visitor: their choice again
    open_chart(tab, demo.url + "/")
    tab.wait_for_function(f"JSON.stringify({PLOTTED_Y}) === '[40,60,60,80]'")
    assert tab.eval_on_selector(REGION, "s => s.value") == "south"
    stranger = browser.new_context()  # another visitor: the chart everyone starts from
    try:
        other = stranger.new_page()
        open_chart(other, demo.url + "/")
        assert other.evaluate(PLOTTED_Y) == [100, 150, 130, 180]
        assert other.eval_on_selector(REGION, "s => s.value") == "all"
    finally:
        stranger.close()
    choose_region(page, "all", [100, 150, 130, 180])


def test_export_csv_downloads_the_full_examples_file(demo: Server, page) -> None:
    open_chart(page, demo.url + "/")
    if page.evaluate(PLOTTED_Y) != [100, 150, 130, 180]:
        choose_region(page, "all", [100, 150, 130, 180])
    with page.expect_download() as info:
        page.click("button:has-text('Export CSV')")
    download = info.value
    assert download.suggested_filename == "data.csv"
    assert Path(download.path()).read_text() == SEED_CSV


def test_demo_screenshots_in_dark_and_light_theme(demo: Server, page, artifacts: Path) -> None:
    page.set_viewport_size({"width": 1000, "height": 620})
    page.emulate_media(color_scheme="dark")
    open_chart(page, demo.url + "/")
    page.wait_for_function("document.documentElement.dataset.pywryTheme === 'dark'")
    dark_bg = page.evaluate(f"{PLOT}._fullLayout.paper_bgcolor")
    dark = page.screenshot(path=str(artifacts / "demo-dark.png"))
    page.emulate_media(color_scheme="light")  # "system" follows the browser, the chart with it
    page.wait_for_function("document.documentElement.dataset.pywryTheme === 'light'")
    page.wait_for_function(f"{PLOT}._fullLayout.paper_bgcolor !== {dark_bg!r}")
    light = page.screenshot(path=str(artifacts / "demo-light.png"))
    brightness = []
    for shot in (dark, light):
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
        colours = np.unique(pixels.reshape(-1, 3), axis=0)
        assert len(colours) > 50, "screenshot looks blank"
        brightness.append(pixels.mean())
    assert brightness[0] < 100 < brightness[1]


# -- plotly events --------------------------------------------------------------------------------


def test_clicking_a_bar_runs_the_plotly_click_callback(widgets: Server, page) -> None:
    open_chart(page, widgets.url + "/widget/chart")
    bar = page.locator(".js-plotly-plot .bars .point path").nth(1).bounding_box()
    assert bar is not None
    x, y = bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_function(f"({PLOT}._hoverdata || []).length > 0")
    page.mouse.click(x, y)
    page.wait_for_function("document.getElementById('answer').textContent === 'clicked Q2 = 20'")
    page.wait_for_function(f"{PLOT}._fullLayout.title.text === 'last click: Q2'")  # relayout


# -- the million-row grid -------------------------------------------------------------------------


def grid_ready(page, page_no: int) -> None:
    page.wait_for_function(
        "(() => { const g = document.getElementById('pywry-grid');"
        f" return g && g.dataset.state === 'ready' && g.dataset.page === '{page_no}'; }})()"
    )


def grid_column(page, col: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#pywry-grid tbody tr td[data-col='{col}']", "tds => tds.map(td => td.textContent)"
    )


def test_million_row_grid_pages_sorted_on_the_server(widgets: Server, page) -> None:
    html = httpx.get(widgets.url + "/widget/grid").text
    assert len(html.encode()) < 200_000 and "row-0000099" in html and "row-0000100" not in html
    page.goto(widgets.url + "/widget/grid")
    page.evaluate("window.pywry.ready")
    grid_ready(page, 1)
    assert page.get_attribute("#pywry-grid", "data-total") == "1000000"
    page.click("#pywry-grid th[data-col='2'] button")  # score ascending
    page.wait_for_function("document.querySelector(\"th[data-col='2']\").ariaSort === 'ascending'")
    page.click("#pywry-grid th[data-col='2'] button")  # score descending
    grid_ready(page, 1)
    page.wait_for_function("document.querySelector(\"th[data-col='2']\").ariaSort === 'descending'")
    page.click(".pywry-grid-next")
    grid_ready(page, 2)
    page.fill(".pywry-grid-page", "3")
    page.press(".pywry-grid-page", "Enter")
    grid_ready(page, 3)
    ids = np.arange(1_000_000)
    scores = (ids * 7919) % 1_000_003
    expected = np.argsort(-scores, kind="stable")[200:300]
    assert grid_column(page, 0) == [str(i) for i in expected]
    assert grid_column(page, 2) == [str(s) for s in scores[expected]]
    assert grid_column(page, 1)[0] == f"row-{expected[0]:07d}"


def test_grid_filter_cell_click_selection_and_export(widgets: Server, page) -> None:
    page.goto(widgets.url + "/widget/grid")
    page.evaluate("window.pywry.ready")
    grid_ready(page, 1)
    page.fill(".pywry-grid-filter", "row-000123")
    page.wait_for_function("document.getElementById('pywry-grid').dataset.total === '10'")
    grid_ready(page, 1)
    assert grid_column(page, 1) == [f"row-000123{i}" for i in range(10)]
    page.click("#pywry-grid tbody tr:nth-child(2) td[data-col='1']")
    page.wait_for_function("window.pywryTest.cells.length === 1")
    cell = page.evaluate("window.pywryTest.cells[0]")
    assert cell["rowIndex"] == 1231 and cell["column"] == "name" and cell["value"] == "row-0001231"
    assert cell["row"]["score"] == (1231 * 7919) % 1_000_003
    page.check("#pywry-grid tbody tr:nth-child(1) .pywry-grid-check")
    page.check("#pywry-grid tbody tr:nth-child(3) .pywry-grid-check")
    page.wait_for_function("window.pywryTest.selections.length === 2")
    assert page.evaluate("window.pywryTest.selections[1]") == {"count": 2, "ids": [1230, 1232]}
    with page.expect_download() as info:
        page.click(".pywry-grid-export")
    assert info.value.suggested_filename == "rows.csv"
    lines = Path(info.value.path()).read_text().splitlines()
    assert lines[0] == "id,name,score,group" and len(lines) == 11
    assert lines[1] == f"1230,row-0001230,{(1230 * 7919) % 1_000_003},gamma"
    page.fill(".pywry-grid-filter", "")  # all rows: more than the app's export limit
    page.wait_for_function("document.getElementById('pywry-grid').dataset.total === '1000000'")
    page.click(".pywry-grid-export")
    page.wait_for_function(
        "document.querySelector('.pywry-grid-status').textContent.startsWith('Export failed')"
    )


# -- system events, escaping, secrets -------------------------------------------------------------


def test_alert_appears_and_goes_away_after_its_duration(widgets: Server, page) -> None:
    page.goto(widgets.url + "/widget/alerts")
    page.evaluate("window.pywry.ready")
    page.click("#toast")
    toast = page.locator(".pywry-toast-success")
    toast.wait_for(state="visible")
    assert toast.text_content() == "Saved!"
    toast.wait_for(state="detached", timeout=5000)


def test_a_toolbar_label_with_script_does_not_run(widgets: Server, page) -> None:
    page.goto(widgets.url + "/widget/xss")
    page.evaluate("window.pywry.ready")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__pwned") is None
    assert "<script>" in page.text_content("#evil-button")
    assert page.locator("#pywry-root img").count() == 0


def test_a_secret_stays_on_the_server_and_with_its_widget(widgets: Server, browser) -> None:
    secret = "s3cr3t-value-0123456789"
    ctx = browser.new_context()
    try:
        a, b = ctx.new_page(), ctx.new_page()
        a.goto(widgets.url + "/widget/secret-a")
        a.evaluate("window.pywry.ready")
        a.fill("#api-key", secret)
        a.press("#api-key", "Enter")
        a.locator("#api-key").blur()
        a.wait_for_function("document.getElementById('out').textContent === 'hasValue true'")
        assert a.input_value("#api-key") == ""
        a.click("#check")
        a.wait_for_function(
            "document.getElementById('out').textContent === "
            "\"secret of 23 chars; callback saw ['componentId', 'hasValue']\""
        )
        assert secret not in a.content()
        for label in ("secret-a", "secret-b"):
            assert secret not in httpx.get(f"{widgets.url}/widget/{label}").text
        b.goto(widgets.url + "/widget/secret-b")
        b.evaluate("window.pywry.ready")
        b.click("#check")
        b.wait_for_function("document.getElementById('out').textContent.startsWith('no secret')")
        assert secret not in b.content()
    finally:
        ctx.close()
