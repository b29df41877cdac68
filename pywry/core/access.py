"""Access control: who a request or connection belongs to, and whether a widget lets them in.

Off unless `PYWRY_DEPLOY__AUTH_ENABLED`. When on, the user of a request is, first match wins:
the host framework's signed-in user (the adapter puts it on `Request.user`), a pywry session
signed in through the provider (`core/signin.py`), or `Authorization: Bearer <token>` with a
token from `issue_token`. Every signed-in user has `DEFAULT_ROLES`; `ADMIN_USERS` also have
`admin`. A widget lets in any signed-in user unless it names `roles` (any of them) or an
`access(user)` callable.

Signed-in sessions are records in the app's session store (memory, sqlite, redis) under
`{sid}~auth`; logging out deletes the record and every worker closes that session's sockets and
streams at its next check (`watch`, every `WATCH_INTERVAL` seconds).
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
from .signing import BEARER, SESSION, Signer
from .users import BEARER_TOKEN, HOST, NOBODY, SIGNED_IN, User, Who, check_roles, with_defaults

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
            return Who(self.complete(req.user), HOST)
        if req.session and not new_session:
            found = await self.signed_in(req.session)
            if found is not None:
                return Who(self.complete(found), SIGNED_IN)
        token = self.bearer_data(req.header(self.header))
        if token is not None:
            found = User.from_json(token)
            if found is not None:
                return Who(self.complete(found), BEARER_TOKEN, float(token["exp"]))
        return NOBODY

    async def user(self, req: Request, *, new_session: bool = False) -> User | None:
        """The user of a request (None: nobody is signed in)."""
        return (await self.who(req, new_session=new_session)).user

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
        return self.signer.token(BEARER, {"id": user.id, "roles": sorted(user.roles)}, ttl)

    # -- signed-in sessions ----------------------------------------------------------------------
    async def signed_in(self, sid: str) -> User | None:
        """The user a pywry sign-in put on session `sid`, while it lasts."""
        record = p.decode_object(await self.app.session_text(sid + AUTH_SUFFIX))
        if not record or not isinstance(record.get("exp"), (int, float)):
            return None
        if record["exp"] < time.time():
            return None
        return User.from_json(record.get("user"))

    async def sign_in(self, sid: str, user: User) -> None:
        """Put `user` on session `sid` for `SESSION_TTL` seconds."""
        record = {"user": user.to_json(), "exp": time.time() + self.ttl}
        await self.app.session_write(sid + AUTH_SUFFIX, p.encode(record), self.ttl)

    async def sign_out(self, sid: str) -> None:
        """End the sign-in of session `sid` everywhere; its connections here close at once."""
        await self.app.session_write(sid + AUTH_SUFFIX, "", 1)
        self.close_session(sid)

    def close_session(self, sid: str) -> None:
        """Close this worker's connections of session `sid` (signed out)."""
        doomed = [
            peer for peers in self.app.peers.values() for peer in peers if peer.session == sid
        ]
        self.app.shut_peers(doomed, p.CLOSE_BAD_TOKEN)

    async def watch(self) -> None:
        """Close connections whose sign-in ended (logout on any worker, expiry) or went bad."""
        signed: dict[str, list[Peer]] = {}
        now = time.time()
        expired: list[Peer] = []
        for peers in self.app.peers.values():
            for peer in peers:
                if peer.signed_in and peer.session:
                    signed.setdefault(peer.session, []).append(peer)
                elif peer.expires and peer.expires < now:
                    expired.append(peer)
        for sid, of_session in signed.items():
            if await self.signed_in(sid) is None:
                expired.extend(of_session)
        if expired:
            log.info("closing %d connections whose sign-in ended", len(expired))
            self.app.shut_peers(expired, p.CLOSE_BAD_TOKEN)

    # -- rules -----------------------------------------------------------------------------------
    def refusal(self, widget: Widget, user: User | None) -> int | None:
        """Why `user` may not use `widget`: 4001 (sign in first), 4003 (not allowed), or None."""
        return self.rules_refusal(user, widget.roles, widget.access)

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
