"""A private redis-server for the tests: its own free port, no persistence, stopped afterwards."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from tests.support import free_port, require_binary


class RedisServer:
    """Starts and stops a real redis-server on 127.0.0.1 (never the shared default port)."""

    def __init__(
        self,
        folder: Path,
        *,
        aof: bool = False,
        args: Sequence[str] = (),
        conf: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.aof = aof  # an append-only file, fsynced on every write: restarts keep everything
        self.binary = require_binary("redis-server", "apt-get install redis-server")
        self.port = port or free_port()
        self.folder = folder
        self.args = list(args)  # more options (cluster, replica, sentinel)
        self.conf = conf  # a config file to start from (a Sentinel's, which it rewrites)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                *([str(self.conf)] if self.conf else []),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.aof else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
                "--protected-mode",
                "yes",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL): a crashed server, nothing flushed or handed over."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)
