"""Django without a project: `wsgi_app(applications)` for gunicorn, `start_server(...)`.

Both configure Django's settings for a site that is nothing but pywry's routes at the root
(`standalone` URLconf, `PYWRY` holding the applications and options), so they must be the
first to configure Django in the process; a project of your own includes
`pywry.adapters.django.urls` instead.
"""

from __future__ import annotations

import secrets
import socket
from typing import Any

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from ...core.options import OPTION_NAMES
from ...core.server import adopt, listen, run_socketserver
from .conf import get_app

__all__ = ["start_server", "wsgi_app"]

STANDALONE_URLCONF = "pywry.adapters.django.standalone"


def wsgi_app(applications: Any, *, debug: bool = False, **django_options: Any) -> WSGIHandler:
    """Django's WSGI application serving page factories at the root: a callable for gunicorn.

    `applications` is a function, a list or a dict (`pywry.core.apps`). Keyword arguments that
    are adapter options (`pywry.core.options`) go to `PYWRY`; the others are more Django
    settings (`DEBUG`, `ALLOWED_HOSTS`, `ROOT_URLCONF` and `SECRET_KEY` are set here).
    """
    if settings.configured:
        raise ImproperlyConfigured(
            "Django's settings are configured already: include pywry.adapters.django.urls in "
            "your project (with PYWRY = {'apps': ...}) instead of calling wsgi_app()"
        )
    pywry = {k: v for k, v in django_options.items() if k in OPTION_NAMES}
    extra = {k: v for k, v in django_options.items() if k not in OPTION_NAMES}
    settings.configure(
        DEBUG=debug,
        ALLOWED_HOSTS=["*"],  # pywry checks the origin of every socket, stream and post
        ROOT_URLCONF=STANDALONE_URLCONF,
        SECRET_KEY=secrets.token_urlsafe(32),  # no Django sessions or CSRF tokens to sign
        INSTALLED_APPS=["pywry.adapters.django"],
        MIDDLEWARE=[],
        PYWRY={**pywry, "apps": applications},
        **extra,
    )
    django.setup(set_prefix=False)
    return get_wsgi_application()


def start_server(
    applications: Any,
    port: int = 0,
    host: str = "",
    *,
    debug: bool = False,
    reload: bool | None = None,
    **django_options: Any,
) -> None:
    """Serve page factories with Django's threaded server (`runserver`'s) until Ctrl+C.

    One thread per connection, so every open event stream holds its own; for production run
    `wsgi_app()` under `gunicorn -k gthread`. `reload` (default `PYWRY_SERVER__RELOAD`)
    restarts on code changes. The arguments are those of `wsgi_app` and
    `pywry.adapters.fastapi.start_server`.
    """
    handler = wsgi_app(applications, debug=debug, **django_options)
    served = get_app()
    sock = listen(served, host, port, reload_on=reload)
    if sock is None:
        return
    server = ThreadedWSGIServer(
        sock.getsockname()[:2],
        WSGIRequestHandler,
        ipv6=sock.family == socket.AF_INET6,
        bind_and_activate=False,
    )
    adopt(server, sock)
    server.set_app(handler)
    run_socketserver(server, served)
