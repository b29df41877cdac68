"""Debian's nginx for the tests, running the proxy block that docs/production.md documents.

`documented_block()` is the ```nginx block of the production guide; `NginxServer` fills in its
listen port, certificate and upstream servers (each substitution must match exactly once, so a
change to the documented block that the tests cannot follow fails loudly) and runs nginx in the
foreground with its prefix, pid file and temporary files in a test folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support import ROOT, require_binary

PRODUCTION = ROOT / "docs" / "production.md"
DOC_LISTEN = "listen 443 ssl;"
DOC_UPSTREAM = "server 127.0.0.1:8080;"
DOC_CERT = "/etc/ssl/certs/dash.example.com.pem"
DOC_KEY = "/etc/ssl/private/dash.example.com.key"


def documented_block() -> str:
    """The nginx configuration of docs/production.md's "nginx in front" section."""
    text = PRODUCTION.read_text()
    section = text[text.index("## nginx in front") :]
    found = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert found, "docs/production.md has no nginx block under 'nginx in front'"
    return found.group(1)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the documented nginx block no longer has {old!r} once"
    return text.replace(old, new)


class NginxServer:
    """nginx on a free loopback port in front of `upstreams` (host:port), TLS with `cert`."""

    def __init__(
        self, folder: Path, port: int, upstreams: Sequence[str], cert: Path, key: Path
    ) -> None:
        self.binary = require_binary("/usr/sbin/nginx", "apt-get install nginx")
        self.folder = folder
        self.port = port
        self.upstreams = list(upstreams)
        self.cert, self.key = cert, key
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "nginx.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The documented block with this test's ports, upstreams and certificate, in `http {}`."""
        block = documented_block()
        block = _replace_once(block, DOC_LISTEN, f"listen 127.0.0.1:{self.port} ssl;")
        servers = "\n    ".join(f"server {u};" for u in self.upstreams)
        block = _replace_once(block, DOC_UPSTREAM, servers)
        block = _replace_once(block, DOC_CERT, str(self.cert))
        block = _replace_once(block, DOC_KEY, str(self.key))
        temp = self.folder / "temp"
        temps = "\n".join(
            f"    {kind}_temp_path {temp / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers write the test's folder
        return (
            f"{user}worker_processes 1;\nevents {{ worker_connections 512; }}\n"
            f"http {{\n    access_log {self.folder / 'access.log'};\n{temps}\n{block}\n}}\n"
        )

    def start(self) -> NginxServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "temp").mkdir(exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(self.config())
        pid = self.folder / "nginx.pid"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    self.binary, "-p", str(self.folder), "-c", str(conf),
                    "-g", f"daemon off; pid {pid}; error_log stderr;",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen within 10 s") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
