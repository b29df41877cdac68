"""Protocol v1 parsing, encoding and the small pieces of security around it."""

from __future__ import annotations

import json
import threading

import pytest

from pywry.core import protocol as p
from pywry.core.origins import OriginPolicy
from pywry.core.outbox import Outbox
from pywry.core.tokens import new_token, token_from_subprotocols, tokens_equal


def test_valid_event_is_parsed() -> None:
    msg = p.parse_incoming('{"type":"app:click","data":{"x":1},"id":17,"widgetId":"c"}', 1000)
    assert (msg.type, msg.data, msg.id, msg.widget_id) == ("app:click", {"x": 1}, 17, "c")


def test_missing_data_becomes_empty_dict_and_id_is_optional() -> None:
    msg = p.parse_incoming('{"type":"app:click"}', 1000)
    assert msg.data == {} and msg.id is None


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{", "bad-message"),
        ("42", "bad-message"),
        ('"text"', "bad-message"),
        ('{"type": 5}', "bad-message"),
        ('{"type": "noseparator"}', "bad-message"),
        ('{"type": "a:b", "id": 0}', "bad-message"),
        ('{"type": "a:b", "id": 1.5}', "bad-message"),
        ('{"type": "a:b", "id": true}', "bad-message"),
        ('{"type": "a:b", "widgetId": 3}', "bad-message"),
        ('{"type": "a:b", "data": ' + "[" * 33 + "]" * 33 + "}", "bad-message"),
        ('{"type": "a:b", "data": "' + "x" * 2000 + '"}', "too-big"),
    ],
)
def test_bad_frames_raise_protocol_error(frame: str, code: str) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.parse_incoming(frame, 1000)
    assert info.value.code == code


def test_depth_limit_is_32_levels() -> None:
    ok = '{"type":"a:b","data":' + "[" * 31 + "]" * 31 + "}"
    assert p.parse_incoming(ok, 10_000).type == "a:b"


def test_size_limit_counts_utf8_bytes() -> None:
    frame = '{"type":"a:b","data":"' + "é" * 600 + '"}'
    assert len(frame) < 1000 < len(frame.encode())
    with pytest.raises(p.ProtocolError):
        p.parse_incoming(frame, 1000)


def test_batch_joins_encoded_frames_without_reencoding() -> None:
    frames = [p.sequenced("a:b", {"i": i}, i + 1) for i in range(3)]
    assert p.batch(frames[:1]) == frames[0]
    assert json.loads(p.batch(frames)) == {"events": [json.loads(f) for f in frames]}
    assert json.loads(p.ack(5)) == {"type": "pywry:ack", "data": {"id": 5}}


def test_event_names() -> None:
    assert p.check_event_name("chart:export") == "chart:export"
    with pytest.raises(ValueError, match="namespace:name"):
        p.check_event_name("export")
    with pytest.raises(ValueError, match="reserved"):
        p.check_event_name("pywry:x", allow_reserved=False)


def test_tokens() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert tokens_equal(a, a) and not tokens_equal(a, b) and not tokens_equal(a, None)
    assert token_from_subprotocols(["chat", f"pywry.token.{a}"]) == (a, f"pywry.token.{a}")
    assert token_from_subprotocols(["chat"]) == (None, None)


@pytest.mark.parametrize(
    ("allowed", "origin", "host", "ok"),
    [
        ([], "http://127.0.0.1:8765", "127.0.0.1:8765", True),
        ([], "http://evil.example", "127.0.0.1:8765", False),
        ([], None, "127.0.0.1:8765", True),
        ([], "null", "127.0.0.1:8765", False),
        (["https://*.example.com"], "https://app.example.com", "x:1", True),
        (["https://*.example.com"], "http://app.example.com", "x:1", False),
        (["https://*.example.com"], "https://example.com.evil.io", "x:1", False),
    ],
)
def test_origin_policy(allowed: list[str], origin: str | None, host: str, ok: bool) -> None:
    assert OriginPolicy(allowed).allows(origin, host) is ok


def test_check_origin_callable_replaces_patterns_and_failures_refuse() -> None:
    assert OriginPolicy(["*"], lambda o: o.endswith(".corp")).allows("https://x.corp", "h")
    assert not OriginPolicy(["*"], lambda o: o.endswith(".corp")).allows("https://x.io", "h")

    def broken(origin: str) -> bool:
        raise RuntimeError

    assert not OriginPolicy([], broken).allows("https://x.corp", "h")


def test_outbox_replays_and_reports_gaps() -> None:
    box = Outbox(size=5, max_age=60)
    for i in range(8):
        box.append("a:b", {"i": i})
    assert box.seq == 8
    assert [json.loads(t)["seq"] for t in box.since(5)] == [6, 7, 8]
    assert box.since(8) == []
    assert box.since(2) is None  # 3 was evicted
    assert box.since(3) is not None  # 4..8 still kept
    assert box.since(9) is None  # the client saw more than we have: a restart


def test_outbox_orders_concurrent_emits() -> None:
    box = Outbox(size=10_000, max_age=60)

    def emit() -> None:
        for i in range(500):
            box.append("a:b", {"i": i})

    threads = [threading.Thread(target=emit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [json.loads(t)["seq"] for t in box.since(0) or []]
    assert seqs == list(range(1, 2001))


def test_outbox_expires_by_age() -> None:
    box = Outbox(size=10, max_age=0.0)
    box.append("a:b", {})
    box.append("a:b", {})
    assert box.since(0) is None and box.since(2) == []


def test_outbox_is_bounded_in_bytes_and_always_keeps_the_newest() -> None:
    box = Outbox(size=1000, max_age=60, max_bytes=10_000)
    for i in range(10):
        box.append("a:b", {"i": i, "blob": "x" * 3_000})  # about 3 KB each
    kept = box.since(box.seq - len(box)) or []
    assert len(kept) == 3 and box.bytes == sum(len(t) for t in kept) <= 10_000
    assert box.since(0) is None  # the oldest went: a page asking for them must resync
    big = box.append("a:b", {"blob": "y" * 50_000})[1]  # bigger than the bound on its own
    assert box.since(box.seq - 1) == [big] and box.bytes == len(big)
    assert len(box) == 1
