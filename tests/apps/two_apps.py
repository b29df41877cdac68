"""Two `pywry.App`s with their own settings, each with a widget called "board", under /a and /b
of one Starlette app (`uvicorn tests.apps.two_apps:host`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from pywry import App
from pywry.config import PyWrySettings

small = App(PyWrySettings(server={"max_payload_size": "1K", "reconnect_timeout": 2}))
large = App(PyWrySettings(server={"max_payload_size": "8K", "reconnect_timeout": 7}))


def _board(app: App, name: str) -> None:
    def echo(data, event_type, label):
        app.emit(label, "app:echo", {"app": name, "size": len(data.get("text", ""))})

    app.add_widget(f"<h1>Board {name}</h1>", label="board", callbacks={"app:echo": echo})


_board(small, "A")
_board(large, "B")


async def home(request):
    return PlainTextResponse("host")


host = Starlette(
    routes=[Route("/", home), Mount("/a", app=small.asgi), Mount("/b", app=large.asgi)]
)
