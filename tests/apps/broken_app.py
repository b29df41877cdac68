"""A module that fails while it is imported (what `pywry serve` must report in one line)."""

raise RuntimeError("no database")
