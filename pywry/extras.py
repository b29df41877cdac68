"""The optional parts of pywry and how to install them: one place for the install hint.

The distribution on the package index is `pywry-server` (the name `pywry` there belongs to
another project); the import name stays `pywry`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DISTRIBUTION = "pywry-server"


def install_hint(extra: str) -> str:
    """The command that installs `extra`: pip install 'pywry-server[extra]'."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class MissingExtra(ImportError):
    """A feature needs an extra that is not installed; the message names the command."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the {extra} extra: {install_hint(extra)}")
        self.extra = extra


def need(module: str, feature: str, extra: str) -> ModuleType:
    """Import `module`, or raise `MissingExtra` saying that `feature` needs `extra`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(feature, extra) from None
