"""Development reload for `start_server`: restart the server whenever a `.py` file changes.

The process the user started becomes a supervisor. It binds the listening socket once and runs
the same command line again as a child that serves on that socket (the descriptor is
inherited), so the port, and the URL of every open page, survive a restart. watchfiles says
when a `.py` file under the script's folder changes; the child is then stopped (SIGTERM: its
server closes connections as it would at shutdown) and a new one started. Each child is a new
process with a new boot id (`App.boot`), and pages that reconnect to one reload themselves
(bridge.js). A child whose supervisor disappears stops too (it holds the read end of a pipe).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from ..extras import need

#: Set in a child's environment: "<socket fd>,<pipe fd>". Not a PYWRY_* name: settings
#: would take it for a misspelled one.
FD_VARIABLE = "_PYWRY_RELOAD_FD"
RELOAD_VARIABLE = "PYWRY_SERVER__RELOAD"
STOP_TIMEOUT = 10.0  # seconds a child has to stop before it is killed
POLL_MS = 1000  # how often the supervisor looks whether its child died on its own


def inherited_socket() -> socket.socket | None:
    """In a child of the supervisor, the listening socket it serves on; otherwise None.

    The variable is taken out of the environment, so processes the application starts are
    not mistaken for children.
    """
    raw = os.environ.pop(FD_VARIABLE, "")
    if not raw:
        return None
    sock_fd, _, pipe_fd = raw.partition(",")
    sock = socket.socket(fileno=int(sock_fd))
    if pipe_fd:
        _follow_supervisor(int(pipe_fd))
    return sock


def _follow_supervisor(fd: int) -> None:
    """Stop this child (SIGTERM to itself) once the supervisor's end of the pipe closes."""

    def wait() -> None:
        with contextlib.suppress(OSError):
            os.read(fd, 1)  # blocks until the supervisor exits or closes it
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="pywry-supervisor", daemon=True).start()


def watched_folder() -> Path:
    """The folder of the running script (`python my_app.py`), else the working directory."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).resolve().parent if path else Path.cwd()


class _Child:
    """One server process serving the supervisor's socket."""

    def __init__(self, sock: socket.socket) -> None:
        read, self.pipe = os.pipe()
        env = {**os.environ, FD_VARIABLE: f"{sock.fileno()},{read}", RELOAD_VARIABLE: "true"}
        argv = [sys.executable, *sys.orig_argv[1:]]  # the same interpreter options and script
        try:
            self.proc = subprocess.Popen(argv, env=env, pass_fds=(sock.fileno(), read))
        finally:
            os.close(read)
        self.reported = False

    def stop(self, grace: float = 0.0) -> None:
        """Wait `grace` seconds for it to exit by itself, then SIGTERM, then SIGKILL."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(grace)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        with contextlib.suppress(OSError):
            os.close(self.pipe)

    def report_exit(self) -> None:
        """Say once that the child ended on its own (a crash at import, most often)."""
        code = self.proc.poll()
        if code is not None and not self.reported:
            self.reported = True
            _say(f"the server exited with status {code}; waiting for a change to restart it")


def _say(text: str) -> None:
    print(f"pywry: {text}", file=sys.stderr, flush=True)


def supervise(sock: socket.socket, folder: Path) -> None:
    """Run children on `sock`, restarting on changes under `folder`, until Ctrl+C or SIGTERM."""
    watchfiles = need("watchfiles", f"{RELOAD_VARIABLE}=true", "reload")
    if os.name != "posix":
        raise RuntimeError(f"{RELOAD_VARIABLE} needs a POSIX system (it passes the socket on)")
    stop = threading.Event()

    def terminated(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, terminated)
    child = _Child(sock)
    grace = 0.0
    try:
        for changes in watchfiles.watch(
            folder,
            watch_filter=watchfiles.PythonFilter(),
            stop_event=stop,
            debounce=300,
            rust_timeout=POLL_MS,
            yield_on_timeout=True,
        ):
            if not changes:
                child.report_exit()
                continue
            names = sorted({Path(path).name for _, path in changes})
            _say(f"{', '.join(names)} changed; restarting the server")
            child.stop()
            child = _Child(sock)
    except KeyboardInterrupt:
        grace = 2.0  # Ctrl+C reached the child too (same terminal): let it stop by itself
    finally:
        child.stop(grace)
        signal.signal(signal.SIGTERM, previous)
