"""Access control: who a request or connection belongs to, and whether a widget lets them in.

Off unless `PYWRY_DEPLOY__AUTH_ENABLED`. When on, the user of a request is, first match wins:
the host framework's signed-in user (the adapter puts it on `Request.user`), a pywry session
signed in through the provider (`core/signin.py`), or `Authorization: Bearer <token>` with a
token from `issue_token`. Every signed-in user has `DEFAULT_ROLES`; `ADMIN_USERS` also have
`admin`. A widget lets in any signed-in user unless it names `roles` (any of them) or an
`access(user)` callable.

Signed-in sessions are records in the app's session store (memory, sqlite, redis) under
`{sid}~auth`. Ending one (pywry's logout) turns the record into `{"ended": <time>}`: every worker
closes that session's sockets and streams opened before then at its next check (`watch`, every
`WATCH_INTERVAL` seconds), the session's stored values are dropped, and a page asked for with it
says "signed out" instead of sending the browser straight back to the provider (which would sign
it in again unasked). A host framework's logout ends its login the same way (`login~...`), and
`sign_out(user_id)` a user everywhere (`user~...`: also their earlier sign-ins and tokens).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..config import ConfigError, StateBackend
from . import protocol as p
from .identity import user_key
from .signing import BEARER, SESSION, Signer
from .users import (
    BEARER_TOKEN,
    HOST,
    NOBODY,
    SIGNED_IN,
    SIGNED_OUT,
    User,
    Who,
    check_roles,
    with_defaults,
)

if TYPE_CHECKING:
    from .app import App
    from .http import Request
    from .peer import Peer
    from .widgets import Widget

log = logging.getLogger("pywry.access")

AccessRule = Callable[[User], bool]

WATCH_INTERVAL = 2.0  # how often open connections' sign-ins are checked (logout, expiry)
AUTH_SUFFIX = "~auth"
MAX_ADDRESSES = 10_000
END_TIMEOUT = 5.0  # how long a host's logout waits for the session store


class Access:
    """The access rules of one App, and its signed-in sessions."""

    def __init__(self, app: App) -> None:
        deploy = app.settings.deploy
        self.app = app
        self.enabled = deploy.auth_enabled
        shared = deploy.state_backend != StateBackend.MEMORY or app.settings.server.workers > 1
        if self.enabled and deploy.auth_secret is None and shared:
            raise ConfigError(
                "PYWRY_DEPLOY__AUTH_SECRET: access control on several workers or a shared backend "
                "needs one secret for all of them; set PYWRY_DEPLOY__AUTH_SECRET to 32 or more "
                "random characters (python -c 'import secrets; print(secrets.token_urlsafe(32))')",
                ("PYWRY_DEPLOY__AUTH_SECRET",),
            )
        self.signer = Signer(deploy.auth_secret)
        self.header = deploy.auth_header.lower()
        self.default_roles = tuple(deploy.default_roles)
        self.admins = frozenset(deploy.admin_users)
        self.ttl = deploy.session_ttl
        self._attempts: OrderedDict[str, list[float]] = OrderedDict()
        self._pending: set[asyncio.Task[None]] = set()

    # -- cookies ---------------------------------------------------------------------------------
    def cookie_value(self, sid: str) -> str:
        """What the session cookie holds for `sid` (signed when access control is on)."""
        return self.signer.sign(SESSION, sid) if self.enabled else sid

    def session_of(self, value: str) -> str | None:
        """The session id in a cookie value, or None for a forged or foreign one."""
        return self.signer.unsign(SESSION, value) if self.enabled else value

    # -- who it is -------------------------------------------------------------------------------
    async def who(self, req: Request, *, new_session: bool = False) -> Who:
        """The user of a request, with their default roles, and where they came from.

        `new_session`: the session was made just now (no cookie), so no sign-in is on it.
        """
        if req.user is not None:
            return Who(self.complete(req.user), HOST, login=req.login)
        ended = False
        if req.session and not new_session:
            record = await self.record(req.session)
            found = signed_in_user(record)
            if found is not None and not await self.revoked(found, _number(record.get("at"))):
                return Who(self.complete(found), SIGNED_IN)
            ended = "ended" in record or found is not None
        token = self.bearer_data(req.header(self.header))
        if token is not None:
            found = User.from_json(token)
            if found is not None and not await self.revoked(found, _number(token.get("iat"))):
                return Who(self.complete(found), BEARER_TOKEN, float(token["exp"]))
        return Who(None, SIGNED_OUT) if ended else NOBODY

    async def user(self, req: Request, *, new_session: bool = False) -> User | None:
        """The user of a request (None: nobody is signed in)."""
        return (await self.who(req, new_session=new_session)).user

    def user_blocking(self, req: Request) -> User | None:
        """`user` from a thread that is not the app's loop (a WSGI host's own routes)."""
        return self.app.loop.run(self.user(req), END_TIMEOUT)

    def complete(self, user: User) -> User:
        """`user` with the roles every signed-in user has."""
        return with_defaults(user, self.default_roles, self.admins)

    def bearer_data(self, header: str | None) -> dict[str, Any] | None:
        """What an `Authorization: Bearer <token>` header's token holds, if it is good."""
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self.signer.open_token(BEARER, token.strip())

    def issue(self, user_id: str, roles: Iterable[str] = (), ttl: float = 3600) -> str:
        """A bearer token for `user_id` with `roles`, valid for `ttl` seconds."""
        user = User(user_id, frozenset(check_roles(roles)))
        if ttl <= 0:
            raise ValueError(f"ttl must be positive seconds, not {ttl!r}")
        data = {"id": user.id, "roles": sorted(user.roles), "iat": time.time()}
        return self.signer.token(BEARER, data, ttl)

    # -- signed-in sessions ----------------------------------------------------------------------
    async def record(self, key: str) -> dict[str, Any]:
        """The record filed under `key` ({} when none): a session's sign-in, or an ending."""
        return p.decode_object(await self.app.session_text(key + AUTH_SUFFIX)) or {}

    async def signed_in(self, sid: str) -> User | None:
        """The user a pywry sign-in put on session `sid`, while it lasts."""
        return signed_in_user(await self.record(sid))

    async def sign_in(self, sid: str, user: User, extra: dict[str, Any] | None = None) -> None:
        """Put `user` on session `sid` for `SESSION_TTL` seconds (`extra`: kept with it)."""
        now = time.time()
        record = {**(extra or {}), "user": user.to_json(), "at": now, "exp": now + self.ttl}
        await self.app.session_write(sid + AUTH_SUFFIX, p.encode(record), self.ttl)

    async def end(self, key: str, *, session: bool = False) -> None:
        """End what is filed under `key` everywhere: a session id (`session`: its values go
        too), a host login (`identity.login_key`) or a user (`identity.user_key`).

        Connections opened through it close, this worker's at once, the others' at their next
        `watch`; a user's sign-ins and tokens from before now stop opening anything.
        """
        self.close_local(key)
        ended = p.encode({"ended": time.time()})
        await self.app.session_write(key + AUTH_SUFFIX, ended, self.ttl)
        if session:
            await self.app.session_write(key, "", 1)

    async def end_session(self, sid: str) -> None:
        """End session `sid` everywhere: its sign-in and values go, its connections close."""
        await self.end(sid, session=True)

    def end_blocking(self, key: str, *, session: bool = False) -> None:
        """`end` from code that is not async (a host framework's logout signal)."""
        loop = self.app.loop
        if loop.on_loop():
            self.close_local(key)
            task = asyncio.get_running_loop().create_task(self.end(key, session=session))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        loop.run(self.end(key, session=session), END_TIMEOUT)

    def close_local(self, key: str) -> None:
        """Close this worker's connections opened through `key` (session, login or user)."""
        doomed = [
            peer for peers in self.app.peers.values() for peer in peers if key in watch_keys(peer)
        ]
        self.app.shut_peers(doomed, p.CLOSE_BAD_TOKEN)

    async def revoked(self, user: User, since: float) -> bool:
        """Whether `sign_out(user.id)` ran after `since` (a sign-in's or a token's time)."""
        ended = (await self.record(user_key(user.id))).get("ended")
        return isinstance(ended, (int, float)) and ended >= since

    async def watch(self) -> None:
        """Close connections whose session, host login or user was ended (on any worker),
        whose sign-in expired, or whose token ran out."""
        watched: dict[str, list[Peer]] = {}
        now = time.time()
        expired: dict[int, Peer] = {}
        for peers in self.app.peers.values():
            for peer in peers:
                if peer.expires and peer.expires < now:
                    expired[id(peer)] = peer
                    continue
                for key in watch_keys(peer):
                    watched.setdefault(key, []).append(peer)
        for key, of_key in watched.items():
            record = await self.record(key)
            ended = record.get("ended")
            signed = signed_in_user(record) is not None
            for peer in of_key:
                lapsed = key == peer.session and peer.signed_in and not signed
                if lapsed or (isinstance(ended, (int, float)) and peer.opened <= ended):
                    expired[id(peer)] = peer
        if expired:
            log.info("closing %d connections whose sign-in ended", len(expired))
            self.app.shut_peers(list(expired.values()), p.CLOSE_BAD_TOKEN)

    # -- rules -----------------------------------------------------------------------------------
    def refusal(self, widget: Widget, user: User | None) -> int | None:
        """Why `user` may not use `widget`: 4001 (sign in first), 4003 (not allowed), or None.

        A per-visitor widget made for a signed-in user is for that user alone, even in a
        browser whose session someone else signs in to later.
        """
        code = self.rules_refusal(user, widget.roles, widget.access)
        if code is None and widget.user and user is not None and user.id != widget.user:
            return p.CLOSE_BAD_ORIGIN
        return code

    def rules_refusal(
        self, user: User | None, roles: tuple[str, ...], rule: AccessRule | None
    ) -> int | None:
        """`refusal` for something that is not a widget yet (a page factory)."""
        if not self.enabled:
            return None
        if user is None:
            return p.CLOSE_BAD_TOKEN
        return None if allowed(user, roles, rule) else p.CLOSE_BAD_ORIGIN

    # -- sign-in attempts ------------------------------------------------------------------------
    def attempt(self, address: str) -> bool:
        """Count a sign-in attempt from `address`; False once it made too many this minute."""
        now = time.monotonic()
        limit = self.app.settings.deploy.login_attempts_per_minute
        stamps = self._attempts.pop(address, [])
        stamps = [t for t in stamps if t > now - 60.0]
        allowed_now = len(stamps) < limit
        if allowed_now:
            stamps.append(now)
        self._attempts[address] = stamps
        while len(self._attempts) > MAX_ADDRESSES:
            self._attempts.popitem(last=False)
        return allowed_now


def watch_keys(peer: Peer) -> list[str]:
    """What may end `peer`: its session (when someone is on it), its host login, its user."""
    keys = []
    if peer.session and (peer.signed_in or peer.user is not None):
        keys.append(peer.session)
    if peer.login:
        keys.append(peer.login)
    if peer.user is not None:
        keys.append(user_key(peer.user.id))
    return keys


def _number(value: Any) -> float:
    """A record's time field (0 when missing: older than every ending)."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def signed_in_user(record: dict[str, Any]) -> User | None:
    """The user of a sign-in record that has not expired."""
    exp = record.get("exp")
    if not isinstance(exp, (int, float)) or exp < time.time():
        return None
    return User.from_json(record.get("user"))


def rules_text(widget: Widget) -> str:
    """Who may open `widget`, for the copies other workers load ("" when anyone may)."""
    if not (widget.roles or widget.user or widget.access):
        return ""
    rules: dict[str, Any] = {"roles": list(widget.roles), "user": widget.user}
    if widget.access is not None:
        rules["rule"] = True
    return p.encode(rules)


def apply_rules(widget: Widget, text: str) -> None:
    """Give another worker's copy of a widget its rules; an `access` callable cannot travel,
    so a copy of a widget that has one lets nobody in (it is opened on its own worker)."""
    rules = p.decode_object(text) if text else None
    if not rules:
        return
    widget.roles = check_roles(r for r in rules.get("roles", ()) if isinstance(r, str))
    widget.user = str(rules.get("user") or "")
    if rules.get("rule"):
        widget.access = _elsewhere


def _elsewhere(user: User) -> bool:
    log.warning("refusing %r: this widget's access rule lives on another worker", user.id)
    return False


def allowed(user: User, roles: tuple[str, ...], rule: AccessRule | None) -> bool:
    """Whether `user` passes a widget's rules (an `access` callable that fails says no)."""
    if roles and not user.has_any(roles):
        return False
    if rule is None:
        return True
    try:
        return bool(rule(user))
    except Exception:  # noqa: BLE001 - a broken rule refuses, it never opens the widget
        log.exception("the access rule of a widget raised; refusing %r", user.id)
        return False


async def watch_forever(access: Access) -> None:
    """`Access.watch` every `WATCH_INTERVAL` seconds (a task of the app's loop)."""
    while True:
        await asyncio.sleep(WATCH_INTERVAL)
        try:
            await access.watch()
        except Exception:  # noqa: BLE001 - housekeeping must never die
            log.debug("sign-in check failed", exc_info=True)
