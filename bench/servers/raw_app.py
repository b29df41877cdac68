"""The baselines: raw Starlette WebSocket endpoints and a raw FastAPI HTML response.

- `/ws/echo`: sends every text frame straight back (the round-trip baseline);
- `/ws/fan`: a text frame from any socket is sent, in a plain loop, to every connected socket
  (the fan-out baseline); idle sockets here are also the idle-memory baseline;
- `GET /widget/page`: `HTMLResponse` of the bytes in `$BENCH_PAGE_FILE` (the exact page pywry
  served in the same run).
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
_page_file = os.environ.get("BENCH_PAGE_FILE")
PAGE = open(_page_file, "rb").read() if _page_file else b"<!doctype html><p>page</p>"  # noqa: SIM115


@app.get("/widget/page")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=_first(websocket))
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


sockets: set[WebSocket] = set()


async def fan(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=_first(websocket))
    sockets.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            for ws in list(sockets):
                try:
                    await ws.send_text(text)
                except Exception:  # noqa: BLE001 - a socket that went away
                    sockets.discard(ws)
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


def _first(websocket: WebSocket) -> str | None:
    protocols = websocket.scope.get("subprotocols") or []
    return protocols[0] if protocols else None


app.router.routes.extend([WebSocketRoute("/ws/echo", echo), WebSocketRoute("/ws/fan", fan)])
