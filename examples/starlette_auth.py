# pywry behind Starlette's AuthenticationMiddleware, in a FastAPI app. The host signs users in
# at its own /login (a signed cookie); its authentication backend turns that cookie into
# `request.user` and `request.auth.scopes`, which pywry takes as the user (user.identity) and
# roles, on pages, streams, posts and WebSockets alike.
#
# Needs: pip install 'pywry-server[fastapi]' itsdangerous
# Run:  python examples/starlette_auth.py   (or: uvicorn --app-dir examples starlette_auth:app)
# then open http://127.0.0.1:8080/ and sign in as alice / alice-password or root / root-password.
import hmac
import os

# Access control on unless the environment says otherwise (a deployment exports it instead).
os.environ.setdefault("PYWRY_DEPLOY__AUTH_ENABLED", "true")

from html import escape  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

from auth_widgets import admin_only, whoami  # noqa: E402 - examples/auth_widgets.py
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import HTMLResponse, RedirectResponse  # noqa: E402
from itsdangerous import BadSignature, URLSafeTimedSerializer  # noqa: E402
from starlette.authentication import (  # noqa: E402
    AuthCredentials,
    AuthenticationBackend,
    SimpleUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware  # noqa: E402

from pywry.adapters.fastapi import asgi_app, embed  # noqa: E402
from pywry.auth import sign_out  # noqa: E402

# The host's users: name -> (password, scopes). A real app checks hashes in its database.
USERS = {"alice": ("alice-password", ["analyst"]), "root": ("root-password", ["admin"])}
COOKIE, MAX_AGE = "host_login", 8 * 3600
signer = URLSafeTimedSerializer(os.environ.get("HOST_SECRET_KEY", "change-me"), salt="login")


class SignedCookieBackend(AuthenticationBackend):
    """The user named in the signed login cookie; its scopes become pywry roles."""

    async def authenticate(self, conn):
        try:
            name = signer.loads(conn.cookies.get(COOKIE, ""), max_age=MAX_AGE)
        except BadSignature:  # no cookie, a forged one, or an expired one: anonymous
            return None
        if name not in USERS:
            return None
        return AuthCredentials(USERS[name][1]), SimpleUser(name)


app = FastAPI(title="Starlette sign-in")
app.add_middleware(AuthenticationMiddleware, backend=SignedCookieBackend())  # HTTP and sockets
app.mount("/pywry", asgi_app())

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>{error}<form method="post">
<p><label>User <input name="username" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password"></label></p>
<button type="submit">Sign in</button></form></body></html>"""


@app.get("/login", response_class=HTMLResponse)
async def login_form():
    return LOGIN.format(error="")


@app.post("/login")
async def login(request: Request):
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    name, given = form.get("username", ""), form.get("password", "").encode()
    if name not in USERS or not hmac.compare_digest(USERS[name][0].encode(), given):
        return HTMLResponse(LOGIN.format(error="<p>Wrong user or password.</p>"), 403)
    done = RedirectResponse("/", status_code=303)
    done.set_cookie(COOKIE, signer.dumps(name), max_age=MAX_AGE, httponly=True, samesite="lax")
    return done


@app.post("/logout")
async def logout(request: Request):
    if request.user.is_authenticated:  # her open widgets close too, on every worker
        sign_out(request.user.identity)
    done = RedirectResponse("/login", status_code=303)
    done.delete_cookie(COOKIE)
    return done


@app.get("/", response_class=HTMLResponse)
async def home(request: Request):
    if not request.user.is_authenticated:
        return RedirectResponse("/login", status_code=303)
    admin = embed(admin_only, height="160px") if "admin" in request.auth.scopes else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Signed in (Starlette)</title></head><body>
<p>Signed in as {escape(request.user.display_name)}.
<form method="post" action="/logout"><button>Sign out</button></form></p>
{embed(whoami, height="240px")}{admin}</body></html>"""


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
    )
