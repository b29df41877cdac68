"""A feature whose optional extra is missing says which extra to install (as a new user sees it:
a real interpreter in which the extra's package cannot be imported)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT, clean_env

CASES = {
    "browser mode": (
        "uvicorn",
        "from pywry import PyWry, WindowMode\n"
        "PyWry(mode=WindowMode.BROWSER, open_browser=False).show('<p>x</p>')",
        "(browser mode or deploy()) needs the fastapi extra: pip install 'pywry-server[fastapi]'",
    ),
    "redis backend": (
        "redis",
        "import os; os.environ['PYWRY_DEPLOY__STATE_BACKEND'] = 'redis'\n"
        "from pywry.inline import get_server_app; get_server_app()",
        "STATE_BACKEND=redis needs the redis extra: pip install 'pywry-server[redis]'",
    ),
    "plotly": (
        "plotly",
        "from pywry.inline import show_plotly, get_widget_html\n"
        "get_widget_html(show_plotly({'data': [], 'layout': {}}).label)",
        "plotly.js is not available to serve: pip install 'pywry-server[plotly]'",
    ),
    "pandas": (
        "pandas",
        "from pywry.inline import show_dataframe; show_dataframe({'a': [1]})",
        "show_dataframe needs the pandas extra: pip install 'pywry-server[pandas]'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_missing_extra_names_the_install_command(case: str) -> None:
    module, code, said = CASES[case]
    script = f"import sys\nsys.modules[{module!r}] = None  # not installed\n{code}\n"
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=clean_env(PYTHONPATH=str(ROOT), PYWRY_SERVER__PORT="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert said in out.stderr, out.stderr[-2000:]
