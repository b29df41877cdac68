"""Adapter options, page factories and embedding, without a server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pywry.config import PyWrySettings
from pywry.core import protocol as p
from pywry.core.app import App
from pywry.core.apps import Applications
from pywry.core.embed import embed_html
from pywry.core.files import host_file
from pywry.core.navigation import app_url, go_app
from tests.support import run_async


def configure(app: App, **options: object) -> App:
    return app.configure(**options)


@pytest.fixture
def engine() -> App:
    return App(PyWrySettings())


def test_options_are_validated_with_the_bad_value_named(engine: App) -> None:
    with pytest.raises(TypeError, match="allowed_origins"):
        configure(engine, allowed_origins="https://a.example")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="check_origin"):
        configure(engine, check_origin="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_payload_size.*'lots'"):
        configure(engine, max_payload_size="lots")
    with pytest.raises(ValueError, match="reconnect_timeout"):
        configure(engine, reconnect_timeout=-1)
    with pytest.raises(TypeError, match="session_expire_seconds"):
        configure(engine, session_expire_seconds="soon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="static_dir '/no/such/folder'"):
        configure(engine, static_dir="/no/such/folder")
    with pytest.raises(ValueError, match="cdn"):
        configure(engine, cdn="ftp://x")


def test_process_wide_options_reach_the_engine_settings(engine: App) -> None:
    configure(engine, max_payload_size="40K", reconnect_timeout=3, session_expire_seconds=9)
    server = engine.settings.server
    assert server.max_payload_size == 40 * 1024 and server.reconnect_timeout == 3.0
    assert server.session_expire_seconds == 9.0
    configure(engine, cdn="https://cdn.example/plotly.min.js")
    assert engine.settings.server.cdn == "https://cdn.example/plotly.min.js"


def test_origin_policy_is_per_app_and_keeps_the_refusal_order() -> None:
    strict = App(PyWrySettings(), allowed_origins=["https://*.example.com"])
    custom = App(PyWrySettings(), check_origin=lambda origin: origin.endswith(".test"))
    w = strict.add_widget("<p>x</p>", label="chart")
    c = custom.add_widget("<p>x</p>", label="chart")
    host = "127.0.0.1:8000"
    assert strict.admit("chart", w.token, "https://app.example.com", host)[0] is w
    assert strict.admit("chart", w.token, "https://evil.example", host)[1] == p.CLOSE_BAD_ORIGIN
    assert custom.admit("chart", c.token, "http://a.test", host)[0] is c
    assert custom.admit("chart", c.token, "http://a.example.com", host)[1] == p.CLOSE_BAD_ORIGIN
    assert custom.admit("chart", w.token, "http://a.test", host)[1] == p.CLOSE_BAD_TOKEN
    # unknown widget first, then origin, then token
    assert strict.admit("nope", "x", "https://evil.example", host)[1] == p.CLOSE_UNKNOWN_WIDGET
    assert strict.admit("chart", "bad", "https://evil.example", host)[1] == p.CLOSE_BAD_ORIGIN
    assert strict.admit("chart", "bad", "https://a.example.com", host)[1] == p.CLOSE_BAD_TOKEN


def test_host_static_never_leaves_its_folder(engine: App, tmp_path: Path) -> None:
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "a.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "pub" / "link.txt").symlink_to(tmp_path / "secret.txt")
    root = configure(engine, static_dir=tmp_path / "pub").static_dir
    ok = host_file(root, "a.css", None)
    assert ok.status == 200 and ok.body == b"body{}" and ok.content_type.startswith("text/css")
    assert host_file(root, "a.css", ok.headers["ETag"]).status == 304
    for bad in ("../secret.txt", "/etc/passwd", "x/../../secret.txt", "link.txt", "", "a.css\\x"):
        assert host_file(root, bad, None).status == 404, bad
    assert host_file(App(PyWrySettings()).static_dir, "a.css", None).status == 404


def test_applications_are_validated(engine: App) -> None:
    def index() -> str:
        return "x"

    assert Applications(index).names == ["index"]
    assert Applications([index]).names == ["index"]
    with pytest.raises(TypeError, match="'a' is not callable"):
        Applications({"a": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="'bad name'"):
        Applications({"bad name": index})
    with pytest.raises(TypeError, match="apps must be"):
        Applications("index")  # type: ignore[arg-type]


def test_a_visit_runs_the_factory_per_visitor(engine: App) -> None:
    made: list[str] = []

    def report() -> object:
        w = engine.add_widget("<p>r</p>", per_visitor=True)
        made.append(w.label)
        return w

    def broken() -> object:
        raise RuntimeError("boom")

    cfg = configure(engine, apps={"report": report, "broken": broken, "none": lambda: None})
    apps = cfg.apps
    assert apps is not None

    def visit(name: str | None) -> object:
        return run_async(apps.visit(cfg, name, "/pywry", websocket=False))

    index = visit(None)
    assert index.status == 200 and b'href="/pywry/app/report"' in index.body
    first = visit("report")
    second = visit("report")
    labels = [json.loads(re.search(rb'bootstrap">(.*?)</script>', r.body).group(1))["label"]
              for r in (first, second)]  # fmt: skip
    assert labels == made and labels[0] != labels[1]
    assert visit("nope").status == 404
    assert visit("broken").status == 500
    assert visit("none").status == 500
    assert app_url(made[0], "none", app=engine) == "/pywry/app/none"
    seq = go_app("none", widget=made[0], app=engine)
    text = engine.require(made[0]).outbox.since(0)
    assert seq and text and '"url":"/pywry/app/none"' in text[-1]


def test_embed_html_is_an_escaped_iframe(engine: App) -> None:
    engine.add_widget("<p>x</p>", label="chart", title='A "quoted" <title>')
    html = embed_html("chart", "/pywry", app=engine, height="60vh")
    assert html.startswith('<iframe class="pywry-widget" src="/pywry/widget/chart"')
    assert "&quot;quoted&quot; &lt;title&gt;" in html and "height:60vh" in html
    with pytest.raises(ValueError, match="height"):
        embed_html("chart", app=engine, height='1px" onload="x')
    with pytest.raises(ValueError, match="label"):
        embed_html("bad label", app=engine)


def test_get_server_app_serves_page_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient  # noqa: PLC0415

    import pywry.inline as inline  # noqa: PLC0415
    from pywry.core import app as engine_module  # noqa: PLC0415

    previous = engine_module.current_default()
    engine_module.set_default_app(App(PyWrySettings()))
    try:
        app = inline.get_server_app(apps={"report": lambda: inline.show("<p>report</p>")})
        with TestClient(app, base_url="http://localhost") as client:  # a loopback name
            index = client.get("/")
            assert index.status_code == 200 and 'href="/app/report"' in index.text
            one, two = client.get("/app/report"), client.get("/?app=report")
            assert one.status_code == two.status_code == 200 and "<p>report</p>" in one.text
            label = re.search(r'"label":"([^"]+)"', one.text).group(1)  # type: ignore[union-attr]
            assert label not in two.text and engine_module.default_app().get(label).per_visitor
        with pytest.raises(ValueError, match="already"):
            inline.get_server_app(apps={"other": lambda: None})
        # the script run again in the process (reload, workers): the same shape is taken
        assert inline.get_server_app(apps={"report": lambda: inline.show("<p>again</p>")}) is app
        with TestClient(app, base_url="http://localhost") as client:
            assert "<p>again</p>" in client.get("/app/report").text
    finally:
        engine_module.set_default_app(previous)
