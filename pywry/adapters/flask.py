"""Flask: a blueprint that hands its requests to pywry's WSGI app.

    from pywry.adapters.flask import blueprint
    app.register_blueprint(blueprint(), url_prefix="/pywry")

Pages use the HTTP stream (server-sent events and posts); a stream holds one worker thread for
at most `sse_timeout` seconds, so run gunicorn with `gthread` workers. pywry's posts are exempt
from Flask-WTF's CSRF check (the widget token and the origin check protect them). Templates get
`{{ pywry_widget(widget) }}`. `show()` in a Flask view makes a per-visitor widget.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, has_request_context, request
from markupsafe import Markup
from werkzeug.wrappers import Response as WerkzeugResponse

from ..core.app import App, default_app
from ..core.context import RequestInfo
from ..core.embed import embed_html
from ..core.http import base_from, join_base
from ..core.sessions import session_from_cookies

__all__ = ["blueprint", "pywry_widget"]


def blueprint(name: str = "pywry", app: App | None = None, **options: Any) -> Blueprint:
    """pywry's routes as a Flask blueprint; register it with `url_prefix="/pywry"`.

    `options` are those every adapter takes (`pywry.core.options`).
    """
    served = (app or default_app()).configure(**options)
    bp = Blueprint(name, __name__)
    mount = {"prefix": ""}

    def base() -> str:
        headers = {"x-forwarded-prefix": request.headers.get("X-Forwarded-Prefix", "")}
        trust = served.settings.server.trust_forwarded_prefix
        return base_from(request.script_root + mount["prefix"], headers, trust)

    def probe() -> RequestInfo | None:
        if not has_request_context():
            return None
        name = served.settings.deploy.auth_session_cookie
        session = session_from_cookies(request.headers.get("Cookie"), name) or ""
        return RequestInfo(base(), False, session=session)

    @bp.record_once
    def registered(state: Any) -> None:
        mount["prefix"] = served.default_base = join_base(state.url_prefix or "")
        state.app.jinja_env.globals.setdefault("pywry_widget", pywry_widget)
        served.add_probe(probe)
        csrf = state.app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(bp)
            return

        def exempt_later() -> None:  # Flask-WTF set up after the blueprint
            late = current_app.extensions.get("csrf")
            if late is not None and not mount.get("exempt"):
                late.exempt(bp)
                mount["exempt"] = "yes"

        state.app.before_request_funcs.setdefault(None, []).insert(0, exempt_later)

    @bp.route("/", defaults={"rest": ""}, methods=["GET", "HEAD", "POST"])
    @bp.route("/<path:rest>", methods=["GET", "HEAD", "POST"])
    def serve(rest: str) -> WerkzeugResponse:
        environ = dict(request.environ)
        environ["SCRIPT_NAME"] = request.script_root + mount["prefix"]
        environ["PATH_INFO"] = "/" + rest
        environ["wsgi.input"] = request.stream
        reply = WerkzeugResponse.from_app(served.wsgi, environ)
        reply.direct_passthrough = True
        return reply

    return bp


def pywry_widget(widget: Any, height: str = "480px", title: str | None = None) -> Markup:
    """An `<iframe>` of a widget page, for Jinja templates: `{{ pywry_widget(widget) }}`."""
    return Markup(embed_html(widget, height=height, title=title))
