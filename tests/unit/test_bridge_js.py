"""Runs the bridge's Node self-check (seq de-dup, gaps, queue-before-open, acks, HTTP fallback)."""

from __future__ import annotations

import subprocess

from tests.support import ROOT, require_binary


def test_bridge_selfcheck_passes() -> None:
    node = require_binary("node", "apt-get install nodejs")
    out = subprocess.run(
        [node, str(ROOT / "tests" / "js" / "bridge_selfcheck.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "checks passed" in out.stdout
