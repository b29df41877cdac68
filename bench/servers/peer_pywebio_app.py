"""PyWebIO (run in bench/.peers-venv): one button whose callback outputs text.

Served by PyWebIO's FastAPI/Starlette integration (`pywebio.platform.fastapi.asgi_app`) under
the bench's uvicorn launcher, so it runs on the same server stack and settings as pywry.
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


app = asgi_app(main, cdn=False)
