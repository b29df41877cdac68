"""A real OpenID Connect provider for the sign-in tests: node's `oidc-provider` (tests/oidc).

`start_provider(redirect_uris, log_dir)` runs tests/oidc/provider.mjs on a free loopback port
and waits for its discovery document. Its login form accepts any login and password, and the
signed-in user's `sub` is the login typed; consent is skipped. The npm packages are installed
from tests/oidc/package-lock.json (`npm ci`) the first time, when node_modules is missing.

The `oidc_provider` fixture (tests/conftest.py) is one provider for the whole session, whose
client may come back to `app_ports`: ports reserved for the apps the tests start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port

OIDC_DIR = ROOT / "tests" / "oidc"
CLIENT_ID = "pywry-tests"
CLIENT_SECRET = "pywry-tests-client-secret-not-for-production"
NPM_TIMEOUT = 300
START_TIMEOUT = 20.0


def _need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        pytest.fail(
            f"{program} is not installed: the OpenID Connect tests run node's oidc-provider "
            "(bash scripts/ensure-system.sh, or apt-get install nodejs npm)",
            pytrace=False,
        )
    return found


def ensure_node_modules() -> None:
    """Install tests/oidc's locked npm packages when node_modules is missing (under a file lock:
    parallel test processes install once)."""
    import fcntl

    with open(OIDC_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _install_node_modules()


def _install_node_modules() -> None:
    if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = _need("npm")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=OIDC_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
    )
    if done.returncode != 0:
        pytest.fail(
            f"npm ci in {OIDC_DIR} failed ({done.returncode}):\n{done.stdout[-2000:]}"
            f"\n{done.stderr[-2000:]}",
            pytrace=False,
        )


@dataclass
class Provider:
    """A running provider and its one client."""

    proc: subprocess.Popen[bytes]
    issuer: str
    log_path: Path
    redirect_uris: list[str]
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    app_ports: list[int] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def app_env(self, **extra: str) -> dict[str, str]:
        """The PYWRY_OAUTH2__* settings of an app that signs in here."""
        return {
            "PYWRY_OAUTH2__PROVIDER": "oidc",
            "PYWRY_OAUTH2__ISSUER_URL": self.issuer,
            "PYWRY_OAUTH2__CLIENT_ID": self.client_id,
            "PYWRY_OAUTH2__CLIENT_SECRET": self.client_secret,
            **extra,
        }

    def take_port(self) -> int:
        """A port whose `http://127.0.0.1:<port>/auth/callback` this provider accepts."""
        if not self.app_ports:
            raise RuntimeError("no reserved app port left; reserve more in the fixture")
        return self.app_ports.pop(0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def callback_uris(port: int, base: str = "") -> list[str]:
    """The redirect URIs of an app on `port` (as 127.0.0.1 and as localhost)."""
    return [f"http://{host}:{port}{base}/auth/callback" for host in ("127.0.0.1", "localhost")]


@contextmanager
def start_provider(redirect_uris: list[str], log_dir: Path) -> Iterator[Provider]:
    """Run tests/oidc/provider.mjs on a free loopback port until the block ends."""
    node = _need("node")
    ensure_node_modules()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYWRY_", "OIDC_"))},
        "OIDC_HOST": "127.0.0.1",
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "NODE_ENV": "test",
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"oidc-provider-{port}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [node, "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    provider = Provider(proc, issuer, log_path, list(redirect_uris))
    try:
        _wait_discovery(provider)
        yield provider
    except BaseException:
        sys.stderr.write(provider.log()[-4000:])
        raise
    finally:
        provider.stop()


def _wait_discovery(provider: Provider) -> None:
    url = provider.issuer + "/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        if provider.proc.poll() is not None:
            raise RuntimeError(
                f"oidc-provider exited with {provider.proc.returncode}:\n{provider.log()[-2000:]}"
            )
        try:
            res = httpx.get(url, timeout=1.0)
            if res.status_code == 200 and res.json().get("issuer") == provider.issuer:
                return
            last = res.status_code
        except (httpx.HTTPError, ValueError) as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {START_TIMEOUT}s: {last}")


def reserve_app_ports(count: int) -> list[int]:
    """`count` distinct free ports for apps whose callbacks the provider is told about."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
