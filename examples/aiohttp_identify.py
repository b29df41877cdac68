# `identify=`: a host that keeps its own sessions tells pywry who a request belongs to. This
# aiohttp app signs users in at its /login and keeps {session id: user name} itself (a real host
# keeps it in its session store); pywry calls `identify(request)` with aiohttp's own request on
# every page, socket, stream and post, and takes the `User` it returns (None: anonymous).
#
# Needs: pip install 'pywry-server[aiohttp]'
# Run:  python examples/aiohttp_identify.py
# then open http://127.0.0.1:8080/ and sign in as alice / alice-password or root / root-password.
import hmac
import os
import secrets

# Access control on unless the environment says otherwise (a deployment exports it instead).
os.environ.setdefault("PYWRY_DEPLOY__AUTH_ENABLED", "true")

from aiohttp import web  # noqa: E402
from auth_widgets import admin_only, whoami  # noqa: E402 - examples/auth_widgets.py

from pywry.adapters.aiohttp import aiohttp_app, embed  # noqa: E402
from pywry.auth import User, sign_out  # noqa: E402

USERS = {"alice": ("alice-password", ["analyst"]), "root": ("root-password", ["admin"])}
COOKIE = "host_session"
SESSIONS: dict[str, str] = {}  # the host's own sessions: session id -> user name


def identify(request: web.Request) -> User | None:
    """Who a request to pywry's routes belongs to, from the host's session cookie."""
    name = SESSIONS.get(request.cookies.get(COOKIE, ""))
    return None if name is None else User(name, frozenset(USERS[name][1]))


LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1><form method="post" action="/login">
<p><label>User <input name="username" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password"></label></p>
<button type="submit">Sign in</button></form></body></html>"""


async def login_form(request: web.Request) -> web.Response:
    return web.Response(text=LOGIN, content_type="text/html")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, given = str(form.get("username", "")), str(form.get("password", "")).encode()
    if name not in USERS or not hmac.compare_digest(USERS[name][0].encode(), given):
        return web.Response(text=LOGIN, content_type="text/html", status=403)
    sid = secrets.token_urlsafe(24)
    SESSIONS[sid] = name
    done = web.Response(status=303, headers={"Location": "/"})
    done.set_cookie(COOKIE, sid, httponly=True, samesite="Lax", path="/")
    return done


async def logout(request: web.Request) -> web.Response:
    name = SESSIONS.pop(request.cookies.get(COOKIE, ""), None)  # identify() says nobody now
    if name is not None:
        sign_out(name)  # and the widgets she has open close, on every worker
    done = web.Response(status=303, headers={"Location": "/login"})
    done.del_cookie(COOKIE, path="/")
    return done


async def home(request: web.Request) -> web.Response:
    user = identify(request)
    if user is None:
        return web.Response(status=303, headers={"Location": "/login"})
    admin = embed(admin_only, height="160px") if "admin" in user.roles else ""
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Signed in (aiohttp)</title></head><body><p>Signed in as {user.id}.</p>
<form method="post" action="/logout"><button>Sign out</button></form>
{embed(whoami, height="240px")}{admin}</body></html>"""
    return web.Response(text=html, content_type="text/html")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.add_subapp("/pywry", aiohttp_app(identify=identify))
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(),
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
    )
