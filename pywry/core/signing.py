"""Values signed with the app's secret: session cookies and bearer tokens.

A signed value is `payload.signature`, the signature an HMAC-SHA256 of a purpose name and the
payload, so a cookie can never be passed off as a token or the other way round. Tokens carry
their expiry inside the signed part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

SESSION = "session"
BEARER = "bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks values with one secret (the app's `AUTH_SECRET`, or a random one)."""

    def __init__(self, secret: str | None) -> None:
        self.ephemeral = secret is None  # a secret of this process only: one worker, no store
        self._key = (secret or secrets.token_urlsafe(32)).encode()

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def sign(self, purpose: str, payload: str) -> str:
        """`payload` with its signature for `purpose`."""
        return f"{payload}.{self._mac(purpose, payload)}"

    def unsign(self, purpose: str, signed: str) -> str | None:
        """The payload of a value this secret signed for `purpose`, else None."""
        payload, dot, mac = signed.rpartition(".")
        if not dot or not payload:
            return None
        if not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        return payload

    def token(self, purpose: str, data: dict[str, Any], ttl: float) -> str:
        """A signed token of `data` that stops being valid after `ttl` seconds."""
        # rounded up to whole seconds: a token lives at least `ttl` seconds, never less
        body = json.dumps({**data, "exp": math.ceil(time.time() + ttl)}, separators=(",", ":"))
        return self.sign(purpose, _b64(body.encode()))

    def open_token(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The data of a token signed here for `purpose` and not expired, else None."""
        payload = self.unsign(purpose, token)
        if payload is None:
            return None
        try:
            data = json.loads(_unb64(payload))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
            return None
        if data["exp"] < time.time():
            return None
        return data
