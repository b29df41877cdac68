"""Directory deploy: every application file under a folder, served at its path.

    import pywry
    pywry.path_deploy("apps")    # apps/A/b.py, which defines main(), at http://<host>:<port>/A/b

Each `.py` file that defines `main()` is an application; `main()` calls `show(...)` (or
`show_plotly`, ...) and returns the handle, and every visit gets a widget of its own. See
`pywry.core.pathdeploy` for which names are served and `pywry.core.pathpages` for the answers
(folder indexes, `?reload`). `path_deploy` offers pages a WebSocket; `path_deploy_http` gives
them the HTTP stream only.

It runs like `deploy()`: uvicorn in the foreground with the settings underneath, until Ctrl+C.
With several workers (`PYWRY_SERVER__WORKERS`, on a sqlite or redis backend) or reload, each
worker process builds the same app from the description the parent leaves in
`PYWRY_PATH_DEPLOY`; a callable `index` or `check_origin` then has to be a module-level function
(one in the script that calls `path_deploy` is imported from that script, so keep the call under
`if __name__ == "__main__":`).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, setting_sources
from .core.app import default_app
from .core.asgi import ASGIApp
from .core.listen import bind
from .core.origins import OriginCheck
from .core.pathpages import DirectoryPages, IndexOption
from .inline import Target, serve

__all__ = ["path_deploy", "path_deploy_http", "worker_app"]

ENV = "PYWRY_PATH_DEPLOY"
FACTORY = "pywry.directory:worker_app"
ALL_INTERFACES = "0.0.0.0"


@dataclass(frozen=True)
class Spec:
    """One directory deploy: the folder, its index, the transport, adapter options and where
    it listens. What the parent hands each worker process (as JSON)."""

    base: str
    index: IndexOption = True
    websocket: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    listen: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """This description as JSON; callables become references to import."""
        options = dict(self.options)
        index: Any = self.index
        if callable(index):
            index = _reference(index, "index")
        if callable(options.get("check_origin")):
            options["check_origin"] = _reference(options["check_origin"], "check_origin")
        if "static_dir" in options:
            options["static_dir"] = str(options["static_dir"])
        return json.dumps(
            {
                "base": self.base,
                "index": index,
                "websocket": self.websocket,
                "options": options,
                "listen": self.listen,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """The description `to_json` wrote, its callables imported."""
        data = json.loads(text)
        options = dict(data["options"])
        if isinstance(options.get("check_origin"), dict):
            options["check_origin"] = _resolve(options["check_origin"])
        index = data["index"]
        if isinstance(index, dict):
            index = _resolve(index)
        return cls(data["base"], index, data["websocket"], options, data["listen"])


def _reference(fn: Callable[..., Any], what: str) -> dict[str, str]:
    """Where a worker process imports `fn` from: its module (a script: its file) and name."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", "")
    if not module or not name or "<" in name:
        raise ConfigError(
            f"{what}={fn!r}: with several workers or reload (PYWRY_SERVER__WORKERS, "
            f"PYWRY_SERVER__RELOAD) {what} must be a module-level function, which each worker "
            "imports"
        )
    folder = ""
    if module == "__main__":
        script = getattr(sys.modules.get("__main__"), "__file__", None)
        if not script:
            raise ConfigError(
                f"{what}={fn!r}: with several workers or reload, a function of the __main__ "
                "module needs a script file to import it from"
            )
        module, folder = Path(script).stem, str(Path(script).resolve().parent)
    return {"module": module, "name": name, "folder": folder}


def _resolve(ref: dict[str, str]) -> Any:
    if ref["folder"] and ref["folder"] not in sys.path:
        sys.path.insert(0, ref["folder"])
    found: Any = importlib.import_module(ref["module"])
    for part in ref["name"].split("."):
        found = getattr(found, part)
    return found


def build(spec: Spec) -> ASGIApp:
    """The default app serving `spec`'s folder, as the ASGI app to run (in any process)."""
    engine = default_app()
    engine.deployed = True
    if spec.listen:
        server = engine.settings.server.model_copy(update=spec.listen)
        engine.settings = engine.settings.model_copy(update={"server": server})
    engine.configure(apps=DirectoryPages(spec.base, spec.index), **spec.options)
    asgi = engine.asgi
    return asgi if spec.websocket else asgi.http_only()


def worker_app() -> ASGIApp:
    """The app of one worker process, as the parent described it in `PYWRY_PATH_DEPLOY`
    (uvicorn calls this factory in every worker)."""
    text = os.environ.get(ENV)
    if not text:
        raise RuntimeError(f"{ENV} is not set: worker_app() runs in what path_deploy() starts")
    return build(Spec.from_json(text))


def _listen(host: str, port: int) -> dict[str, Any]:
    """Where to listen: explicit arguments first; `host=""` and `port=0` leave it to the settings
    (`PYWRY_SERVER__HOST`/`PORT`, the config file) and, when those say nothing either, mean every
    interface and any free port."""
    if not isinstance(host, str):
        raise TypeError(f"host must be a string, not {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535 (0: any free port), not {port!r}")
    configured = default_app().settings.server
    given = setting_sources()["server"]
    if not host.strip():
        host = configured.host if given["host"][0] != "default" else ALL_INTERFACES
    if port == 0 and given["port"][0] != "default":
        port = configured.port
    if port == 0:
        probe = bind(host, 0, configured.backlog)
        port = int(probe.getsockname()[1])
        probe.close()
    return {"host": host.strip(), "port": port}


def _run(spec: Spec) -> None:
    app = build(spec)  # in this process too: a mistake in the arguments shows here, once
    engine = default_app()
    server = engine.settings.server
    if server.workers > 1 or server.reload:
        os.environ[ENV] = spec.to_json()  # each worker process inherits it
    target = Target(FACTORY, os.getcwd(), factory=True, watch=(spec.base,))
    announce = f"serving the applications in {spec.base}"
    serve(app, engine.settings, target, engine=engine, announce=announce)


def path_deploy(
    base: str | Path,
    port: int = 0,
    host: str = "",
    index: IndexOption = True,
    static_dir: str | Path | None = None,
    reconnect_timeout: float | None = None,
    cdn: bool | str | None = None,
    allowed_origins: list[str] | None = None,
    check_origin: OriginCheck | None = None,
    max_payload_size: int | str | None = None,
) -> None:
    """Serve every application file under `base` at its path, until Ctrl+C (blocking).

    `index`: a folder without `index.py` answers with a list of its applications and
    subfolders (True), a page of `index(folder_path)`'s HTML (a callable), or 404 (False).
    `static_dir` is served at `/static/`. `reconnect_timeout` (seconds a page may take to
    reconnect), `cdn`, `allowed_origins`, `check_origin` and `max_payload_size` (500, "40K",
    "3M") are the options every adapter takes; None leaves the settings' value.
    """
    options = {
        "static_dir": static_dir,
        "reconnect_timeout": reconnect_timeout,
        "cdn": cdn,
        "allowed_origins": allowed_origins,
        "check_origin": check_origin,
        "max_payload_size": max_payload_size,
    }
    _run(_spec(base, port, host, index, True, options))


def path_deploy_http(
    base: str | Path,
    port: int = 0,
    host: str = "",
    index: IndexOption = True,
    static_dir: str | Path | None = None,
    cdn: bool | str | None = None,
    allowed_origins: list[str] | None = None,
    check_origin: OriginCheck | None = None,
    session_expire_seconds: float | None = None,
    max_payload_size: int | str | None = None,
) -> None:
    """`path_deploy` whose pages talk over the HTTP stream and posts only, never a WebSocket.

    `session_expire_seconds`: how long a page's stream may stay away before it is dropped.
    """
    options = {
        "static_dir": static_dir,
        "cdn": cdn,
        "allowed_origins": allowed_origins,
        "check_origin": check_origin,
        "session_expire_seconds": session_expire_seconds,
        "max_payload_size": max_payload_size,
    }
    _run(_spec(base, port, host, index, False, options))


def _spec(
    base: str | Path,
    port: int,
    host: str,
    index: IndexOption,
    websocket: bool,
    options: dict[str, Any],
) -> Spec:
    if not isinstance(base, (str, Path)):
        raise TypeError(f"base must be a folder path, not {base!r}")
    given = {key: value for key, value in options.items() if value is not None}
    if "static_dir" in given:
        given["static_dir"] = str(Path(given["static_dir"]).expanduser().resolve())
    folder = str(Path(base).expanduser().resolve())
    return Spec(folder, index, websocket, given, _listen(host, port))
