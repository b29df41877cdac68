"""Every example starts from the install line its header declares, and nothing else.

Each example says what it needs in one line of its header, `# Needs: pip install ...`, and the
README's table says the same. For each distinct line the test makes a fresh virtual environment
(`python -m venv`, no system site packages) and installs exactly that line into it, with the
project's wheel (built once) standing in for `pywry-server`; then it runs every example that
declares the line as its documented command does, from a copy of `examples/` (so nothing of the
repository can be imported), on a free loopback port, checks that it serves its page (its widget
page too, for the hosts that embed one) or prints what it should, and stops it.

The environments are made with `--without-pip` and filled by this interpreter's pip
(`pip --python`), byte-compiling on import instead of at install: the same packages, in a
fraction of the time. They are built in parallel, each test waiting only for its own.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import EXAMPLES, ROOT, ctrl_c, free_port, make_certificate, read_lines

pytestmark = pytest.mark.integration

NEEDS = re.compile(r"^# Needs: (pip install .+)$", re.M)
IMPORTED = {"sales_dashboard.py", "auth_widgets.py"}  # modules the examples import, not run
SECRET = "an-examples-test-secret-of-more-than-32-characters"
STARTUP = 90.0  # seconds a server may take to answer (first imports compile, 2 busy cores)


def _example_files() -> dict[str, Path]:
    """Each example by the name the README gives it: `x.py`, or `project/` for Django's."""
    found = {p.name: p for p in sorted(EXAMPLES.glob("*.py")) if p.name not in IMPORTED}
    found.update({f"{p.parent.name}/": p for p in sorted(EXAMPLES.glob("*/manage.py"))})
    return found


def _declared() -> dict[str, str]:
    """Example name -> the install line of its header."""
    lines = {}
    for name, path in _example_files().items():
        needs = NEEDS.findall(path.read_text())
        assert len(needs) == 1, f"{path} has {len(needs)} '# Needs: pip install ...' lines"
        lines[name] = needs[0].strip()
    return lines


DECLARED = _declared()
LINES = list(dict.fromkeys(DECLARED.values()))


def test_the_readme_gives_each_example_its_install_line() -> None:
    """The README's table of examples lists every example with the line its header declares."""
    readme = (ROOT / "README.md").read_text()
    listed: dict[str, str] = {}
    for row in re.findall(r"^\| (`examples/.+)$", readme, re.M):
        cells = [c.strip() for c in row.split("|")]
        install = re.fullmatch(r"`(pip install [^`]+)`", cells[1])
        assert install, f"no install line in the README's row {row!r}"
        for name in re.findall(r"`(?:examples/)?([^`]+)`", cells[0]):
            listed[name] = install.group(1)
    assert listed == DECLARED


# -- fresh environments -------------------------------------------------------------------------
@dataclass(frozen=True)
class Venv:
    """A virtual environment holding one install line."""

    path: Path
    line: str

    def bin(self, name: str) -> str:
        found = self.path / "bin" / name
        assert found.exists(), f"{name} is not installed by {self.line!r}"
        return str(found)


def _pip(*args: str) -> None:
    """This interpreter's pip (its configuration and cache), blind to the repository."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-m", "pip", *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"pip {shlex.join(args)} failed:\n{out.stdout}{out.stderr}"


def _requirements(line: str, wheel: Path) -> list[str]:
    """The arguments of `pip install` in `line`, with the project's wheel for pywry-server."""
    words = shlex.split(line)
    assert words[:2] == ["pip", "install"], line
    return [re.sub(r"^pywry-server(?=\[|$)", str(wheel), w) for w in words[2:]]


def _build(folder: Path, line: str, wheel: Future[Path]) -> Venv:
    """A fresh environment with `line` installed, checked to import pywry from itself."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    _pip("--python", str(python), "install", "-q", "--no-compile",
         *_requirements(line, wheel.result()))  # fmt: skip
    where = subprocess.run(
        [str(python), "-c", "import pywry; print(pywry.__file__)"],
        env=_env(Venv(folder, line), folder), cwd=folder, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(folder), where  # the installed copy, not ours
    return Venv(folder, line)


def _wheel(folder: Path) -> Path:
    """The project's wheel, built once from this checkout."""
    _pip("wheel", "-q", "--no-deps", "-w", str(folder), str(ROOT))
    (wheel,) = folder.glob("pywry_server-*.whl")
    return wheel


@pytest.fixture(scope="module")
def venvs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Venv]]]:
    """The environment of each install line the selected tests use, built in parallel."""
    wanted = [
        item.callspec.params["line"]
        for item in request.session.items
        if item.originalname == "test_examples_start_from_their_install_line"  # type: ignore[attr-defined]
    ]
    folder = tmp_path_factory.mktemp("venvs")
    with ThreadPoolExecutor(max_workers=3) as pool:
        wheel = pool.submit(_wheel, folder / "wheel")
        builds = {
            line: pool.submit(_build, folder / f"venv{i}", line, wheel)
            for i, line in enumerate(dict.fromkeys(wanted))
        }
        yield builds
        for build in builds.values():
            build.cancel()


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of `examples/` and nothing else of the repository."""
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(
        EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.db")
    )
    return root


# -- running examples ----------------------------------------------------------------------------
def _env(venv: Venv, home: Path, **extra: str) -> dict[str, str]:
    """A shell with `venv` activated: no PYWRY_* settings, no PYTHONPATH, its own runtime dir."""
    skip = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWRY_") and k not in skip}
    env["PATH"] = f"{venv.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv.path)
    env["PYTHONUNBUFFERED"] = "1"
    env["XDG_RUNTIME_DIR"] = str(home)  # gunicorn's control socket: one per server
    env["PYWRY_SERVER__OPEN_BROWSER"] = "false"
    env.update(extra)
    return env


class Run:
    """One example being tried in one environment."""

    def __init__(self, venv: Venv, root: Path, tmp: Path) -> None:
        self.venv, self.root, self.tmp = venv, root, tmp
        self._homes = itertools.count()

    def env(self, **extra: str) -> dict[str, str]:
        home = self.tmp / f"run{next(self._homes)}"
        home.mkdir()
        return _env(self.venv, home, **extra)

    def argv(self, command: str, port: int | None = None) -> list[str]:
        """A documented command (PORT: the free port), its program taken from the venv."""
        words = shlex.split(re.sub(r"\bPORT\b", str(port), command))
        return [self.venv.bin(words[0]), *words[1:]]

    def run(self, command: str, cwd: str = ".", **env: str) -> str:
        """Run a command to its end; its standard output."""
        out = subprocess.run(
            self.argv(command), env=self.env(**env), cwd=self.root / cwd, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, f"{command} failed:\n{out.stdout}{out.stderr}"
        return out.stdout

    @contextmanager
    def serve(self, command: str, cwd: str = ".", **env: str) -> Iterator[str]:
        """Start a server command on a free port; its base URL once it answers."""
        port = free_port()
        log = self.tmp / f"server-{port}.log"
        extra = {"PYWRY_SERVER__HOST": "127.0.0.1", "PYWRY_SERVER__PORT": str(port), **env}
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                self.argv(command, port), env=self.env(**extra), cwd=self.root / cwd,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url, proc)
            yield url
        except Exception as exc:
            raise AssertionError(
                f"{command}: {exc}\n{log.read_text(errors='replace')[-3000:]}"
            ) from exc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def browser_mode(self, script: str, urls: int = 1, scheme: str = "http", **env: str) -> None:
        """A browser-mode script: it prints its widgets' URLs; each opens; Ctrl+C ends it."""
        port = free_port()
        proc = subprocess.Popen(
            self.argv(f"python examples/{script}"),
            env=self.env(PYWRY_SERVER__HOST="127.0.0.1", PYWRY_SERVER__PORT=str(port), **env),
            cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
            start_new_session=True,
        )  # fmt: skip
        try:
            printed = read_lines(proc, urls, timeout=STARTUP)
            for url in printed:
                # the port asked for, or the next free one when another process took it meanwhile
                assert re.match(rf"{scheme}://127\.0\.0\.1:\d+/widget/", url), printed
                assert httpx.get(url, verify=False, timeout=10).status_code == 200, url
            # Ctrl+C once block() says it waits: a script still printing would die of it
            said: list[str] = []
            while not any(line.startswith("pywry: serving") for line in said):
                assert len(said) < 10, said  # other lines first (a busy port, a warning)
                said += read_lines(proc, 1, timeout=STARTUP, stderr=True)
        except Exception as exc:
            _, err = ctrl_c(proc)
            raise AssertionError(f"{script}: {exc}\n{err[-3000:]}") from exc
        code, err = ctrl_c(proc)
        assert code == 0, f"{script} ended with {code} on Ctrl+C:\n{err[-3000:]}"


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until `url` answers at all (bounded), failing as soon as the process ends."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before answering")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"no answer within {STARTUP:.0f} s")


def _page(url: str, status: int = 200, **headers: str) -> str:
    got = httpx.get(url, headers=headers, timeout=20)
    assert got.status_code == status, f"{url}: {got.status_code} {got.text[:500]}"
    return got.text


def _host_page(base: str, path: str = "/") -> None:
    """The host's page answers, and so does the widget page its iframe shows."""
    html = _page(base + path)
    frames = re.findall(r'<iframe class="pywry-widget" src="([^"]+)"', html)
    assert frames, f"{base}{path} embeds no widget"
    for src in frames:
        _page(base + src)


def _signin_host(base: str, login: str) -> None:
    """A host with access control: its login page opens; pywry refuses anonymous visitors."""
    _page(base + login)
    _page(base + "/pywry/widget/whoami", status=401)


# -- how each example is run (its header's and the README's commands) ---------------------------
def _gunicorn(app: str, chdir: str = "") -> str:
    where = f" --chdir {chdir}" if chdir else ""
    return f"gunicorn -k gthread --threads 16 -w 1 -b 127.0.0.1:PORT{where} {app}"


def _uvicorn(app: str, app_dir: str = "") -> str:
    where = f" --app-dir {app_dir}" if app_dir else ""
    return f"uvicorn{where} {app} --host 127.0.0.1 --port PORT"


def _served(command: str, check: Callable[[str], None]) -> Callable[[Run], None]:
    """Start `command`, then `check` its base URL."""

    def run(r: Run) -> None:
        with r.serve(command) as base:
            check(base)

    return run


def _https(r: Run) -> None:
    cert, key = make_certificate(r.tmp)
    r.browser_mode(
        "browser_https.py", scheme="https",
        PYWRY_SERVER__SSL_CERTFILE=str(cert), PYWRY_SERVER__SSL_KEYFILE=str(key),
    )  # fmt: skip


def _django_app(r: Run) -> None:
    for command in (
        _gunicorn("salesproject.wsgi", "examples/django_app"),
        _uvicorn("salesproject.asgi:application", "examples/django_app"),
    ):
        with r.serve(command) as base:
            _host_page(base)


def _django_auth(r: Run) -> None:
    r.run("python manage.py migrate", "examples/django_auth")
    assert "created alice" in r.run("python manage.py create_demo_users", "examples/django_auth")
    for command in (_gunicorn("authproject.wsgi"), _uvicorn("authproject.asgi:application")):
        with r.serve(command, "examples/django_auth") as base:
            _signin_host(base, "/accounts/login/")


def _bearer(r: Run) -> None:
    """The server, a token from its CLI, and the client that uses it (the README's three)."""
    with r.serve("python examples/bearer_tokens.py", PYWRY_DEPLOY__AUTH_SECRET=SECRET) as base:
        token = r.run(
            "python examples/bearer_tokens.py token alice analyst", PYWRY_DEPLOY__AUTH_SECRET=SECRET
        ).strip()
        _page(base + "/pywry/widget/whoami", Authorization=f"Bearer {token}")
        said = r.run(f"python examples/bearer_client.py {base} {token}")
        assert json.loads(said)["id"] == "alice", said


CHECKS: dict[str, Callable[[Run], None]] = {
    "browser_hello.py": lambda r: r.browser_mode("browser_hello.py"),
    "browser_multiple.py": lambda r: r.browser_mode("browser_multiple.py", urls=2),
    "browser_callbacks.py": lambda r: r.browser_mode("browser_callbacks.py"),
    "browser_custom_host.py": lambda r: r.browser_mode("browser_custom_host.py"),
    "browser_https.py": _https,
    "deploy_quickstart.py": _served("python examples/deploy_quickstart.py", _page),
    "deploy_full_example.py": _served("python examples/deploy_full_example.py", _page),
    "fastapi_mount.py": _served("python examples/fastapi_mount.py", _host_page),
    "flask_app.py": _served(_gunicorn("flask_app:app", "examples"), _host_page),
    "aiohttp_app.py": _served("python examples/aiohttp_app.py", _host_page),
    "django_app/": _django_app,
    "django_auth/": _django_auth,
    "starlette_auth.py": _served(
        "python examples/starlette_auth.py", lambda base: _signin_host(base, "/login")
    ),
    "flask_login_app.py": _served(
        _gunicorn("flask_login_app:app", "examples"), lambda base: _signin_host(base, "/login")
    ),
    "aiohttp_identify.py": _served(
        "python examples/aiohttp_identify.py", lambda base: _signin_host(base, "/login")
    ),
    "bearer_tokens.py": _bearer,
    "bearer_client.py": _bearer,
    "multiple_apps.py": _served("python examples/multiple_apps.py fastapi PORT", _page),
    "path_deploy.py": _served("python examples/path_deploy.py", _page),
    "multiple_apps_flask.py": _served(_gunicorn("multiple_apps_flask:app", "examples"), _page),
    "multiple_apps_django.py": _served(
        _gunicorn("multiple_apps_django:application", "examples"), _page
    ),
}


def test_every_example_has_a_way_to_run_it() -> None:
    assert set(CHECKS) == set(DECLARED)


@pytest.mark.timeout(420)
@pytest.mark.parametrize("line", LINES)
def test_examples_start_from_their_install_line(
    line: str, venvs: dict[str, Future[Venv]], user_dir: Path, tmp_path: Path
) -> None:
    """In a fresh environment with only `line`, every example declaring it runs as documented."""
    venv = venvs[line].result(timeout=400)
    failed = []
    done: set[Callable[[Run], None]] = set()
    for name in [n for n, needs in DECLARED.items() if needs == line]:
        check = CHECKS[name]
        if check in done:
            continue  # one run covers several examples (a server and its client)
        done.add(check)
        folder = tmp_path / name.strip("/").replace(".py", "")
        folder.mkdir()
        try:
            check(Run(venv, user_dir, folder))
        except Exception as exc:  # every example of the line is tried; all failures reported
            failed.append(f"--- {name}: {exc}")
    assert not failed, "\n".join(failed)
