"""The boot id pages compare on reconnect: given out only while code reload is on."""

from __future__ import annotations

import json
import re

from pywry.config import PyWrySettings
from pywry.core.app import App


def bootstrap_of(app: App) -> dict:
    app.add_widget("<p>x</p>", label="board")
    html = app.page_html("board", "/base", websocket=True) or ""
    found = re.search(r'id="pywry-bootstrap">(.*?)</script>', html)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_without_reload_no_boot_id_is_given_out() -> None:
    app = App(PyWrySettings())
    assert app.boot is None
    assert app.health(None) == {"status": "ok"}
    assert "boot" not in bootstrap_of(app) and "health" not in bootstrap_of(app)


def test_with_reload_pages_and_health_carry_this_process_boot_id() -> None:
    app = App(PyWrySettings(server={"reload": True}))
    other = App(PyWrySettings(server={"reload": True}))
    assert isinstance(app.boot, str) and app.boot != other.boot
    assert app.health(None) == {"status": "ok", "boot": app.boot}
    boot = bootstrap_of(app)
    assert (boot["boot"], boot["health"]) == (app.boot, "/base/health")
