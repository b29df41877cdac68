"""A deploy-mode app for the cross-origin tests: a widget, a host page framing it, a JSON route."""

from fastapi.responses import HTMLResponse

from pywry.inline import deploy, get_server_app, show

app = get_server_app()
board = show('<h1 id="title">Board</h1>', label="board")


@app.get("/api/ping")
async def ping() -> dict:
    """The user's own route: CORS_ORIGINS applies to it."""
    return {"pong": True}


@app.get("/host", response_class=HTMLResponse)
async def host() -> str:
    """A host page of the same origin that frames the widget."""
    return '<h1>Host</h1><iframe id="frame" src="/widget/board"></iframe>'


if __name__ == "__main__":
    deploy()
