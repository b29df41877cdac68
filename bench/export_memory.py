"""Server memory (RSS) after many CSV exports of a table: what one client can make it keep.

    python -m bench.export_memory                       # this checkout, default settings
    python -m bench.export_memory --root /tmp/old       # another checkout (same bench/servers)
    python -m bench.export_memory --fresh               # a new page (client id) per export
    python -m bench.export_memory --env PYWRY_SERVER__MAX_EXPORTS_PER_MINUTE=1000

Starts `bench/servers/table_app.py` (`--rows` rows, 20,000 by default) of the checkout at
`--root` on a free loopback port, asks for one export to warm up, reads the server's VmRSS, asks
for `--exports` more (one after the other, each answered by a download or a refusal), waits
`--settle` seconds and reads VmRSS again. Prints one JSON line: RSS before and after (MiB),
the growth, and how many exports were answered with a download.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    """The resident set size of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def bootstrap(url: str) -> tuple[dict[str, Any], str]:
    """The page's bootstrap object and its session cookie."""
    with urllib.request.urlopen(url, timeout=10) as res:
        html = res.read().decode()
        cookie = (res.headers.get("set-cookie") or "").split(";")[0]
    start = html.index('id="pywry-bootstrap">') + len('id="pywry-bootstrap">')
    return json.loads(html[start : html.index("</script>", start)]), cookie


def open_page(base: str, boot: dict[str, Any], cookie: str) -> ClientConnection:
    ws_url = base.replace("http", "ws", 1) + boot["ws"]
    client = "c" + uuid.uuid4().hex[:12]
    return connect(
        f"{ws_url}?client={client}&after={boot['seq']}",
        subprotocols=[f"pywry.token.{boot['token']}"],  # type: ignore[list-item]
        additional_headers={"Cookie": cookie} if cookie else None,
        max_size=None,
        open_timeout=10,
    )


def export(ws: ClientConnection, ident: int) -> bool:
    """One export; True when it was answered with a download (False: refused)."""
    ws.send(json.dumps({"type": "grid:export", "data": {"requestId": ident}, "id": ident}))
    for _ in range(1000):
        frame = json.loads(ws.recv(timeout=60))
        for msg in frame["events"] if "events" in frame else [frame]:
            if msg["type"] == "pywry:download":
                return True
            if msg["type"] == "grid:export-error":
                return False
    raise RuntimeError("no answer to an export")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to serve")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--exports", type=int, default=100)
    parser.add_argument("--fresh", action="store_true", help="a new page for every export")
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server")
    args = parser.parse_args()
    root = args.root.resolve()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWRY_")}
    env.update(
        PYTHONPATH=str(root),
        TABLE_ROWS=str(args.rows),
        PYWRY_SERVER__HOST="127.0.0.1",
        PYWRY_SERVER__PORT=str(port),
        PYWRY_SERVER__ACCESS_LOG="false",
        PYWRY_SERVER__LOG_LEVEL="warning",
    )
    env.update(item.split("=", 1) for item in args.env)
    app = root / "bench" / "servers" / "table_app.py"
    proc = subprocess.Popen(
        [sys.executable, str(app)], env=env, cwd=root, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/health", proc)
        boot, cookie = bootstrap(base + "/widget/trades")
        with open_page(base, boot, cookie) as ws:
            export(ws, 1)  # warm up: pandas' CSV writer, the first buffers
        before = rss_mib(proc.pid)
        pages, each = (args.exports, 1) if args.fresh else (1, args.exports)
        downloads, ident = 0, 1
        for _ in range(pages):
            with open_page(base, boot, cookie) as ws:
                for _ in range(each):
                    ident += 1
                    downloads += export(ws, ident)
        time.sleep(args.settle)  # closed pages detach; what is kept stays
        after = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        json.dumps(
            {
                "root": str(root),
                "rows": args.rows,
                "exports": args.exports,
                "fresh_pages": args.fresh,
                "env": args.env,
                "downloads": downloads,
                "rss_before_mib": round(before, 1),
                "rss_after_mib": round(after, 1),
                "growth_mib": round(after - before, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
