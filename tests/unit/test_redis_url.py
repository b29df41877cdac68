"""Sentinel URLs, the cluster switch and the key names that keep a widget on one slot."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.crc import key_slot

from pywry.config import ConfigError, PyWrySettings, settings_summary
from pywry.redis_url import SentinelTarget, mask_password, parse_sentinel_url
from pywry.state.redis import RedisBackend
from pywry.state.redis_client import RedisClient


def test_sentinel_url_forms() -> None:
    assert parse_sentinel_url("redis+sentinel://s1:26379/mymaster") == SentinelTarget(
        (("s1", 26379),), "mymaster"
    )
    assert parse_sentinel_url(
        "redis+sentinel://:p%40ss@10.0.0.1:26379,s2:26380,[::1]:26381/cache/3"
    ) == SentinelTarget(
        (("10.0.0.1", 26379), ("s2", 26380), ("::1", 26381)), "cache", 3, None, "p@ss"
    )
    assert parse_sentinel_url("redis+sentinel://app:pw@s:1/m").username == "app"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel:///mymaster", "host:port"),
        ("redis+sentinel://s1/mymaster", "host:port"),
        ("redis+sentinel://s1:26379,s2/mymaster", "'s2'"),
        ("redis+sentinel://s1:99999/mymaster", "host:port"),
        ("redis+sentinel://s1:26379", "service name"),
        ("redis+sentinel://s1:26379/", "service name"),
        ("redis+sentinel://s1:26379/m/x", "database number"),
        ("redis+sentinel://s1:26379/m/0/1", "database number"),
        ("redis+sentinel://s1:26379/m?ssl=1", "no query"),
        ("redis+sentinel://secret@s1:26379/m", ":password@"),
    ],
)
def test_bad_sentinel_urls_are_refused_naming_the_setting(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"^deploy\.redis_url: ") as err:
        PyWrySettings(deploy={"redis_url": url})
    assert says in str(err.value)
    assert "secret" not in str(err.value)


def test_a_cluster_needs_one_plain_node_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWRY_DEPLOY__REDIS_CLUSTER", "true")
    assert PyWrySettings().deploy.redis_cluster is True
    monkeypatch.setenv("PYWRY_DEPLOY__REDIS_URL", "redis+sentinel://:pw@s:1/m")
    with pytest.raises(ConfigError, match="^PYWRY_DEPLOY__REDIS_CLUSTER: .*any of its nodes") as e:
        PyWrySettings()
    assert "pw" not in str(e.value)
    monkeypatch.setenv("PYWRY_DEPLOY__REDIS_URL", "redis://node:7000/2")
    with pytest.raises(ConfigError, match="database 0 only"):
        PyWrySettings()


def test_prefixes_with_braces_would_change_the_hash_tags() -> None:
    with pytest.raises(ConfigError, match=r"deploy\.redis_prefix: .*braces"):
        PyWrySettings(deploy={"redis_prefix": "app{1}"})


def test_passwords_are_masked_in_every_url_form() -> None:
    assert (
        mask_password("redis+sentinel://:pw@s1:1,s2:2/m/0") == "redis+sentinel://:***@s1:1,s2:2/m/0"
    )
    assert mask_password("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert mask_password("redis://h:1/0") == "redis://h:1/0"
    summary = settings_summary(PyWrySettings(deploy={"redis_url": "redis+sentinel://:pw@s:1/m"}))
    assert summary["deploy"]["redis_url"] == "redis+sentinel://:***@s:1/m"


def test_each_mode_builds_redis_pys_own_client() -> None:
    sentinel = RedisClient(
        PyWrySettings(deploy={"redis_url": "redis+sentinel://:pw@s1:1,s2:2/svc/4"}).deploy
    )
    assert sentinel.sentinel is not None and len(sentinel.sentinel.sentinels) == 2
    assert isinstance(sentinel.pool, SentinelConnectionPool) and sentinel.service == "svc"
    kwargs = sentinel.pool.connection_kwargs
    assert (kwargs["db"], kwargs["password"]) == (4, "pw")
    assert sentinel.pool.max_connections == 11  # the pool size, and the subscription's
    cluster = RedisClient(
        PyWrySettings(deploy={"redis_url": "redis://n1:7000", "redis_cluster": True}).deploy
    )
    assert isinstance(cluster.redis, RedisCluster) and cluster.pool is None
    single = RedisClient(PyWrySettings().deploy)
    assert single.sentinel is None and not single.cluster and single.pool is not None


def test_every_key_of_one_widget_has_its_label_as_hash_tag() -> None:
    backend = RedisBackend(PyWrySettings(deploy={"redis_prefix": "app"}), "w1")
    keys = [
        backend.w("widget", "chart"),
        backend.w("seq", "chart"),
        backend.w("outbox", "chart"),
        backend.w("seq", "chart~c~page1"),
        backend.w("outbox", "chart~s~sess1"),
        backend.w("client", "chart", "page1"),
        backend.w("conns", "chart"),
    ]
    assert keys[0] == "app:widget:{chart}" and keys[3] == "app:seq:{chart}~c~page1"
    assert keys[5] == "app:client:{chart}:page1"
    assert {key_slot(k.encode()) for k in keys} == {key_slot(b"chart")}
    assert backend.k("widgets", "active") == "app:widgets:active"
