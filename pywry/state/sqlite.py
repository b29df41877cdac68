"""SQLite backend: several worker processes on one host share one database file (WAL mode).

Encrypted with SQLCipher when the `sqlite` extra is installed (key from `PYWRY_SQLITE_KEY`, else
the OS keyring, else derived from a per-host salt file); plain SQLite with a logged warning when
SQLCipher is missing. Every call runs on one thread that owns the only connection of this
process, so the event loop never blocks on the database and no connection is shared across
threads. Workers learn of each other's messages by polling a table (there is no pub/sub).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar

from ..config import PyWrySettings
from ..extras import install_hint
from . import dedup
from .base import Backend, BackendUnavailable, JsonObject, Outgoing, WidgetData

log = logging.getLogger("pywry.state.sqlite")
T = TypeVar("T")


class Cursor(Protocol):
    """The part of a DB-API cursor used here (rows are tuples of column values)."""

    def fetchone(self) -> Any: ...  # a row tuple or None, as DB-API types it

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What is used of a connection; both sqlite3's and sqlcipher3's have it."""

    def execute(self, sql: str, parameters: Sequence[object] = ..., /) -> Cursor: ...

    def executescript(self, sql_script: str, /) -> object: ...

    def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS widgets (
  label TEXT PRIMARY KEY, token TEXT NOT NULL, content TEXT NOT NULL, title TEXT, head TEXT,
  kind TEXT, theme TEXT, per_visitor INTEGER, owner TEXT, seq INTEGER NOT NULL DEFAULT 0,
  created REAL, last_seen REAL, expires REAL NOT NULL, session TEXT NOT NULL DEFAULT '',
  rules TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL, seq INTEGER NOT NULL,
  text TEXT NOT NULL, ts REAL NOT NULL, mid TEXT);
CREATE INDEX IF NOT EXISTS messages_label_seq ON messages(label, seq);
CREATE TABLE IF NOT EXISTS clients (
  label TEXT NOT NULL, client TEXT NOT NULL, last_id INTEGER NOT NULL, expires REAL NOT NULL,
  seen TEXT NOT NULL DEFAULT '', PRIMARY KEY (label, client));
CREATE TABLE IF NOT EXISTS conns (
  label TEXT NOT NULL, conn_id TEXT NOT NULL, expires REAL NOT NULL,
  PRIMARY KEY (label, conn_id));
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY, expires REAL NOT NULL, pid INTEGER, host TEXT);
CREATE TABLE IF NOT EXISTS routes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, worker TEXT NOT NULL, payload TEXT NOT NULL,
  ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS routes_worker ON routes(worker, id);
CREATE TABLE IF NOT EXISTS streams (
  key TEXT PRIMARY KEY, seq INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL);
"""


def _sqlcipher() -> ModuleType | None:
    """SQLCipher's DB-API module when the optional ``sqlite`` extra is installed, else None."""
    try:
        return importlib.import_module("sqlcipher3.dbapi2")
    except ImportError:
        return None


def encryption_key(path: Path) -> str:
    """The SQLCipher key: PYWRY_SQLITE_KEY, else the OS keyring, else a per-host salt file.

    A key that has to be made is made under a lock on the database's folder, so workers that
    start together agree on one key.
    """
    env = os.environ.get("PYWRY_SQLITE_KEY")
    if env:
        return env
    private_folder(path.parent)
    with _folder_lock(path.parent):
        try:
            import keyring  # noqa: PLC0415 - optional extra

            stored = keyring.get_password("pywry", f"sqlite:{path}")
            if not stored:
                stored = secrets.token_hex(32)
                keyring.set_password("pywry", f"sqlite:{path}", stored)
                if keyring.get_password("pywry", f"sqlite:{path}") != stored:
                    raise RuntimeError("keyring did not keep the key")
            return stored
        except Exception:  # noqa: BLE001 - no usable keyring (headless servers): the salt file
            pass
        salt_file = path.parent / ".pywry-sqlite-salt"
        if not salt_file.exists():
            _write_private(salt_file, secrets.token_bytes(32))
        salt = salt_file.read_bytes()
    return hashlib.pbkdf2_hmac("sha256", socket.gethostname().encode(), salt, 100_000).hex()


def private_folder(folder: Path) -> None:
    """Make `folder` (mode 0700 when pywry creates it)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists; warn once if others may read it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "%s holds every widget token and is readable by others (mode %o): "
                "chmod 600 it", path, mode,
            )  # fmt: skip


def _write_private(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a temporary file renamed into place), mode 0600."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder`'s pywry lock file (other processes wait)."""
    if os.name != "posix":  # no flock: the salt file's atomic rename still keeps it whole
        yield
        return
    fcntl = importlib.import_module("fcntl")
    fd = os.open(folder / ".pywry-sqlite.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class SqliteBackend(Backend):
    """Shared state in one SQLite file for the workers of one host."""

    name = "sqlite"
    setting = "PYWRY_DEPLOY__SQLITE_PATH"

    def __init__(self, settings: PyWrySettings, worker_id: str) -> None:
        super().__init__(settings, worker_id)
        deploy = settings.deploy
        self.path = Path(os.path.expanduser(deploy.sqlite_path))
        self.widget_ttl = float(deploy.widget_ttl)
        self.conn_ttl = float(deploy.connection_ttl)
        self.client_ttl = max(float(deploy.connection_ttl), settings.server.reconnect_timeout * 2)
        self.outbox_size = int(settings.server.outbox_size)
        self.poll_interval = 0.01
        self.encrypted = False
        self._db: Connection | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pywry-sqlite")
        self._poller: asyncio.Task[None] | None = None
        self._last_message = 0
        self._last_cleanup = 0.0

    def where(self) -> str:
        """The database file."""
        return str(self.path)

    # -- the database thread -------------------------------------------------------------------
    def _open(self) -> None:
        private_folder(self.path.parent)
        private_file(self.path)  # SQLite gives its -wal and -shm files the same mode
        cipher = _sqlcipher()
        db: Connection
        if cipher is not None:
            db = cipher.connect(str(self.path), timeout=10, isolation_level=None)
            key = encryption_key(self.path).replace("'", "''")
            db.execute(f"PRAGMA key = '{key}'")
            self.encrypted = True
        else:
            log.warning(
                "SQLCipher is not installed (%s): the state database %s is NOT encrypted",
                install_hint("sqlite"),
                self.path,
            )
            db = sqlite3.connect(str(self.path), timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(widgets)").fetchall()}
        if "rules" not in columns:  # a file made before widgets had access rules
            db.execute("ALTER TABLE widgets ADD COLUMN rules TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in db.execute("PRAGMA table_info(messages)").fetchall()}
        if "mid" not in columns:  # a file made before messages had ids
            db.execute("ALTER TABLE messages ADD COLUMN mid TEXT")
        db.execute("CREATE INDEX IF NOT EXISTS messages_mid ON messages(label, mid)")
        columns = {row[1] for row in db.execute("PRAGMA table_info(clients)").fetchall()}
        if "seen" not in columns:  # a file made when only the highest event id was kept
            db.execute("ALTER TABLE clients ADD COLUMN seen TEXT NOT NULL DEFAULT ''")
        row = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
        self._last_message = int(row[0])
        self._db = db

    @property
    def _conn(self) -> Connection:
        """The open connection (only touched on the database thread)."""
        if self._db is None:
            raise BackendUnavailable("SQLite state database is not open (call start() first)")
        return self._db

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the database thread; database errors become BackendUnavailable."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            raise BackendUnavailable(f"SQLite state database failed: {exc}") from None
        except Exception as exc:
            if type(exc).__module__.startswith("sqlcipher3"):
                raise BackendUnavailable(f"SQLite state database failed: {exc}") from None
            raise

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` in one write transaction on the database thread."""
        return await self._run(lambda: self._tx(fn))

    def _tx(self, fn: Callable[[Connection], T]) -> T:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    # -- lifecycle -----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the database and start polling for other workers' messages and routed events."""
        if self._db is None:
            await self._run(self._open)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            try:
                messages, routes = await self._run(self._fetch_new)
            except BackendUnavailable as exc:
                log.warning("%s", exc)
                await asyncio.sleep(0.5)
                continue
            for label, seq, text in messages:
                if seq <= 0:  # 0 marks a deletion, -1 a content change; text names the worker
                    self.on_widget(label, "deleted" if seq == 0 else "updated", text)
                else:
                    self.on_message(label, seq, text)
            for payload in routes:
                await self.deliver_routed(payload)
            if not messages and not routes:
                await asyncio.sleep(self.poll_interval)

    def _fetch_new(self) -> tuple[list[tuple[str, int, str]], list[str]]:
        db = self._conn
        rows = db.execute(
            "SELECT id, label, seq, text FROM messages WHERE id > ? ORDER BY id LIMIT 1000",
            (self._last_message,),
        ).fetchall()
        if rows:
            self._last_message = rows[-1][0]
        routes = db.execute(
            "SELECT id, payload FROM routes WHERE worker = ? ORDER BY id", (self.worker_id,)
        ).fetchall()
        if routes:
            db.execute(
                "DELETE FROM routes WHERE worker = ? AND id <= ?", (self.worker_id, routes[-1][0])
            )
        now = time.time()
        if now - self._last_cleanup > 10:
            self._last_cleanup = now
            self._cleanup(now)
        return [(r[1], r[2], r[3]) for r in rows], [r[1] for r in routes]

    def _cleanup(self, now: float) -> None:
        db = self._conn
        for table in ("widgets", "clients", "conns", "workers", "streams", "sessions"):
            db.execute(f"DELETE FROM {table} WHERE expires < ?", (now,))  # noqa: S608
        db.execute("DELETE FROM routes WHERE ts < ?", (now - 60,))
        db.execute(
            "DELETE FROM messages WHERE ts < ? AND id < ?",
            (now - 3600, self._last_message - 10_000),
        )

    async def stop(self) -> None:
        """Stop polling and close the connection."""
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)

    async def ping(self) -> None:
        """Raise BackendUnavailable unless the database answers."""
        await self._run(lambda: self._conn.execute("SELECT 1").fetchone())

    # -- widgets -------------------------------------------------------------------------------
    async def save_widget(self, data: WidgetData) -> tuple[str, int]:
        """Create or refresh a widget; an existing live token wins."""
        ttl = self.conn_ttl if data.per_visitor else self.widget_ttl

        def save(db: Connection) -> tuple[str, int]:
            now = time.time()
            row = db.execute(
                "SELECT token, seq FROM widgets WHERE label = ? AND expires >= ?",
                (data.label, now),
            ).fetchone()
            token, seq = (row[0], row[1]) if row else (data.token, 0)
            seq = max(int(seq), data.seq)  # a restored store continues the numbering
            db.execute(
                "INSERT INTO widgets (label, token, content, title, head, kind, theme, per_visitor,"
                " owner, seq, created, last_seen, expires, session, rules)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,?,?,?)"
                " ON CONFLICT(label) DO UPDATE SET token=excluded.token, content=excluded.content,"
                " title=excluded.title, head=excluded.head, kind=excluded.kind,"
                " theme=excluded.theme, per_visitor=excluded.per_visitor, owner=excluded.owner,"
                " seq=excluded.seq, expires=excluded.expires, rules=excluded.rules,"
                " session=CASE WHEN session = '' THEN excluded.session ELSE session END",
                (
                    data.label,
                    token,
                    data.content,
                    data.title,
                    data.head,
                    data.kind,
                    data.theme,
                    int(data.per_visitor),
                    data.owner,
                    seq,
                    now,
                    now + ttl,
                    data.session,
                    data.rules,
                ),
            )
            return token, int(seq)

        return await self._write(save)

    async def load_widget(self, label: str) -> WidgetData | None:
        """The stored widget, or None."""

        def load() -> WidgetData | None:
            row = self._conn.execute(
                "SELECT token, content, title, head, kind, theme, per_visitor, owner, seq, session,"
                " rules FROM widgets WHERE label = ? AND expires >= ?",
                (label, time.time()),
            ).fetchone()
            if row is None:
                return None
            return WidgetData(
                label,
                row[0],
                row[1],
                row[2] or "PyWry",
                row[3] or "",
                row[4] or "html",
                row[5] or "",
                bool(row[6]),
                row[7] or "",
                row[8],
                row[9] or "",
                row[10] or "",
            )

        return await self._run(load)

    async def update_widget(self, label: str, **fields: str) -> None:
        """Change stored fields of a widget."""
        allowed = {
            k: v for k, v in fields.items() if k in ("content", "theme", "title", "head", "session")
        }
        if not allowed:
            return
        sets = ", ".join(f"{k} = ?" for k in allowed)

        def update(db: Connection) -> None:
            db.execute(
                f"UPDATE widgets SET {sets}, expires = ? WHERE label = ?",  # noqa: S608
                (*allowed.values(), time.time() + self.widget_ttl, label),
            )
            db.execute(
                "INSERT INTO messages (label, seq, text, ts) VALUES (?, -1, ?, ?)",
                (label, self.worker_id, time.time()),
            )

        await self._write(update)

    async def delete_widget(self, label: str) -> None:
        """Remove a widget and tell the other workers (a seq-0 message marks a deletion)."""

        def delete(db: Connection) -> None:
            for table in ("widgets", "clients", "conns", "messages"):
                db.execute(f"DELETE FROM {table} WHERE label = ?", (label,))  # noqa: S608
            db.execute(
                "INSERT INTO messages (label, seq, text, ts) VALUES (?, 0, ?, ?)",
                (label, self.worker_id, time.time()),
            )

        await self._write(delete)

    # -- messages ------------------------------------------------------------------------------
    async def publish(self, items: list[Outgoing]) -> list[int]:
        """Sequence and store messages in one transaction; pollers deliver them.

        A widget's own messages (`seq`) count in its row; a page's or session's stream
        (`cseq`, `sseq`) in `streams`, kept for the reconnect window. A message whose `mid`
        is stored already (a retried batch) keeps the seq it got.
        """

        def publish(db: Connection) -> list[int]:
            now = time.time()
            out = []
            for label, kind, data_json, field, mid in items:
                done = db.execute(
                    "SELECT seq FROM messages WHERE label = ? AND mid = ?", (label, mid)
                ).fetchone()
                if done is not None:
                    out.append(int(done[0]))
                    continue
                if field == "seq":
                    row = db.execute(
                        "UPDATE widgets SET seq = seq + 1 WHERE label = ? RETURNING seq", (label,)
                    ).fetchone()
                else:
                    row = db.execute(
                        "INSERT INTO streams (key, seq, expires) VALUES (?, 1, ?) "
                        "ON CONFLICT(key) DO UPDATE SET seq = seq + 1, expires = excluded.expires "
                        "RETURNING seq",
                        (label, now + self.stream_ttl),
                    ).fetchone()
                if row is None:  # not stored (yet): keep the message addressable anyway
                    out.append(0)
                    continue
                seq = int(row[0])
                text = '{"type":%s,"data":%s,"%s":%d}' % (json.dumps(kind), data_json, field, seq)
                db.execute(
                    "INSERT INTO messages (label, seq, text, ts, mid) VALUES (?, ?, ?, ?, ?)",
                    (label, seq, text, now, mid),
                )
                if seq > self.outbox_size:  # old enough that every poller has read it
                    db.execute(
                        "DELETE FROM messages WHERE label = ? AND seq <= ? AND ts < ?",
                        (label, seq - self.outbox_size, now - 30),
                    )
                out.append(seq)
            return out

        return await self._write(publish)

    async def restore_heads(self, heads: list[tuple[str, int]]) -> None:
        """Raise page/session stream seqs to the ones given (a replaced database file)."""

        def restore(db: Connection) -> None:
            expires = time.time() + self.stream_ttl
            for key, seq in heads:
                db.execute(
                    "INSERT INTO streams (key, seq, expires) VALUES (?, ?, ?) ON CONFLICT(key)"
                    " DO UPDATE SET seq = max(seq, excluded.seq), expires = excluded.expires",
                    (key, seq, expires),
                )

        await self._write(restore)

    async def stream_head(self, key: str) -> int:
        """The last seq of a page's or session's stream (0 for none)."""

        def head() -> int:
            row = self._conn.execute("SELECT seq FROM streams WHERE key = ?", (key,)).fetchone()
            return 0 if row is None else int(row[0])

        return await self._run(head)

    async def load_session(self, sid: str) -> str | None:
        """The stored text of session `sid`, or None."""

        def load() -> str | None:
            row = self._conn.execute(
                "SELECT data FROM sessions WHERE sid = ? AND expires >= ?", (sid, time.time())
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(load)

    async def save_session(self, sid: str, text: str, ttl: int) -> None:
        """Store session `sid` for `ttl` seconds."""

        def save(db: Connection) -> None:
            db.execute(
                "INSERT INTO sessions (sid, data, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(sid) DO UPDATE SET data = excluded.data, expires = excluded.expires",
                (sid, text, time.time() + ttl),
            )

        await self._write(save)

    async def since(self, label: str, after: int) -> list[str] | None:
        """Stored messages after `after`, or None for a gap."""

        def since() -> list[str] | None:
            db = self._conn
            table, column = ("streams", "key") if "~" in label else ("widgets", "label")
            row = db.execute(
                f"SELECT seq FROM {table} WHERE {column} = ?",  # noqa: S608 - fixed names
                (label,),
            ).fetchone()
            seq = int(row[0]) if row else 0
            if after == seq:
                return []
            if after > seq or after < seq - self.outbox_size:
                return None  # the client saw more than we have, or the replay window is gone
            rows = db.execute(
                "SELECT seq, text FROM messages WHERE label = ? AND seq > ? ORDER BY seq",
                (label, after),
            ).fetchall()
            if not rows or rows[0][0] != after + 1:
                return None
            return [r[1] for r in rows]

        return await self._run(since)

    # -- events --------------------------------------------------------------------------------
    async def accept_event(self, label: str, client: str, ident: int, attempt: str = "") -> bool:
        """Atomic check-and-set of the client's handled event ids (`core.dedup`)."""

        def accept(db: Connection) -> bool:
            now = time.time()
            row = db.execute(
                "SELECT last_id, seen FROM clients WHERE label = ? AND client = ? AND expires >= ?",
                (label, client, now),
            ).fetchone()
            floor, seen = dedup.decode(f"{row[0]},{row[1]}") if row else (0, ())
            record = dedup.admit(floor, seen, ident)
            if record is None:
                return False
            db.execute(
                "INSERT INTO clients (label, client, last_id, seen, expires) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(label, client) DO UPDATE SET last_id = excluded.last_id,"
                " seen = excluded.seen, expires = excluded.expires",
                (label, client, record[0], dedup.ids_text(record[1]), now + self.client_ttl),
            )
            return True

        return await self._write(accept)

    async def route(self, worker: str, payload: JsonObject) -> bool:
        """Queue an event or reply for another worker (it polls for them); False if it is dead."""
        if not await self.worker_alive(worker):
            return False

        def route(db: Connection) -> None:
            db.execute(
                "INSERT INTO routes (worker, payload, ts) VALUES (?, ?, ?)",
                (worker, json.dumps(payload), time.time()),
            )

        await self._write(route)
        return True

    # -- liveness ------------------------------------------------------------------------------
    heartbeat_ttl: float = 6.0

    async def heartbeat(self, connections: dict[str, list[str]]) -> None:
        """Refresh this worker's row and its connections' expiry."""

        def beat(db: Connection) -> None:
            now = time.time()
            db.execute(
                "INSERT INTO workers (id, expires, pid, host) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET expires = excluded.expires",
                (self.worker_id, now + self.heartbeat_ttl, os.getpid(), socket.gethostname()),
            )
            for label, ids in connections.items():
                for conn_id in ids:
                    db.execute(
                        "INSERT INTO conns (label, conn_id, expires) VALUES (?, ?, ?)"
                        " ON CONFLICT(label, conn_id) DO UPDATE SET expires = excluded.expires",
                        (label, conn_id, now + self.conn_ttl),
                    )
                db.execute(
                    "UPDATE widgets SET last_seen = ?, expires = MAX(expires, ?) WHERE label = ?",
                    (now, now + self.widget_ttl if ids else 0, label),
                )

        await self._write(beat)

    async def worker_alive(self, worker: str) -> bool:
        """True while the worker's heartbeat row is fresh and (same host) its process exists."""
        row = await self._run(
            lambda: self._conn.execute(
                "SELECT pid, host FROM workers WHERE id = ? AND expires >= ?", (worker, time.time())
            ).fetchone()
        )
        if row is None:
            return False
        pid, host = row
        if pid and host == socket.gethostname():
            try:
                os.kill(int(pid), 0)  # one host: the process table knows at once
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
        return True

    async def presence(self, label: str) -> tuple[int, float | None]:
        """Live connections on any worker, and when the widget was last in use."""

        def presence() -> tuple[int, float | None]:
            db = self._conn
            now = time.time()
            count = db.execute(
                "SELECT COUNT(*) FROM conns WHERE label = ? AND expires >= ?", (label, now)
            ).fetchone()[0]
            row = db.execute("SELECT last_seen FROM widgets WHERE label = ?", (label,)).fetchone()
            return int(count), (row[0] if row and row[0] is not None else None)

        return await self._run(presence)

    async def connection_closed(self, label: str, conn_id: str) -> None:
        """Forget a connection and note when the widget was last in use."""

        def closed(db: Connection) -> None:
            db.execute("DELETE FROM conns WHERE label = ? AND conn_id = ?", (label, conn_id))
            db.execute("UPDATE widgets SET last_seen = ? WHERE label = ?", (time.time(), label))

        await self._write(closed)
