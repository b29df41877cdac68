"""PyWebIO (run in bench/.peers-venv): one button whose callback outputs text.

Served by PyWebIO's FastAPI/Starlette integration (`pywebio.platform.fastapi.asgi_app`) under
the bench's uvicorn launcher, so it runs on the same server stack and settings as pywry.

- `app`: thread-based sessions (a plain function: PyWebIO runs every session in a thread of
  its own and its callbacks in that thread);
- `coro_app`: coroutine-based sessions (an `async def` app and callback: PyWebIO runs them as
  coroutines on the server's event loop, no thread per session).
"""

from __future__ import annotations

from pywebio.output import put_buttons, put_text
from pywebio.platform.fastapi import asgi_app


def main() -> None:
    count = [0]

    def clicked(value: str) -> None:
        count[0] += 1
        put_text(f"pong {count[0]}")

    put_buttons(["ping"], onclick=clicked)


async def main_coro() -> None:
    count = [0]

    async def clicked(value: str) -> None:
        count[0] += 1
        put_text(f"pong {count[0]}")

    put_buttons(["ping"], onclick=clicked)


app = asgi_app(main, cdn=False)
coro_app = asgi_app(main_coro, cdn=False)
