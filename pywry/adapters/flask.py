"""Flask: a blueprint that hands its requests to pywry's WSGI app.

    from pywry.adapters.flask import blueprint, start_server, wsgi_app
    app.register_blueprint(blueprint(), url_prefix="/pywry")
    app = wsgi_app([report, summary])      # page factories at the root, for gunicorn
    start_server([report, summary], port=8080)  # or werkzeug's threaded server, until Ctrl+C

Pages use the HTTP stream (server-sent events and posts); a stream holds one worker thread for
at most `sse_timeout` seconds, so run gunicorn with `gthread` workers. pywry's posts are exempt
from Flask-WTF's CSRF check (the widget token and the origin check protect them). Templates get
`{{ pywry_widget(widget) }}`. `show()` in a Flask view makes a per-visitor widget.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask, current_app, has_request_context, request, session
from markupsafe import Markup
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as WerkzeugResponse

from ..core.app import App, default_app
from ..core.context import RequestInfo
from ..core.embed import embed_html
from ..core.http import Request, base_from, join_base
from ..core.identity import LOGIN_KEY, USER_KEY, ask_identify, end_host_session
from ..core.server import listen, run_socketserver
from ..core.users import User

__all__ = ["blueprint", "pywry_widget", "start_server", "wsgi_app"]


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

    def host_user() -> User | None:
        """Flask-Login's signed-in user, else what `identify=` says of this request."""
        return flask_login_user() or ask_identify(served, request)

    def probe() -> RequestInfo | None:
        if not has_request_context():
            return None
        session = served.session_in(request.headers.get("Cookie")) or ""
        user = None
        if served.access.enabled:  # the host's user, a pywry sign-in, or a bearer token
            headers = {k.lower(): v for k, v in request.headers.items()}
            asked = Request("GET", "/", headers=headers, session=session, user=host_user())
            user = served.access.user_blocking(asked)
        address = request.remote_addr or ""
        return RequestInfo(base(), False, session=session, user=user, address=address)

    @bp.record_once
    def registered(state: Any) -> None:
        mount["prefix"] = served.default_base = join_base(state.url_prefix or "")
        served.threaded_host = True
        state.app.jinja_env.globals.setdefault("pywry_widget", pywry_widget)
        served.add_probe(probe)
        _follow_logouts(state.app, served)
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
        if served.access.enabled:
            environ[USER_KEY] = host_user()
            environ[LOGIN_KEY] = session.get(LOGIN_MARK, "") if flask_login_user() else ""
        reply = WerkzeugResponse.from_app(served.wsgi, environ)
        reply.direct_passthrough = True
        return reply

    return bp


def wsgi_app(applications: Any, *, debug: bool = False, **options: Any) -> Flask:
    """A Flask app serving page factories at its root: a WSGI callable for gunicorn.

    `applications` is a function, a list or a dict (`pywry.core.apps`); `options` are every
    adapter's (`pywry.core.options`). Add routes of your own to it as to any Flask app.
    """
    created = Flask("pywry")
    created.debug = debug
    created.register_blueprint(blueprint(apps=applications, **options))
    return created


def start_server(
    applications: Any,
    port: int = 0,
    host: str = "",
    *,
    debug: bool = False,
    reload: bool | None = None,
    **options: Any,
) -> None:
    """Serve page factories with werkzeug's threaded server until Ctrl+C (blocking).

    Werkzeug's is Flask's own server (`flask run`): one thread per connection, so every open
    event stream holds its own; for production run `wsgi_app()` under `gunicorn -k gthread`.
    `reload` (default `PYWRY_SERVER__RELOAD`) restarts on code changes. The arguments are
    those of `pywry.adapters.fastapi.start_server`.
    """
    created = wsgi_app(applications, debug=debug, **options)
    served = default_app()
    sock = listen(served, host, port, reload_on=reload)
    if sock is None:
        return
    with sock:
        bound_host, bound_port = sock.getsockname()[:2]
        server = make_server(bound_host, bound_port, created, threaded=True, fd=sock.fileno())
    run_socketserver(server, served)


LOGIN_MARK = "_pywry_login"  # in Flask's session: which Flask-Login login a connection came from


def _follow_logouts(flask_app: Any, served: App) -> None:
    """Mark each Flask-Login login in Flask's session; when it logs out, close what it opened.

    Flask's session lives in a cookie, so there is no server-side id to follow: a random mark
    set at login names the login instead.
    """
    try:
        from flask_login import user_logged_in, user_logged_out  # noqa: PLC0415 - optional
    except ImportError:
        return

    def logged_in(sender: Any, **_: Any) -> None:
        if has_request_context():
            session[LOGIN_MARK] = secrets.token_urlsafe(18)

    def logged_out(sender: Any, **_: Any) -> None:
        if has_request_context():
            mark = session.pop(LOGIN_MARK, "")
            end_host_session(served, request.headers.get("Cookie"), mark)

    user_logged_in.connect(logged_in, flask_app, weak=False)
    user_logged_out.connect(logged_out, flask_app, weak=False)


def flask_login_user() -> User | None:
    """Flask-Login's `current_user` as a pywry user (its `roles` attribute, if any, as roles)."""
    if getattr(current_app, "login_manager", None) is None:
        return None
    try:
        from flask_login import current_user  # noqa: PLC0415 - optional
    except ImportError:
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    roles = getattr(current_user, "roles", ()) or ()
    return User(str(current_user.get_id()), frozenset(str(r) for r in roles))


def pywry_widget(widget: Any, height: str = "480px", title: str | None = None) -> Markup:
    """An `<iframe>` of a widget page, for Jinja templates: `{{ pywry_widget(widget) }}`."""
    return Markup(embed_html(widget, height=height, title=title))
