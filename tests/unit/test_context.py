"""Which widgets are per-visitor: decided from where `show()` runs, with no middleware."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import uvloop

from pywry.config import PyWrySettings
from pywry.core.app import App
from pywry.core.context import RequestInfo, handling_request, request_scope


def _import(tmp_path: Path, source: str) -> object:
    path = tmp_path / "visitor_probe_module.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("visitor_probe_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop("visitor_probe_module", None)
    spec.loader.exec_module(module)
    return module


def test_module_body_is_module_level(tmp_path: Path) -> None:
    mod = _import(
        tmp_path,
        "from pywry.core.context import handling_request\n"
        "def later():\n    return handling_request()\n"
        "AT_IMPORT = handling_request()\n",
    )
    assert mod.AT_IMPORT is False  # type: ignore[attr-defined]


def test_worker_thread_is_a_request_and_the_main_thread_is_not() -> None:
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(handling_request()))
    thread.start()
    thread.join()
    assert found == [True]
    assert (lambda: handling_request())() is False  # main thread, no module body: pytest's


def _in_thread(runner: Any, coro: Any) -> Any:
    """Run `coro` with `runner` in a thread of its own (Playwright may hold the main loop)."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(runner(coro)))
    thread.start()
    thread.join(30)
    return out[0]


@pytest.mark.parametrize("runner", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_server_task_is_a_request_and_the_main_task_is_not(runner: object) -> None:
    async def main() -> tuple[bool, bool]:
        in_main = handling_request()

        async def handler() -> bool:
            return handling_request()

        in_task = await asyncio.get_running_loop().create_task(handler())
        return in_main, in_task

    assert _in_thread(runner, main()) == (False, True)


def test_import_inside_a_task_is_module_level(tmp_path: Path) -> None:
    source = "from pywry.core.context import handling_request\nAT_IMPORT = handling_request()\n"

    async def main() -> bool:
        async def loader() -> bool:
            return bool(_import(tmp_path, source).AT_IMPORT)  # type: ignore[attr-defined]

        return await asyncio.get_running_loop().create_task(loader())

    assert _in_thread(asyncio.run, main()) is False


def test_show_decides_from_the_context_and_an_explicit_choice_wins() -> None:
    app = App(PyWrySettings())
    assert app.shows_per_visitor() is False
    with request_scope(app, "/x", True):
        assert app.shows_per_visitor() is True
        assert app.base_path() == "/x"
    other = App(PyWrySettings())
    with request_scope(other, "/y", True):
        assert app.base_path() == "" and other.base_path() == "/y"
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(app.shows_per_visitor()))
    thread.start()
    thread.join()
    assert found == [True]


def test_an_import_during_a_request_is_still_module_level(tmp_path: Path) -> None:
    """Django imports the views (and the widgets they show) on the first request."""
    app = App(PyWrySettings())
    app.add_probe(lambda: RequestInfo("/pywry", False))  # "a request is being handled"
    sys.modules["probe_app"] = app  # type: ignore[assignment]
    try:
        mod = _import(tmp_path, "import probe_app\nAT_IMPORT = probe_app.shows_per_visitor()\n")
        assert mod.AT_IMPORT is False  # type: ignore[attr-defined]
        assert app.shows_per_visitor() is True  # the same request, outside the import
    finally:
        del sys.modules["probe_app"]
