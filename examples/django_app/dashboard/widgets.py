"""The Full Example dashboard dashboard, shared with the other framework examples."""

import sys
from pathlib import Path

# examples/sales_dashboard.py holds the dashboard every framework example embeds
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sales_dashboard import widget  # noqa: E402

__all__ = ["widget"]
