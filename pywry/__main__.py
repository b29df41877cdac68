"""`python -m pywry`: the `pywry` command line."""

from .cli import main

raise SystemExit(main())
