"""A bearer token lives at least its `ttl` (the expiry is rounded up to whole seconds)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pywry.core import signing
from pywry.core.signing import BEARER, Signer


def test_a_token_lives_its_whole_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.9]
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now[0]))
    signer = Signer("s" * 32)
    token = signer.token(BEARER, {"id": "alice"}, ttl=1)
    now[0] = 1001.8  # 0.9 s later: still within its second
    assert signer.open_token(BEARER, token) == {"id": "alice", "exp": 1002}
    now[0] = 1002.01
    assert signer.open_token(BEARER, token) is None
