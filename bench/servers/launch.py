"""Run an ASGI app under uvicorn with the settings every bench server shares.

    python -m bench.servers.launch MODULE:APP --port N [--workers N]

pywry, the raw Starlette/FastAPI baselines and PyWebIO all go through here, so they run under
the same uvicorn, event loop (uvloop when installed), HTTP parser and WebSocket implementation.
pywry's own `deploy()` builds the same `uvicorn.Config` from its settings.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(16384, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    sys.path.insert(0, os.getcwd())
    import uvicorn  # noqa: PLC0415

    uvicorn.run(
        args.app,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        ws_max_size=4 * 1024 * 1024,
        backlog=4096,
        timeout_keep_alive=5,
        lifespan="auto",
    )


if __name__ == "__main__":
    main()
