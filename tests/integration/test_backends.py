"""The shared backends on their own: real Redis and real SQLite files."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pywry.config import PyWrySettings
from pywry.core.streams import CLIENT, stream_key
from pywry.state.base import WidgetData
from pywry.state.redis import RedisBackend
from pywry.state.sqlite import SqliteBackend
from tests.support import ROOT, clean_env, run_async

pytestmark = pytest.mark.integration


def settings(tmp_path: Path, redis_url: str = "redis://127.0.0.1:1/0", prefix: str = "p"):
    return PyWrySettings(
        deploy={
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "sqlite_path": str(tmp_path / "state.db"),
            "widget_ttl": 100,
            "connection_ttl": 50,
        },
        server={"outbox_size": 5},
    )


def data(label: str = "w", token: str = "tok-a") -> WidgetData:
    return WidgetData(label, token, "<p>x</p>", "T", "", "html", "dark", False, "worker-a")


async def exercise(backend) -> None:
    got: list[tuple[str, int, str]] = []
    await backend.start(lambda *m: got.append(m), _noop, lambda *w: None)
    try:
        assert await backend.save_widget(data(token="tok-a")) == ("tok-a", 0)
        # a second worker registering the same label adopts the first token
        assert (await backend.save_widget(data(token="tok-b")))[0] == "tok-a"
        batch = [("w", "app:x", '{"i":%d}' % i, "seq", f"m{i}") for i in range(8)]
        assert await backend.publish(batch) == list(range(1, 9))
        # a batch published again after its write landed (its answer was lost) is stored once
        # and keeps the seqs it got the first time
        assert await backend.publish(batch[-2:]) == [7, 8]
        assert await backend.since("w", 8) == []
        # a page's stream whose counter the store lost (a restart without persistence) goes on
        # from where this worker knows it was, never repeating a position the page has seen
        page = stream_key("w", CLIENT, "c1")
        await backend.restore_heads([(page, 41)])
        assert await backend.publish([(page, "app:r", "{}", "cseq", "r1")]) == [42]
        await backend.restore_heads([(page, 5)])  # never lowers
        assert await backend.publish([(page, "app:r", "{}", "cseq", "r2")]) == [43]
        assert [t for t in await backend.since("w", 5)] == [
            '{"type":"app:x","data":{"i":%d},"seq":%d}' % (i, i + 1) for i in range(5, 8)
        ]
        assert await backend.since("w", 1) is None  # only the newest 5 are kept
        assert await backend.since("w", 9) is None
        assert await backend.accept_event("w", "c1", 1) is True
        assert await backend.accept_event("w", "c1", 1) is False
        assert await backend.accept_event("w", "c1", 2) is True
        # event 4 goes through while 3 was refused (an outage, a race of posts): 3, resent
        # later, is still new; each runs once
        assert await backend.accept_event("w", "c1", 4) is True
        assert await backend.accept_event("w", "c1", 3) is True
        assert [await backend.accept_event("w", "c1", i) for i in (2, 3, 4)] == [False] * 3
        assert await backend.accept_event("w", "c1", 5) is True
        loaded = await backend.load_widget("w")
        assert loaded is not None and loaded.token == "tok-a" and loaded.seq == 8
        await backend.update_widget("w", content="<p>new</p>")
        assert (await backend.load_widget("w")).content == "<p>new</p>"
        await backend.heartbeat({"w": ["conn-1"]})
        assert await backend.worker_alive(backend.worker_id)
        assert not await backend.worker_alive("nobody")
        count, seen = await backend.presence("w")
        assert count == 1 and seen is not None
        await backend.connection_closed("w", "conn-1")
        assert (await backend.presence("w"))[0] == 0
        for _ in range(200):  # deliveries are asynchronous (pub/sub or polling)
            if len(got) >= 8:
                break
            await asyncio.sleep(0.01)
        assert [m[1] for m in got[:8]] == list(range(1, 9))
        await backend.delete_widget("w")
        assert await backend.load_widget("w") is None
        # who may open a widget travels with it, for the other workers' copies
        rules = '{"roles":["admin"],"user":"alice"}'
        ruled = data("ruled")
        ruled.rules = rules
        await backend.save_widget(ruled)
        assert (await backend.load_widget("ruled")).rules == rules
    finally:
        await backend.stop()


async def _noop(payload) -> None:
    return None


def test_redis_backend(tmp_path, redis_server) -> None:
    prefix = "t" + uuid.uuid4().hex[:6]
    run_async(exercise(RedisBackend(settings(tmp_path, redis_server.url, prefix), "worker-a")))
    # every key it leaves behind has a TTL
    client = redis_server.client()
    run_async(_leave_keys(RedisBackend(settings(tmp_path, redis_server.url, prefix), "w-b")))
    keys = client.keys(f"{prefix}:*")
    assert keys, "expected keys under the prefix"
    assert all(client.ttl(k) > 0 for k in keys), {k: client.ttl(k) for k in keys}


def test_redis_outbox_is_bounded_in_bytes_too(tmp_path, redis_server) -> None:
    """Five 3 KB messages fit OUTBOX_SIZE (5) but not 10K: the oldest go, the newest stays."""
    base = settings(tmp_path, redis_server.url, "b" + uuid.uuid4().hex[:6])
    server = base.server.model_copy(update={"outbox_max_bytes": 10_000})
    backend = RedisBackend(base.model_copy(update={"server": server}), "worker-a")

    async def run() -> None:
        await backend.start(lambda *m: None, _noop, lambda *w: None)
        try:
            await backend.save_widget(data())
            blob = '{"blob":"%s"}' % ("x" * 3_000)
            await backend.publish([("w", "app:x", blob, "seq", f"b{i}") for i in range(5)])
            assert await backend.since("w", 0) is None  # the oldest went
            assert len(await backend.since("w", 2) or []) == 3
            huge = '{"blob":"%s"}' % ("y" * 50_000)  # more than the bound on its own
            await backend.publish([("w", "app:x", huge, "seq", "huge")])
            kept = await backend.since("w", 5) or []
            assert len(kept) == 1 and huge in kept[0]
        finally:
            await backend.delete_widget("w")
            await backend.stop()

    run_async(run())


async def _leave_keys(backend) -> None:
    await backend.start(lambda *m: None, _noop, lambda *w: None)
    await backend.save_widget(data("kept"))
    await backend.publish([("kept", "app:x", "{}", "seq", "m1")])
    await backend.accept_event("kept", "c", 1)
    await backend.heartbeat({"kept": ["c1"]})
    await backend.connection_closed("kept", "c1")
    await backend.update_widget("kept", theme="light")
    await backend.stop()


def test_two_prefixes_on_one_redis_never_see_each_other(tmp_path, redis_server) -> None:
    async def run() -> None:
        a = RedisBackend(settings(tmp_path, redis_server.url, "appA" + uuid.uuid4().hex[:4]), "a")
        b = RedisBackend(settings(tmp_path, redis_server.url, "appB" + uuid.uuid4().hex[:4]), "b")
        seen_b: list = []
        await a.start(lambda *m: None, _noop, lambda *w: None)
        await b.start(lambda *m: seen_b.append(m), _noop, lambda *w: None)
        await a.save_widget(data("same", "token-a"))
        assert await b.load_widget("same") is None
        assert (await b.save_widget(data("same", "token-b")))[0] == "token-b"
        await a.publish([("same", "app:x", "{}", "seq", "m1")])
        await asyncio.sleep(0.1)
        assert seen_b == []
        await a.stop()
        await b.stop()

    run_async(run())


def test_redis_pool_is_shared_and_sized(tmp_path, redis_server) -> None:
    backend = RedisBackend(settings(tmp_path, redis_server.url, "pool"), "w")
    assert backend.pool.max_connections == 10

    async def run() -> None:
        await asyncio.gather(*(backend.accept_event("w", f"c{i}", 1) for i in range(50)))
        pool = backend.pool
        made = len(pool._available_connections) + len(pool._in_use_connections)  # noqa: SLF001
        assert 1 <= made <= 10
        await backend.stop()

    run_async(run())


def test_sqlite_backend_encrypted(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYWRY_SQLITE_KEY", "secret-key")
    backend = SqliteBackend(settings(tmp_path), "worker-a")
    run_async(exercise(backend))
    assert backend.encrypted
    with pytest.raises(sqlite3.DatabaseError):  # plain SQLite cannot read it
        sqlite3.connect(tmp_path / "state.db").execute("SELECT * FROM widgets").fetchall()
    assert b"tok-a" not in (tmp_path / "state.db").read_bytes()


def test_a_sqlite_file_from_before_widget_rules_is_upgraded_in_place(tmp_path) -> None:
    """A state file made by the previous release (no `rules` column) keeps its widgets and
    takes rules from now on."""
    from pywry.state.sqlite import _sqlcipher, encryption_key

    path = tmp_path / "state.db"
    cipher = _sqlcipher()
    old = (cipher or sqlite3).connect(str(path))
    if cipher is not None:  # made as the previous release made it: encrypted
        old.execute("PRAGMA key = '%s'" % encryption_key(path).replace("'", "''"))
    old.execute(
        "CREATE TABLE widgets (label TEXT PRIMARY KEY, token TEXT NOT NULL, content TEXT NOT NULL,"
        " title TEXT, head TEXT, kind TEXT, theme TEXT, per_visitor INTEGER, owner TEXT,"
        " seq INTEGER NOT NULL DEFAULT 0, created REAL, last_seen REAL, expires REAL NOT NULL,"
        " session TEXT NOT NULL DEFAULT '')"
    )
    old.execute(
        "INSERT INTO widgets VALUES ('kept', 'tok-k', '<p>k</p>', 'K', '', 'html', 'dark', 0,"
        " 'worker-z', 3, 0, 0, 1e12, '')"
    )
    old.commit()
    old.close()

    async def check() -> None:
        backend = SqliteBackend(settings(tmp_path), "worker-a")
        await backend.start(lambda *m: None, _noop, lambda *w: None)
        try:
            kept = await backend.load_widget("kept")
            assert kept is not None and kept.token == "tok-k" and kept.rules == ""
            ruled = data("ruled")
            ruled.rules = '{"roles":["ops"]}'
            await backend.save_widget(ruled)
            assert (await backend.load_widget("ruled")).rules == '{"roles":["ops"]}'
        finally:
            await backend.stop()

    run_async(check())


def test_sqlite_files_are_private_to_their_user(tmp_path, monkeypatch) -> None:
    """The folder pywry makes is 0700; the database, its WAL, the salt and lock files 0600 (even
    under a permissive umask), whether or not SQLCipher encrypts the file."""
    monkeypatch.delenv("PYWRY_SQLITE_KEY", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    folder = tmp_path / "fresh" / "state"
    config = settings(tmp_path)
    config.deploy.sqlite_path = str(folder / "pywry.db")
    old_umask = os.umask(0o022)
    try:
        run_async(exercise(SqliteBackend(config, "worker-a")))
    finally:
        os.umask(old_umask)
    assert folder.stat().st_mode & 0o777 == 0o700
    made = sorted(folder.iterdir())
    assert {f.name for f in made} >= {"pywry.db", ".pywry-sqlite-salt"}
    for path in made:
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_workers_starting_together_agree_on_one_sqlite_key(tmp_path) -> None:
    """Eight processes ask for the key of a new database at once: one salt, one key."""
    script = (
        "import sys; from pathlib import Path; from pywry.state.sqlite import encryption_key; "
        "print(encryption_key(Path(sys.argv[1])))"
    )
    env = clean_env(PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    target = str(tmp_path / "new" / "pywry.db")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, target],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(8)
    ]
    outs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, [err for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1


def test_sqlite_key_from_salt_file_when_no_env_or_keyring(tmp_path, monkeypatch) -> None:
    from pywry.state.sqlite import encryption_key

    monkeypatch.delenv("PYWRY_SQLITE_KEY", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    key1 = encryption_key(tmp_path / "db.sqlite")
    key2 = encryption_key(tmp_path / "db.sqlite")
    salt = tmp_path / ".pywry-sqlite-salt"
    assert key1 == key2 and len(key1) == 64 and salt.exists()
    assert oct(salt.stat().st_mode & 0o777) == "0o600"


def test_sqlite_without_sqlcipher_warns_and_works(tmp_path) -> None:
    code = f"""
import asyncio, logging, sys
sys.modules['sqlcipher3'] = None  # as if the sqlite extra were not installed
logging.basicConfig(level=logging.WARNING)
from pywry.config import PyWrySettings
from pywry.core.streams import CLIENT, stream_key
from pywry.state.sqlite import SqliteBackend
b = SqliteBackend(PyWrySettings(deploy={{"sqlite_path": {str(tmp_path / "plain.db")!r}}}), "w")
async def run():
    await b.start(lambda *m: None, lambda p: None, lambda *w: None)
    assert (await b.save_widget(__import__('pywry.state.base', fromlist=['x']).WidgetData(
        'w', 't', 'c', 'T', '', 'html', '', False, 'w')))[0] == 't'
    await b.stop()
asyncio.run(run())
print("encrypted", b.encrypted)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "encrypted False" in out.stdout
    assert "NOT encrypted" in out.stderr
    rows = sqlite3.connect(tmp_path / "plain.db").execute("SELECT token FROM widgets").fetchall()
    assert rows == [("t",)]


def test_sqlite_two_processes_share_one_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYWRY_SQLITE_KEY", "k")

    async def run() -> None:
        a = SqliteBackend(settings(tmp_path), "a")
        b = SqliteBackend(settings(tmp_path), "b")
        got: list = []
        await a.start(lambda *m: None, _noop, lambda *w: None)
        await b.start(lambda *m: got.append(m), _noop, lambda *w: None)
        await a.save_widget(data("shared"))
        await a.publish([("shared", "app:x", "{}", "seq", "m1")])
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert got and got[0][:2] == ("shared", 1)
        await a.stop()
        await b.stop()

    run_async(run())


def test_redis_tells_a_worker_whether_its_unanswered_record_landed(tmp_path, redis_server) -> None:
    """An event recorded just as Redis went away (the answer lost): once Redis is back, the
    worker that tried learns its attempt took the event (and runs it), even after the page went
    on through another worker; another attempt does not claim it, and the same worker's next
    event replaces its mark."""

    async def check() -> None:
        prefix = "t" + uuid.uuid4().hex[:6]
        backend = RedisBackend(settings(tmp_path, redis_server.url, prefix), "worker-a")
        await backend.start(lambda *m: None, _noop, lambda *w: None)
        try:
            assert await backend.accept_event("w", "c1", 1, "worker-a.7")
            assert await backend.accepted_by("w", "c1", 1, "worker-a.7")
            assert not await backend.accepted_by("w", "c1", 1, "worker-b.7")
            assert not await backend.accept_event("w", "c1", 1, "worker-b.8")  # a resend
            assert await backend.accepted_by("w", "c1", 1, "worker-a.7")  # still the taker
            # the page reconnected to worker b and went on before worker a was back
            for ident in range(2, 12):
                assert await backend.accept_event("w", "c1", ident, f"worker-b.{ident + 7}")
            assert await backend.accept_and_route("w", "c1", 12, "worker-b", {"k": 1}) == 0
            assert await backend.accepted_by("w", "c1", 1, "worker-a.7")
            assert not await backend.accepted_by("w", "c1", 1, "worker-b.8")
            assert await backend.accepted_by("w", "c1", 11, "worker-b.18")
            assert await backend.accept_event("w", "c1", 13, "worker-a.8")
            assert not await backend.accepted_by("w", "c1", 1, "worker-a.7")
            assert await backend.accepted_by("w", "c1", 11, "worker-b.18")
            assert await backend.accept_event("w", "c1", 14)  # no attempt named: still dedups
            assert not await backend.accept_event("w", "c1", 2)
        finally:
            await backend.stop()

    run_async(check())
