"""Sign-in through an OAuth2 / OpenID Connect provider: the routes under `{base}/auth/`.

`login?next=...` sends the browser to the provider, `callback` finishes there, `POST logout`
ends the session on every worker, `status` and `userinfo` say who is signed in. Authlib builds
the authorization URL (state, PKCE) and exchanges the code; joserfc checks the ID token's
signature and claims (issuer, audience, expiry, nonce). Each pending sign-in (state, nonce, PKCE
verifier, where to go next) is a record in the session store, bound to the browser's session
and used once; it expires after `PENDING_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from ..extras import MissingExtra
from . import protocol as p
from .http import HTML, HttpResponse, Request, error_response, json_response
from .origins import same_host
from .users import User

if TYPE_CHECKING:
    from ..config import OAuth2Settings
    from .app import App

log = logging.getLogger("pywry.signin")

PENDING_TTL = 600
PENDING_SUFFIX = "~signin"
HTTP_TIMEOUT = 10.0
PRESETS: dict[str, dict[str, str]] = {
    "google": {"issuer": "https://accounts.google.com"},
    "microsoft": {"issuer": "https://login.microsoftonline.com/{tenant}/v2.0"},
    "github": {
        "authorize": "https://github.com/login/oauth/authorize",
        "token": "https://github.com/login/oauth/access_token",
        "userinfo": "https://api.github.com/user",
    },
}


class SignInError(Exception):
    """A sign-in that cannot go on; its text is shown to the user (never a traceback)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


@dataclass(slots=True)
class Endpoints:
    """Where the provider's pages and APIs are; `issuer` and `jwks` for OpenID Connect."""

    authorize: str
    token: str
    userinfo: str | None = None
    issuer: str | None = None
    jwks_uri: str | None = None
    end_session: str | None = None  # OpenID RP-initiated logout: ends the provider's session


def _libraries() -> Any:
    """Authlib and joserfc, or an error that names the extra to install."""
    try:
        import joserfc  # noqa: F401, PLC0415
        from authlib.integrations.requests_client import OAuth2Session  # noqa: PLC0415
    except ImportError:
        raise MissingExtra("sign-in through PYWRY_OAUTH2__PROVIDER", "auth") from None
    return OAuth2Session


def safe_next(target: str | None, base: str) -> str:
    """Where to go after signing in: a path of this site, else the base (no open redirects)."""
    home = base or "/"
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def message_page(
    status: int, heading: str, text: str, links: tuple[tuple[str, str, str], ...] = ()
) -> HttpResponse:
    """A small page that says what went wrong with signing in; `links`: (id, href, text)."""
    extra = "".join(
        f'<p><a id="{html.escape(i)}" href="{html.escape(href)}">{html.escape(t)}</a></p>'
        for i, href, t in links
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(heading)}</title></head><body><h1>{html.escape(heading)}</h1>"
        f'<p id="pywry-auth-message">{html.escape(text)}</p>{extra}</body></html>'
    )
    return HttpResponse(status, body.encode(), HTML, {"Cache-Control": "no-store"})


def redirect(location: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """A 302 to `location` (with extra headers, e.g. a new session cookie)."""
    extra = {"Location": location, "Cache-Control": "no-store", **(headers or {})}
    return HttpResponse(302, b"", HTML, extra)


class SignIn:
    """The sign-in routes of one App."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings: OAuth2Settings = app.settings.oauth2
        self._endpoints: Endpoints | None = None
        self._jwks: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        """Whether a provider is set up (else there is nowhere to send a visitor to sign in)."""
        return self.settings.provider is not None

    def login_url(self, base: str, target: str) -> str:
        """The login route that comes back to `target`."""
        return f"{base}/auth/login?next={quote(target, safe='/')}"

    # -- the routes ------------------------------------------------------------------------------
    async def handle(self, req: Request, action: str) -> HttpResponse:
        """Answer `{base}/auth/{action}`."""
        try:
            if action == "status":
                return self.status(req)
            if action == "userinfo":
                return self.userinfo(req)
            if action == "logout":
                return await self.logout(req)
            if not self.configured:
                return error_response(404, "not-found", "no sign-in provider is configured")
            if action == "login":
                return await self.login(req)
            if action == "callback":
                return await self.callback(req)
        except SignInError as exc:
            return message_page(exc.status, "Sign-in failed", str(exc))
        return error_response(404, "not-found", f"no auth route {action!r}")

    def status(self, req: Request) -> HttpResponse:
        user = req.who.user
        answer: dict[str, Any] = {"signedIn": user is not None}
        if user is not None:
            answer.update(id=user.id, roles=sorted(user.roles))
        if self.configured:
            answer["provider"] = self.settings.provider
            answer["loginUrl"] = f"{req.base}/auth/login"
        return json_response(200, answer)

    def userinfo(self, req: Request) -> HttpResponse:
        user = req.who.user
        if user is None:
            return error_response(401, "unauthorized", "nobody is signed in")
        return json_response(
            200, {"id": user.id, "roles": sorted(user.roles), "claims": dict(user.claims)}
        )

    async def logout(self, req: Request) -> HttpResponse:
        """End the session on every worker; say where the provider's own session ends."""
        if req.method != "POST":
            return HttpResponse(405, b"", headers={"Allow": "POST"})
        if not same_host(req.header("origin"), req.header("host")):
            return error_response(403, "origin-not-allowed", "log out from a page of this site")
        answer: dict[str, Any] = {"signedIn": False}
        if req.session:
            record = await self.app.access.record(req.session)
            await self.app.access.end_session(req.session)
            provider_logout = await self.provider_logout(record.get("id_token"))
            if provider_logout:
                answer["endSessionUrl"] = provider_logout
        return json_response(200, answer)

    async def provider_logout(self, id_token: object) -> str | None:
        """The provider's end-session URL for a sign-in with `id_token` (None: it has none)."""
        if not self.configured or not isinstance(id_token, str):
            return None
        try:
            endpoints = await self.endpoints()
        except SignInError:
            return None
        if not endpoints.end_session:
            return None
        query = urlencode({"id_token_hint": id_token, "client_id": self.settings.client_id or ""})
        joiner = "&" if "?" in endpoints.end_session else "?"
        return f"{endpoints.end_session}{joiner}{query}"

    def signed_out_page(self, req: Request, target: str) -> HttpResponse:
        """What a page asked for after logging out shows: a way back in, not a silent one."""
        again = ("pywry-sign-in", self.login_url(req.base, target), "Sign in again")
        return message_page(401, "Signed out", "You signed out of this site.", (again,))

    async def login(self, req: Request) -> HttpResponse:
        if not self.app.access.attempt(req.address or "unknown"):
            raise SignInError(429, "Too many sign-in attempts from this address; wait a minute.")
        if not req.session:
            raise SignInError(400, "This browser sent no session; allow cookies for this site.")
        endpoints = await self.endpoints()
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48) if self.settings.use_pkce else None
        client = self._client(req)
        extra: dict[str, Any] = {}
        if endpoints.issuer is not None:
            extra["nonce"] = nonce
        url, _ = client.create_authorization_url(
            endpoints.authorize, state=state, code_verifier=verifier, **extra
        )
        pending = {
            "session": req.session,
            "nonce": nonce,
            "verifier": verifier,
            "next": safe_next(req.query.get("next"), req.base),
        }
        await self.app.session_write(state + PENDING_SUFFIX, p.encode(pending), PENDING_TTL)
        return redirect(url)

    async def callback(self, req: Request) -> HttpResponse:
        error = req.query.get("error")
        if error:
            detail = req.query.get("error_description") or ""
            raise SignInError(400, f"The provider refused the sign-in: {error}. {detail}".strip())
        state = req.query.get("state") or ""
        code = req.query.get("code") or ""
        if not state or not code:
            raise SignInError(400, "The provider's answer has no state or code.")
        key = state + PENDING_SUFFIX
        pending = p.decode_object(await self.app.session_text(key))
        if not pending:
            raise SignInError(400, "This sign-in is unknown, expired or already used; try again.")
        await self.app.session_write(key, "", 1)  # used once
        if pending.get("session") != req.session:
            raise SignInError(400, "This sign-in was started in another browser; try again.")
        user, id_token = await self._user(req, code, pending)
        # a new session id on sign-in: a session id known before it is worth nothing after
        sid = secrets.token_urlsafe(24)
        await self.app.access.sign_in(sid, user, {"id_token": id_token} if id_token else None)
        log.info("user %r signed in", user.id)
        target = safe_next(pending.get("next"), req.base)
        return redirect(target, {"Set-Cookie": self.app.session_cookie(sid, req)})

    # -- the provider ----------------------------------------------------------------------------
    def redirect_uri(self, req: Request) -> str:
        """Where the provider sends the browser back: the setting, else this site's callback."""
        if self.settings.redirect_uri:
            return self.settings.redirect_uri
        scheme = "https" if req.secure else "http"
        return f"{scheme}://{req.header('host') or 'localhost'}{req.base}/auth/callback"

    def _client(self, req: Request) -> Any:
        session_class = _libraries()
        s = self.settings
        return session_class(
            s.client_id,
            s.client_secret,
            scope=" ".join(s.scopes),
            redirect_uri=self.redirect_uri(req),
            code_challenge_method="S256" if s.use_pkce else None,
            timeout=HTTP_TIMEOUT,
        )

    async def endpoints(self) -> Endpoints:
        """The provider's endpoints (OpenID discovery is asked once, then kept)."""
        if self._endpoints is not None:
            return self._endpoints
        async with self._lock:
            if self._endpoints is None:
                self._endpoints = await asyncio.to_thread(self._find_endpoints)
        return self._endpoints

    def _find_endpoints(self) -> Endpoints:
        s = self.settings
        preset = PRESETS.get(s.provider or "", {})
        issuer = s.issuer_url or preset.get("issuer", "").replace("{tenant}", s.tenant_id)
        if s.provider in ("oidc", "google", "microsoft") and issuer:
            meta = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            try:
                return Endpoints(
                    s.authorize_url or meta["authorization_endpoint"],
                    s.token_url or meta["token_endpoint"],
                    s.userinfo_url or meta.get("userinfo_endpoint"),
                    meta["issuer"],
                    meta["jwks_uri"],
                    meta.get("end_session_endpoint"),
                )
            except KeyError as exc:
                raise SignInError(502, f"The provider's discovery document lacks {exc}.") from None
        authorize = s.authorize_url or preset.get("authorize")
        token = s.token_url or preset.get("token")
        if not authorize or not token:
            raise SignInError(500, "The sign-in provider's endpoints are not configured.")
        return Endpoints(authorize, token, s.userinfo_url or preset.get("userinfo"))

    def _get_json(self, url: str, token: str | None = None) -> dict[str, Any]:
        import requests  # noqa: PLC0415 - part of the auth extra

        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            res = requests.get(url, headers=headers, timeout=HTTP_TIMEOUT)
            res.raise_for_status()
            data = res.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("sign-in provider request to %s failed: %s", url, exc)
            raise SignInError(502, "The sign-in provider could not be reached.") from None
        if not isinstance(data, dict):
            raise SignInError(502, "The sign-in provider answered with something unexpected.")
        return data

    async def _user(
        self, req: Request, code: str, pending: dict[str, Any]
    ) -> tuple[User, str | None]:
        """Who signed in, and their ID token (kept to end the provider's session on logout)."""
        endpoints = await self.endpoints()
        client = self._client(req)
        verifier = pending.get("verifier")
        try:
            token = await asyncio.to_thread(
                client.fetch_token, endpoints.token, code=code, code_verifier=verifier
            )
        except Exception as exc:  # noqa: BLE001 - any failure of the exchange is one answer
            log.warning("sign-in code exchange failed: %s", exc)
            raise SignInError(502, "The provider did not accept the sign-in code.") from None
        claims: dict[str, Any] = {}
        id_token = None
        if endpoints.issuer is not None:
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise SignInError(502, "The provider sent no ID token.")
            claims = await self._check_id_token(id_token, endpoints, str(pending.get("nonce")))
        access_token = token.get("access_token")
        if endpoints.userinfo and isinstance(access_token, str):
            info = await asyncio.to_thread(self._get_json, endpoints.userinfo, access_token)
            if claims and info.get("sub") not in (None, claims.get("sub")):
                raise SignInError(502, "The provider's user info is about someone else.")
            claims = {**info, **claims}
        subject = claims.get("sub", claims.get("id"))
        if subject is None or subject == "":
            raise SignInError(502, "The provider did not say who signed in.")
        keep = ("sub", "email", "name", "preferred_username", "login", "groups", "roles")
        user = User(str(subject), frozenset(), {k: claims[k] for k in keep if k in claims})
        return user, id_token

    async def _check_id_token(
        self, id_token: str, endpoints: Endpoints, nonce: str
    ) -> dict[str, Any]:
        from joserfc import jwt  # noqa: PLC0415 - part of the auth extra
        from joserfc.errors import JoseError  # noqa: PLC0415
        from joserfc.jwk import KeySet  # noqa: PLC0415

        if self._jwks is None and endpoints.jwks_uri:
            self._jwks = await asyncio.to_thread(self._get_json, endpoints.jwks_uri)
        try:
            keys = KeySet.import_key_set(self._jwks or {"keys": []})  # type: ignore[arg-type]
            token = jwt.decode(id_token, keys)
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": endpoints.issuer or ""},
                aud={"essential": True, "value": self.settings.client_id or ""},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
                leeway=60,
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            log.warning("an ID token was refused: %s", exc)
            raise SignInError(400, "The provider's ID token did not check out.") from None
        return dict(token.claims)


__all__ = ["SignIn", "SignInError", "safe_next"]
