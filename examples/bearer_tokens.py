# Bearer tokens for programmatic clients (scripts, services, notebooks): no browser, no cookies.
# The server is a FastAPI app with pywry mounted and access control on; a client sends
# `Authorization: Bearer <token>` on the page request, the WebSocket handshake or the HTTP
# stream and its posts, and its events run as the token's user. Browsers cannot put headers on
# a WebSocket, so this is for programs; people sign in through the host or a provider.
#
# Needs: pip install 'pywry-server[fastapi]' httpx websockets
# (httpx and websockets are for its client, bearer_client.py)
#
# Tokens are signed with PYWRY_DEPLOY__AUTH_SECRET: every process that issues or checks them
# needs the same secret (32+ characters).
#   export PYWRY_DEPLOY__AUTH_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
#   python examples/bearer_tokens.py                          # serve on 127.0.0.1:8080
#   python examples/bearer_tokens.py token alice analyst      # print a token (1 hour)
#   python examples/bearer_client.py http://127.0.0.1:8080 "$TOKEN"
import os
import sys

os.environ.setdefault("PYWRY_DEPLOY__AUTH_ENABLED", "true")
if not os.environ.get("PYWRY_DEPLOY__AUTH_SECRET"):
    sys.exit("set PYWRY_DEPLOY__AUTH_SECRET (32+ random characters) first; see the comments")

from auth_widgets import whoami  # noqa: E402, F401 - registers "whoami" and "admin-only"
from fastapi import FastAPI  # noqa: E402

from pywry.adapters.fastapi import asgi_app  # noqa: E402
from pywry.auth import issue_token  # noqa: E402

app = FastAPI(title="pywry for programs")
app.mount("/pywry", asgi_app())

if __name__ == "__main__":
    if sys.argv[1:2] == ["token"]:  # token USER [ROLE ...] [--ttl SECONDS]
        args = sys.argv[2:]
        ttl = 3600.0
        if "--ttl" in args:
            at = args.index("--ttl")
            ttl = float(args[at + 1])
            del args[at : at + 2]
        if not args:
            sys.exit("usage: bearer_tokens.py token USER [ROLE ...] [--ttl SECONDS]")
        print(issue_token(args[0], roles=args[1:], ttl=ttl))
        sys.exit()

    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
    )
