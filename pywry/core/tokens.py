"""Widget tokens: creation, constant-time comparison, and the subprotocol that carries them."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

SUBPROTOCOL_PREFIX = "pywry.token."


def new_token() -> str:
    """A fresh unguessable token (256 bits), compared only with `tokens_equal`."""
    return secrets.token_urlsafe(32)


def new_label() -> str:
    """An unguessable widget label for widgets the author did not name."""
    return "w-" + secrets.token_urlsafe(12)


def tokens_equal(expected: str, given: str | None) -> bool:
    """Compare in constant time; a missing token never matches."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def token_from_subprotocols(offered: Iterable[str]) -> tuple[str | None, str | None]:
    """Find `pywry.token.<token>` among the offered subprotocols.

    Returns (token, subprotocol to echo). The subprotocol is echoed even for a wrong token so that
    the browser completes the handshake and sees our close code instead of a bare 1006.
    """
    for proto in offered:
        proto = proto.strip()
        if proto.startswith(SUBPROTOCOL_PREFIX):
            return proto[len(SUBPROTOCOL_PREFIX) :], proto
    return None, None


def split_header(value: str | None) -> list[str]:
    """Split a comma-separated header such as Sec-WebSocket-Protocol."""
    if not value:
        return []
    return [p.strip() for p in value.split(",") if p.strip()]
