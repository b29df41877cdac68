"""A folder of application files: what a URL path names, what a folder lists, and each file's
module, imported again when the file changes.

Every `.py` file under the base folder that defines `main()` is an application at its path
without `.py` (`A/b.py` is `A/b`); a folder's `index.py` is the folder's own application. Names
starting with `_` or `.` are never found or listed (files and folders, at any depth), and a path
that leaves the base (`..`, a symlink pointing out of it) finds nothing. Whether a file defines
`main` is read from its source, so listing a folder runs none of its files. Nothing here knows
about HTTP (`pywry.core.pathpages` serves a `Directory`).
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .users import check_roles

__all__ = ["Directory", "EntryPoint", "Found", "Listing", "entry_point"]

HIDDEN = ("_", ".")
SUFFIX = ".py"
INDEX = "index"
MODULE_PREFIX = "_pywry_apps."
_FORBIDDEN = ("\\", "\x00", ":")

Stamp = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Found:
    """What a URL path names: an application file, or a folder (`path` is resolved)."""

    path: Path
    name: str  # the URL path below the base, no slashes around it ("" for the base itself)
    folder: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """A folder's visible applications and subfolders, as names below the base (`A/b`)."""

    apps: list[str]
    folders: list[str]


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """An application module's `main` and who may open it."""

    main: Callable[[], Any]
    roles: tuple[str, ...]
    access: Callable[[Any], bool] | None


@dataclass(frozen=True, slots=True)
class _Loaded:
    module: ModuleType
    stamp: Stamp


def _segments(path: str) -> list[str] | None:
    """The names of a URL path (one leading and one trailing slash allowed), or None when one
    of them is hidden, empty, `.`/`..` or holds a character no name here may have."""
    path = path.removeprefix("/").removesuffix("/")
    if not path:
        return []
    parts = path.split("/")
    for part in parts:
        if not part or part.startswith(HIDDEN) or any(ch in part for ch in _FORBIDDEN):
            return None
    return parts


def _stamp(path: Path) -> Stamp:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _binds_main(body: Iterable[ast.stmt]) -> bool:
    """Whether these top-level statements (or the `if`/`try`/`with` blocks among them) bind
    the name `main`."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main":
            return True
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "main" for t in node.targets):
                return True
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name) and node.target.id == "main":
                return True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name) == "main" for alias in node.names):
                return True
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            if any(_binds_main(block) for block in blocks):
                return True
    return False


class Directory:
    """The applications under one base folder (thread-safe; modules are cached per file)."""

    def __init__(self, base: str | Path) -> None:
        if not isinstance(base, (str, Path)):
            raise TypeError(f"base must be a folder path, not {base!r}")
        folder = Path(base).expanduser()
        if not folder.is_dir():
            raise ValueError(f"base {str(base)!r} is not an existing folder")
        self.base = folder.resolve()
        self._modules: dict[Path, _Loaded] = {}
        self._mains: dict[Path, tuple[Stamp, bool]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Directory {str(self.base)!r}>"

    # -- finding ---------------------------------------------------------------------------------
    def _inside(self, path: Path) -> Path | None:
        """`path` resolved (symlinks followed) when it stays inside the base, visible all the
        way down; else None."""
        try:
            resolved = path.resolve()
            below = resolved.relative_to(self.base)
        except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
            return None
        if any(part.startswith(HIDDEN) for part in below.parts):
            return None
        return resolved

    def find(self, url_path: str) -> Found | None:
        """The folder or application a URL path below the base names, or None.

        A folder wins over a file of the same name (`A/` over `A.py`), as on a web server.
        """
        parts = _segments(url_path)
        if parts is None:
            return None
        name = "/".join(parts)
        candidate = self.base.joinpath(*parts)
        folder = self._inside(candidate)
        if folder is not None and folder.is_dir():
            return Found(folder, name, True)
        if not parts:
            return None
        file = self._inside(candidate.with_name(candidate.name + SUFFIX))
        if file is not None and file.is_file() and self.defines_main(file):
            return Found(file, name, False)
        return None

    def index_of(self, folder: Found) -> Found | None:
        """A folder's own application, its `index.py`, when it has one."""
        file = self._inside(folder.path / (INDEX + SUFFIX))
        if file is None or not file.is_file() or not self.defines_main(file):
            return None
        return Found(file, f"{folder.name}/{INDEX}".lstrip("/"), False)

    def listing(self, folder: Found) -> Listing:
        """The visible applications and subfolders of a folder, sorted by name.

        `index.py` is the folder itself and a file that a folder of the same name hides is
        unreachable: neither is listed.
        """
        apps: list[str] = []
        folders: list[str] = []
        prefix = f"{folder.name}/" if folder.name else ""
        try:
            entries = sorted(folder.path.iterdir(), key=lambda entry: entry.name)
        except OSError:
            return Listing([], [])
        dirs = {e.name for e in entries if not e.name.startswith(HIDDEN) and e.is_dir()}
        for entry in entries:
            if entry.name.startswith(HIDDEN):
                continue
            inside = self._inside(entry)
            if inside is None:
                continue
            if inside.is_dir():
                folders.append(prefix + entry.name)
                continue
            stem = entry.name.removesuffix(SUFFIX)
            if stem == entry.name or stem == INDEX or stem in dirs or not stem:
                continue
            if inside.is_file() and self.defines_main(inside):
                apps.append(prefix + stem)
        return Listing(apps, folders)

    def defines_main(self, file: Path) -> bool:
        """Whether a file binds `main` at module level, read from its source (cached until it
        changes). A file that does not parse counts as an application, so that visiting it
        reports its error instead of a 404."""
        try:
            stamp = _stamp(file)
        except OSError:
            return False
        cached = self._mains.get(file)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            found = _binds_main(ast.parse(file.read_bytes(), str(file)).body)
        except (SyntaxError, ValueError):
            found = True
        except OSError:
            return False
        self._mains[file] = (stamp, found)
        return found

    # -- loading ---------------------------------------------------------------------------------
    def module(self, app: Found, *, reload: bool = False) -> ModuleType:
        """The module of an application file: imported on first use, again when the file has
        changed since (or `reload` asks for it). A module that fails to import is not kept."""
        stamp = _stamp(app.path)
        cached = self._modules.get(app.path)
        if cached is not None and cached.stamp == stamp and not reload:
            return cached.module
        with self._lock:
            cached = self._modules.get(app.path)
            if cached is not None and cached.stamp == stamp and not reload:
                return cached.module  # another visit imported it meanwhile
            module = self._import(app)
            self._modules[app.path] = _Loaded(module, stamp)
            return module

    def _import(self, app: Found) -> ModuleType:
        name = MODULE_PREFIX + app.name.replace("/", ".")
        spec = importlib.util.spec_from_file_location(name, app.path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {app.path}")
        module = importlib.util.module_from_spec(spec)
        previous = sys.modules.get(name)
        sys.modules[name] = module  # dataclasses and pickle look their module up by name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            self._modules.pop(app.path, None)
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
            raise
        return module


def entry_point(module: ModuleType) -> EntryPoint:
    """`main` of an application module, with its roles: those `pywry.auth.protect(main, ...)`
    gave it, else the module's `ROLES` list."""
    main = getattr(module, "main", None)
    if not callable(main):
        raise TypeError(f"{module.__file__}: main must be a function, not {main!r}")
    roles = getattr(main, "pywry_roles", None)
    if roles is None:
        roles = getattr(module, "ROLES", None)
    return EntryPoint(main, check_roles(roles), getattr(main, "pywry_access", None))
