"""FastAPI host: its own session middleware, exception handler and lifespan; pywry mounted."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from pywry.adapters.fastapi import asgi_app
from tests.apps.frameworks.widgets import OPTIONS, visit_page


class HostError(Exception):
    """Raised by a host route; the host's own handler must answer it."""


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.started = "yes"
    yield


app = FastAPI(lifespan=lifespan)
app.add_middleware(SessionMiddleware, secret_key="host-secret")


@app.exception_handler(HostError)
async def host_error(request: Request, exc: HostError) -> JSONResponse:
    return JSONResponse({"handled": str(exc)}, status_code=418)


@app.get("/host/session")
async def session(request: Request) -> dict:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"visits": request.session["visits"], "started": request.app.state.started}


@app.get("/host/boom")
async def boom() -> dict:
    raise HostError("host handler ran")


@app.get("/host/visit", response_class=HTMLResponse)
async def visit() -> str:
    return visit_page()


@app.get("/host/visit-sync", response_class=HTMLResponse)
def visit_sync() -> str:
    return visit_page()


app.mount("/pywry", asgi_app(**OPTIONS))
