"""The `pywry` command line (also `python -m pywry`).

    pywry path-deploy DIR [--host H] [--port P] [--workers N] [--reload] [--static-dir D] [--http]
    pywry serve MODULE:ATTR [--host H] [--port P] [--workers N] [--reload]
    pywry demo [--host H] [--port P] [--workers N] [--reload]
    pywry check [--host H] [--port P] [--workers N] [--reload]
    pywry --version

The server flags are settings: they override the `PYWRY_SERVER__*` variables, which override
the config file. They are exported as those variables before the application is imported, so
every worker process (and reload's server process) sees the same settings. A mistake is one
line on stderr naming the flag or setting, with exit status 2 (a usage or settings mistake) or
1 (the server cannot start); Ctrl+C stops the server and exits 0.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import (
    ConfigError,
    PyWrySettings,
    get_settings,
    reset_settings,
    setting_sources,
    settings_summary,
)
from .core.app import current_default
from .extras import MissingExtra, install_hint

__all__ = ["cli", "main"]

SERVER_FLAGS = ("host", "port", "workers", "reload")
DEMO = "deploy_full_example.py"
USAGE_STATUS = 2


def server_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags every command that starts a server takes (and `check`, to preview them)."""
    flags = [
        click.option("--host", help="Interface to listen on [PYWRY_SERVER__HOST]."),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            help="Port to listen on, 0 for any free one [PYWRY_SERVER__PORT].",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Worker processes; more than 1 needs a sqlite or redis backend "
            "[PYWRY_SERVER__WORKERS].",
        ),
        click.option(
            "--reload/--no-reload",
            default=None,
            help="Restart the server when a source file changes [PYWRY_SERVER__RELOAD].",
        ),
    ]
    for flag in reversed(flags):
        command = flag(command)
    return command


def apply_flags(flags: dict[str, Any]) -> PyWrySettings:
    """The settings with the given flags over them, exported for every process started next.

    A value the settings refuse is an error naming the flag.
    """
    given = {name: flags[name] for name in SERVER_FLAGS if flags.get(name) is not None}
    try:
        settings = PyWrySettings(server=given)
    except ConfigError as exc:
        message = str(exc)
        for name in given:
            message = message.replace(f"server.{name}", f"--{name}")
        raise click.UsageError(message) from None
    for name, value in given.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        os.environ[f"PYWRY_SERVER__{name.upper()}"] = text
    reset_settings()  # what is imported from here on reads the exported flags
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pywry", message="%(prog)s %(version)s")
def cli() -> None:
    """pywry: interactive HTML widgets served to browsers, with events to Python callbacks."""


@cli.command("path-deploy")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@server_flags
@click.option(
    "--static-dir",
    type=click.Path(exists=True, file_okay=False),
    help="A folder of files served at /static/.",
)
@click.option("--http", "http_only", is_flag=True, help="Pages use the HTTP stream, no WebSocket.")
def path_deploy_command(
    directory: str, static_dir: str | None, http_only: bool, **flags: Any
) -> None:
    """Serve every .py file under DIRECTORY that defines main() at its path (A/b.py at /A/b)."""
    server = apply_flags(flags).server
    from . import directory as deploying  # noqa: PLC0415 - the server's machinery, only now

    run = deploying.path_deploy_http if http_only else deploying.path_deploy
    run(directory, port=server.port, host=server.host, static_dir=static_dir)


@cli.command()
@click.argument("target", metavar="MODULE:ATTR")
@server_flags
def serve(target: str, **flags: Any) -> None:
    """Serve an ASGI app: the app of get_server_app() (deploy mode) or any other.

    MODULE is imported from the current folder, as uvicorn does (`pywry serve app:app`).
    """
    apply_flags(flags)
    app = load_app(target)
    from .inline import Target  # noqa: PLC0415 - the server's machinery, only when serving
    from .inline import serve as run  # noqa: PLC0415

    engine = current_default()  # the pywry app the module serves, when it made one
    settings = engine.settings if engine is not None else get_settings()
    run(app, settings, Target(target, os.getcwd()), engine=engine)


@cli.command()
@server_flags
def demo(**flags: Any) -> None:
    """Start the demo dashboard (the deploy guide's Full Example) at http://127.0.0.1:8080/."""
    apply_flags(flags)
    script = demo_script()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"the demo needs {exc.name}: {install_hint('fastapi,plotly')}"
        ) from None


@cli.command()
@server_flags
def check(**flags: Any) -> None:
    """Print the effective settings and where each comes from (secrets masked)."""
    given = {name: flags[name] for name in SERVER_FLAGS if flags.get(name) is not None}
    settings = apply_flags(flags)
    sources = setting_sources(server=given)
    rows = []
    for section, values in settings_summary(settings).items():
        for name, value in values.items():
            source, key = sources[section][name]
            where = {"argument": f"flag --{name}", "default": "default"}.get(source)
            rows.append((f"{section}.{name}", json.dumps(value), where or f"{source} {key}"))
    width = max(len(row[0]) for row in rows)
    value_width = min(40, max(len(row[1]) for row in rows))
    click.echo(f"pywry {__version__} settings (flag over env, env over file, file over default)")
    for name, value, where in rows:
        click.echo(f"{name:<{width}}  {value:<{value_width}}  {where}")


def demo_script() -> Path:
    """The demo's file: in the installed package, else in the repository's examples/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples" / DEMO, here.parent / "examples" / DEMO):
        if candidate.is_file():
            return candidate
    raise click.ClickException(f"the demo ({DEMO}) is not installed with this pywry")


def load_app(target: str) -> Any:
    """The ASGI app `module:attribute` names (attributes may be dotted: `mod:engine.asgi`)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise click.UsageError(
            f"MODULE:ATTR: expected module:attribute such as app:app, not {target!r}"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise click.ClickException(f"{target}: no module named {exc.name!r} here") from None
        raise click.ClickException(f"{target}: importing it failed: {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed: say where, in one line
        raise click.ClickException(f"{target}: importing it failed: {_one_line(exc)}") from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise click.ClickException(
                f"{target}: {module_name} has no attribute {part!r}"
            ) from None
    if not _is_asgi(found):
        hint = " (a pywry.App: serve its .asgi)" if hasattr(found, "asgi") else ""
        raise click.ClickException(f"{target}: {found!r} is not an ASGI application{hint}")
    return found


def _is_asgi(app: Any) -> bool:
    """An async callable (or an object with an async `__call__`), as an ASGI 3 app is."""
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(
        getattr(app, "__call__", None)  # noqa: B004 - the method itself is what is inspected
    )


def _one_line(exc: BaseException) -> str:
    """`Type: message (file:line)` of an exception, the line being the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}{where}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (one line on stderr for a mistake)."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="pywry",
                          standalone_mode=False)  # fmt: skip
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "pywry"
        _error(f"{where}: {exc.format_message()}")
        return USAGE_STATUS
    except click.ClickException as exc:
        _error(f"pywry: {exc.format_message()}")
        return exc.exit_code
    except ConfigError as exc:
        _error(f"pywry: {exc}")
        return USAGE_STATUS
    except MissingExtra as exc:
        _error(f"pywry: {exc}")
        return 1
    except (click.Abort, KeyboardInterrupt):  # Ctrl+C: the server stopped, as asked
        return 0
    return status if isinstance(status, int) else 0


def _error(message: str) -> None:
    click.echo(" ".join(message.split()), err=True)
