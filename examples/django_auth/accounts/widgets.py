"""The widgets the sign-in examples share (examples/auth_widgets.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # examples/

from auth_widgets import admin_only, whoami  # noqa: E402

__all__ = ["admin_only", "whoami"]
