"""`python -m bench` (or `make bench`): run every scenario; see bench/README.md."""

from __future__ import annotations

import sys

from .runner import main

sys.exit(main())
