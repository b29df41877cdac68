"""The limits one client meets, keyed on what the server saw (pywry.core.limits)."""

from __future__ import annotations

from dataclasses import dataclass

from pywry.config import ServerSettings
from pywry.core.limits import Limits, address_key, make_room


def test_ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:10.0.0.7") == address_key("10.0.0.7") == "10.0.0.7"
    assert address_key("") is None  # a Unix socket: no per-address limit


def test_fresh_client_ids_do_not_multiply_the_address_budget() -> None:
    server = ServerSettings(max_new_clients_per_minute=3)
    limits = Limits(lambda: server)
    results = [limits.new_client("10.0.0.1", "board", f"c{i}") for i in range(5)]
    assert results[:3] == [None, None, None]
    refused = results[3]
    assert refused is not None and refused.status == 429 and refused.retry_after >= 1
    assert limits.new_client("10.0.0.1", "board", "c0") is None  # a known client comes back
    assert limits.new_client("10.0.0.2", "board", "c9") is None  # another address


def test_events_are_limited_per_address_and_per_token() -> None:
    server = ServerSettings(
        max_events_per_second=1000,
        max_events_per_second_per_address=5,
        max_events_per_second_per_token=8,
    )
    limits = Limits(lambda: server)
    from_one = [limits.event("10.0.0.1", "board", f"c{i}") for i in range(7)]
    assert sum(r is None for r in from_one) == 5  # fresh client ids or not
    from_two = [limits.event("10.0.0.2", "board", f"d{i}") for i in range(7)]
    assert sum(r is None for r in from_two) == 3  # the widget's token has 8 in all
    assert limits.event("10.0.0.3", "other", "e") is None  # another widget's token


@dataclass(eq=False)
class Conn:
    client: str
    address: str
    opened: float
    closed: bool = False

    @property
    def counted_as(self) -> str | None:
        return address_key(self.address)


def test_a_client_that_connects_again_replaces_its_oldest_connection() -> None:
    server = ServerSettings(max_connections_per_client=2)
    old, new = Conn("a", "10.0.0.1", 1), Conn("a", "10.0.0.1", 2)
    drop, refusal = make_room([new, old, Conn("b", "10.0.0.2", 0)], "a", "10.0.0.1", server)
    assert refusal is None and drop == [old]


def test_an_address_at_its_share_loses_duplicates_first_then_is_refused() -> None:
    server = ServerSettings(max_connections_per_address=3, max_connections_per_client=5)
    dup_old, dup_new = Conn("a", "10.0.0.1", 1), Conn("a", "10.0.0.1", 2)
    held = [dup_old, dup_new, Conn("b", "10.0.0.1", 3)]
    drop, refusal = make_room(held, "c", "10.0.0.1", server)
    assert refusal is None and drop == [dup_old]
    full = [Conn(f"x{i}", "10.0.0.1", i) for i in range(3)]
    drop, refusal = make_room(full, "c", "10.0.0.1", server)
    assert drop == [] and refusal is not None and refusal.status == 429
    assert make_room(full, "c", "10.0.0.2", server) == ([], None)  # another address fits


def test_a_full_widget_closes_a_duplicate_before_refusing() -> None:
    server = ServerSettings(
        max_connections_per_widget=3, max_connections_per_address=10, max_connections_per_client=5
    )
    dup = Conn("a", "10.0.0.1", 1)
    held = [dup, Conn("a", "10.0.0.1", 2), Conn("b", "10.0.0.2", 3)]
    assert make_room(held, "n", "10.0.0.3", server) == ([dup], None)
    distinct = [Conn(f"x{i}", f"10.0.0.{i}", i) for i in range(3)]
    drop, refusal = make_room(distinct, "n", "10.0.0.9", server)
    assert drop == [] and refusal is not None and "widget" in refusal.detail
