"""Flask adapter: a blueprint that translates Flask requests into core calls (WSGI, HTTP stream).

    from pywry.adapters.flask import blueprint
    app.register_blueprint(blueprint(), url_prefix="/pywry")

Pages are served with `ws: null`, so the bridge talks over server-sent events and POSTs; a stream
holds one worker thread for at most `sse_timeout` seconds (run gunicorn with `gthread` workers).
The POST routes are exempt from Flask-WTF's CSRF protection: they are protected by the widget
token and the origin check instead. In templates, `{{ pywry_widget(widget) }}` embeds a widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from markupsafe import Markup

from ..core import http, stream
from ..core.adapter import AdapterConfig, configure, embed_html, host_static
from ..core.context import in_request, join_base, request_base, request_websocket

__all__ = ["blueprint", "pywry_widget"]


def _reply(res: http.HttpResponse) -> Response:
    return Response(res.body, res.status, res.headers, content_type=res.content_type)


def _headers() -> Mapping[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def blueprint(name: str = "pywry", *, apps: Any = None, **options: Any) -> Blueprint:
    """The pywry routes as a Flask blueprint; register it with `url_prefix="/pywry"`.

    `apps` are page factories (`pywry.core.apps`); `options` are those of
    `pywry.core.adapter.configure` (allowed_origins, check_origin, reconnect_timeout,
    max_payload_size, session_expire_seconds, cdn, static_dir).
    """
    engine = options.pop("engine", None)
    cfg: AdapterConfig = configure(engine, apps=apps, **options)
    eng = cfg.engine
    bp = Blueprint(name, __name__)
    trust = eng.settings.server.trust_forwarded_prefix
    prefixes: dict[str, str] = {}

    def base(suffix: str) -> str:
        """The base path as the browser sees it: script root + mount prefix (+ proxy prefix)."""
        path = request.path
        mount = path[: len(path) - len(suffix)] if suffix and path.endswith(suffix) else path
        return http.base_from(request.script_root + mount, _headers(), trust)

    @bp.record_once
    def _registered(state: Any) -> None:
        prefix = join_base(state.url_prefix or "")
        prefixes["mount"] = prefix
        eng.default_base = prefix
        app = state.app
        app.extensions.setdefault("pywry", cfg)
        app.jinja_env.globals.setdefault("pywry_widget", pywry_widget)
        csrf = app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(bp)
        else:  # Flask-WTF set up later: exempt before its own check runs

            def exempt_later() -> None:
                late = current_app.extensions.get("csrf")
                if late is not None and not prefixes.get("exempt"):
                    late.exempt(bp)
                    prefixes["exempt"] = "yes"

            app.before_request_funcs.setdefault(None, []).insert(0, exempt_later)

    @bp.before_app_request
    def _mark_request() -> None:
        mount = http.base_from(request.script_root + prefixes.get("mount", ""), _headers(), trust)
        g._pywry_tokens = (
            in_request.set(True),
            request_base.set(mount),
            request_websocket.set(False),  # WSGI: pages use the HTTP stream
        )

    @bp.teardown_app_request
    def _unmark_request(_exc: BaseException | None) -> None:
        tokens = g.pop("_pywry_tokens", None)
        if tokens is not None:
            try:
                in_request.reset(tokens[0])
                request_base.reset(tokens[1])
                request_websocket.reset(tokens[2])
            except ValueError:  # set in another context: nothing to undo here
                pass

    prefix = eng.settings.server.widget_prefix

    @bp.route(prefix + "/<label>", methods=["GET", "HEAD"])
    def page(label: str) -> Response:
        refused = stream.prepare_sync(eng, label)
        if refused is not None:
            return _reply(refused)
        mount = base(f"{prefix}/{label}")
        return _reply(http.page(eng, label, mount, websocket=False))

    @bp.route("/sse/<label>", methods=["GET"])
    def sse(label: str) -> Response:
        res = stream.open_stream_sync(cfg, label, request.args, _headers())
        if isinstance(res, http.HttpResponse):
            return _reply(res)
        reply = Response(res.sync_chunks(), 200, res.headers, content_type=res.content_type)
        reply.direct_passthrough = True
        return reply

    @bp.route("/events/<label>", methods=["POST"])
    def events(label: str) -> Response:
        return _reply(stream.handle_post_sync(cfg, label, _headers(), request.stream.read))

    @bp.route("/disconnect/<label>", methods=["POST"])
    def disconnect(label: str) -> Response:
        return _reply(http.disconnect(eng, label, request.args, _headers()))

    @bp.route("/pywry-static/<name>", methods=["GET", "HEAD"])
    def static(name: str) -> Response:
        return _reply(http.static(eng, name, request.headers.get("If-None-Match")))

    @bp.route("/health", methods=["GET", "HEAD"])
    def health() -> Response:
        return _reply(http.health(eng, _headers()))

    if cfg.static_dir is not None:

        @bp.route("/static/<path:path>", methods=["GET", "HEAD"])
        def host_files(path: str) -> Response:
            return _reply(host_static(cfg, path, request.headers.get("If-None-Match")))

    if cfg.apps is not None:
        apps_set = cfg.apps

        @bp.route("/", methods=["GET"])
        def index() -> Response:
            return _reply(
                apps_set.visit_sync(cfg, request.args.get("app"), base("/"), websocket=False)
            )

        @bp.route("/app/<app_name>", methods=["GET"])
        def application(app_name: str) -> Response:
            mount = base(f"/app/{app_name}")
            return _reply(apps_set.visit_sync(cfg, app_name, mount, websocket=False))

    return bp


def pywry_widget(widget: Any, height: str = "480px", title: str | None = None) -> Markup:
    """An `<iframe>` of a widget page, for Jinja templates: `{{ pywry_widget(widget) }}`."""
    return Markup(embed_html(widget, height=height, title=title))
