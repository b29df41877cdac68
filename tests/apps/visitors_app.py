"""The deploy guide's Full Example as one worker of several, plus a route that emits from outside
any callback (what a scheduled job or an admin action does: it reaches every page)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import deploy_full_example as demo  # noqa: E402

from pywry.inline import deploy  # noqa: E402

WORKER = os.environ.get("TEST_WORKER_NAME", "w?")


@demo.app.post("/announce")
def announce(n: int = 0) -> dict[str, object]:
    demo.widget.emit("app:announce", {"n": n, "worker": WORKER})
    return {"worker": WORKER}


if __name__ == "__main__":
    deploy()
