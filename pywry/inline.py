"""Deploy mode's module-level API: register widgets, render their pages, run the server."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._register import Toolbars, register_widget
from .config import ConfigError, PyWrySettings, StateBackend
from .core.app import App, default_app
from .core.apps import Applications
from .core.listen import port_problem
from .core.metrics import MULTIPROC_ENV
from .core.widgets import Callback
from .dataframe import show_dataframe
from .extras import need
from .handle import HTML, WidgetHandle
from .logs import logging_config
from .plotly import show_plotly
from .state.backends import CHECKED_ENV, check_backend
from .state.base import BackendStartError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "deploy",
    "get_server_app",
    "get_widget_html",
    "get_widget_html_async",
    "show",
    "show_dataframe",
    "show_plotly",
]

log = logging.getLogger("pywry")


def show(
    content: str,
    label: str | None = None,
    title: str = "PyWry",
    callbacks: dict[str, Callback] | None = None,
    toolbars: Toolbars = None,
    *,
    theme: str | None = None,
    head: str = "",
    per_visitor: bool | None = None,
    kind: str = "html",
    state: dict[str, Any] | None = None,
    roles: Sequence[str] | None = None,
    access: Callable[[Any], bool] | None = None,
) -> WidgetHandle:
    """Register an HTML widget and return its handle; no browser opens.

    With an explicit `label` the call is idempotent (every worker running the module registers the
    same widget). Called while a request is being handled, the widget is per-visitor and is
    collected once its visitors are gone; `per_visitor` overrides that guess. `kind` names the
    widget's kind (`widget.kind`); the handle is a plain `WidgetHandle` whatever it is. With
    access control on, `roles` lets in users with any of them and `access(user)` decides.
    """
    return register_widget(
        content,
        kind=HTML if kind == HTML.name else replace(HTML, name=kind),
        label=label,
        title=title,
        callbacks=callbacks,
        toolbars=toolbars,
        theme=theme,
        head=head,
        state=state,
        per_visitor=per_visitor,
        roles=roles,
        access=access,
    )


def get_widget_html(label: str, base_path: str | None = None) -> str | None:
    """The full page HTML of widget `label` (bridge included), or None for an unknown label."""
    app = default_app()
    if app.shared is not None and label not in app.registry and app.loop.loop is not None:
        if not app.loop.on_loop():  # another worker's widget: load it through the server loop
            base, websocket = app.base_path(base_path), app.serves_websocket()
            return app.loop.run(app.page_html_async(label, base, websocket=websocket), 15)
    return app.page_html(label, base_path)


async def get_widget_html_async(label: str, base_path: str | None = None) -> str | None:
    """`get_widget_html` for async route handlers (waits for a shared backend when one is set)."""
    return await default_app().page_html_async(label, base_path)


def get_server_app(apps: Any = None) -> FastAPI:
    """The FastAPI app of deploy mode: pywry's routes at the root, room for the user's routes.

    Marks the default app as deployed, which `PYWRY_HEADLESS=1` would say: this process opens
    no browser (and with a state backend named it is deploy mode), while the environment, and
    so every process started from here, stays as it was. Calling it again returns the same app.
    `apps` are page factories served at `/` and `/app/{name}` (see `pywry.core.apps`). The same
    call running again (a worker process imports the script twice: as `__mp_main__`, then as
    the module uvicorn serves) keeps the applications it gave first; a second set from another
    call is an error.
    """
    app = default_app()
    existing = app.extensions.get("fastapi")
    if existing is not None:
        if apps is not None:
            given = Applications(apps)
            if app.apps is not None and not (
                isinstance(app.apps, Applications) and app.apps.same_as(given)
            ):
                raise ValueError("get_server_app(apps=...) was already given other applications")
            app.configure(apps=given)  # the same ones: the script ran again in this process
        return existing  # type: ignore[no-any-return]
    from .adapters.fastapi import server_app  # noqa: PLC0415 - FastAPI is an optional extra

    app.deployed = True
    if apps is not None:
        app.configure(apps=Applications(apps))
    app.serve_on(app.settings.server.host, warn=False)  # deploy() and each worker listen there
    created = server_app(app)
    app.extensions["fastapi"] = created
    return created


def _check_workers(settings: PyWrySettings) -> None:
    server, deploy_settings = settings.server, settings.deploy
    if server.workers > 1 and deploy_settings.state_backend == StateBackend.MEMORY:
        raise ConfigError(
            f"PYWRY_SERVER__WORKERS={server.workers} needs shared state: set "
            "PYWRY_DEPLOY__STATE_BACKEND=sqlite (one host) or redis (any number of hosts); "
            "the memory backend keeps widgets inside one process"
        )


def uvicorn_options(settings: PyWrySettings) -> dict[str, Any]:
    """Every server setting as `uvicorn.Config` keyword arguments (SSL included)."""
    s = settings.server
    return {
        "host": s.host,
        "port": s.port,
        "log_level": s.log_level,
        "access_log": s.access_log,
        "timeout_keep_alive": s.timeout_keep_alive,
        "timeout_graceful_shutdown": s.timeout_graceful_shutdown,
        "limit_concurrency": s.limit_concurrency,
        "limit_max_requests": s.limit_max_requests,
        "backlog": s.backlog,
        "ssl_certfile": s.ssl_certfile,
        "ssl_keyfile": s.ssl_keyfile,
        "ssl_keyfile_password": s.ssl_keyfile_password,
        "ssl_ca_certs": s.ssl_ca_certs,
        "ws_max_size": s.max_payload_size,
        "proxy_headers": True,
        "forwarded_allow_ips": s.forwarded_allow_ips,
        "lifespan": "on",
    }


def uvicorn_config(app: Any, settings: PyWrySettings) -> Any:
    """A `uvicorn.Config` with every server setting applied (SSL included)."""
    uvicorn = need("uvicorn", "serving pages (browser mode or deploy())", "fastapi")
    return uvicorn.Config(app, **uvicorn_options(settings))


def app_import_string(app: Any) -> tuple[str, str]:
    """`module:attribute` of `app` in the running script, and the folder to import it from.

    Several workers (and reload) import the application afresh in each process, so uvicorn needs
    to know where it lives; `python my_app.py` makes that `my_app:app`.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path:
        raise ConfigError(
            "PYWRY_SERVER__WORKERS > 1 and PYWRY_SERVER__RELOAD need deploy() to run from a "
            "script file (python my_app.py)"
        )
    for name, value in vars(main).items():
        if value is app and not name.startswith("_"):
            return f"{Path(path).stem}:{name}", str(Path(path).resolve().parent)
    raise ConfigError(
        "PYWRY_SERVER__WORKERS > 1 and PYWRY_SERVER__RELOAD need the app in a module-level "
        "variable of the script (app = get_server_app())"
    )


@contextmanager
def _metrics_directory(workers: int, enabled: bool) -> Iterator[None]:
    """With metrics on and several workers: a fresh directory for this deployment's values.

    Each worker process writes its values there and whichever answers `/metrics` sums them; it
    is removed when the deployment stops. A `PROMETHEUS_MULTIPROC_DIR` already set is used as is.
    """
    if not enabled or workers < 2 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="pywry-metrics-")
    try:
        with _inherited(MULTIPROC_ENV, folder):
            yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _inherited(name: str, value: str) -> Iterator[None]:
    """Environment variable `name` set to `value` for the worker processes started meanwhile;
    what it was before comes back afterwards."""
    had = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if had is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = had


@dataclass(frozen=True)
class Target:
    """Where each worker process imports the application from: uvicorn's `module:attribute`,
    the folder to import it from, whether it is a factory to call, and what reload watches
    (the folder when empty)."""

    name: str
    folder: str
    factory: bool = False
    watch: tuple[str, ...] = ()


def deploy(app: Any = None) -> None:
    """Run uvicorn in the foreground with the settings of `PyWrySettings` (blocking).

    With `WORKERS > 1` (sqlite or redis backend) or `RELOAD`, uvicorn starts the worker processes
    and each imports the script's app afresh. Ctrl+C stops it and returns. A port it cannot
    listen on, or a state backend it cannot open, ends the program (status 1) with one line on
    stderr saying which setting to change. SIGTERM drains each worker first.
    """
    engine = default_app()
    app = app if app is not None else get_server_app()
    serve(app, engine.settings, lambda: Target(*app_import_string(app)), engine=engine)


def serve(
    app: Any,
    settings: PyWrySettings,
    target: Target | Callable[[], Target],
    *,
    engine: App | None = None,
    announce: str = "",
) -> None:
    """Run the ASGI `app` under uvicorn with `settings` until Ctrl+C: what `deploy()`, directory
    deploy and `pywry serve` share.

    With several workers or reload, each process imports `target` instead (asked for only
    then). `engine`, the pywry app served (None for an ASGI app without one), learns its public
    URL, is shut down at the end and makes several workers need a shared state backend, which
    is opened once before any worker starts (one line naming the setting when it cannot be).
    `announce`, when given, is printed on stderr with the URL once the port is known to be free.
    """
    if engine is not None:
        _check_workers(settings)
        try:
            check_backend(settings)
        except BackendStartError as exc:
            raise SystemExit(f"pywry: {exc}") from None
    uvicorn = need("uvicorn", "running the server (deploy(), path_deploy(), pywry)", "fastapi")
    server_settings = settings.server
    problem = port_problem(server_settings.host, server_settings.port, server_settings.backlog)
    if problem is not None:
        print(problem, file=sys.stderr, flush=True)
        raise SystemExit(1)
    scheme = "https" if server_settings.ssl_certfile else "http"
    host = server_settings.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"{scheme}://{shown}:{server_settings.port}"
    if engine is not None:
        engine.public_url = url
        engine.serve_on(host)  # once, here, even when several workers serve
    if announce:
        print(f"pywry: {announce} at {url}/ (press Ctrl+C to stop)", file=sys.stderr, flush=True)
    options = uvicorn_options(settings)
    options["log_config"] = logging_config(server_settings)
    if server_settings.workers > 1 or server_settings.reload:
        where = target() if callable(target) else target
        if server_settings.reload:
            options["reload"] = True
            options["reload_dirs"] = list(where.watch or (where.folder,))
        else:
            options["workers"] = server_settings.workers
        # the workers know the backend was opened once, before them (`checked_at_start`)
        checked = _inherited(CHECKED_ENV, str(os.getpid())) if engine is not None else nullcontext()
        with checked, _metrics_directory(server_settings.workers, server_settings.metrics):
            # returns on Ctrl+C
            uvicorn.run(where.name, app_dir=where.folder, factory=where.factory, **options)
        return
    server = uvicorn.Server(uvicorn.Config(app, **options))
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it stopped for: it is not an error
        pass
    finally:
        if engine is not None:
            engine.shutdown()
    if not server.started:  # start-up failed (uvicorn logged why)
        raise SystemExit(3)
