"""The README's runnable snippets work as pasted: each runs as a real process, serves its page,
and stops on Ctrl+C without a traceback.

A snippet is runnable when an HTML comment `<!-- runnable: CHECK ... -->` stands right above its
code block; CHECK is the path to open (`/`) or `stdout` (open the first URL the snippet prints).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, clean_env, ctrl_c, free_port, read_lines, spawn, wait_http

pytestmark = pytest.mark.integration

RUNNABLE = re.compile(r"<!-- runnable: (?P<check>\S+)[^>]*-->\n```python\n(?P<code>.*?)```", re.S)


def runnable_snippets() -> list[tuple[str, str]]:
    """(check, code) of every snippet of README.md marked runnable."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m["check"], m["code"]) for m in RUNNABLE.finditer(text)]


def test_the_readme_marks_its_quickstarts_runnable() -> None:
    firsts = [code.splitlines()[0] for _, code in runnable_snippets()]
    assert firsts == [
        "# examples/deploy_quickstart.py (shortened)",
        "# examples/browser_callbacks.py",
    ]


@pytest.mark.parametrize(("check", "code"), runnable_snippets(), ids=lambda v: v.split("\n")[0])
def test_a_runnable_snippet_works_as_pasted(tmp_path: Path, check: str, code: str) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    port = free_port()
    env = clean_env(
        PYWRY_SERVER__PORT=str(port), PYWRY_SERVER__OPEN_BROWSER="false", PYTHONPATH=str(ROOT)
    )
    proc = spawn([sys.executable, str(script)], env, cwd=tmp_path)
    if check == "stdout":
        (url,) = read_lines(proc, 1)
        (waiting,) = read_lines(proc, 1, stderr=True)  # block() is waiting: Ctrl+C is its to catch
        assert waiting.startswith("pywry: serving 1 widget at ")
    else:
        url = f"http://127.0.0.1:{port}{check}"
        wait_http(f"http://127.0.0.1:{port}/health", proc)
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and 'id="pywry-bootstrap"' in page.text
    status, err = ctrl_c(proc)
    assert status == 0 and "Traceback" not in err, err
