"""The bench's WebSocket client with permessage-deflate, against real servers on loopback."""

from __future__ import annotations

from pathlib import Path

from bench.common import base_env, free_port, run_server, uvicorn_argv
from bench.wsclient import connect
from tests.support import run_async

ROOT = Path(__file__).resolve().parents[2]

MESSAGE = '{"type":"app:ping","data":{"n":1,"text":"' + "hello " * 200 + '"},"id":1}'


def test_deflate_round_trips_through_uvicorn_starlette_echo() -> None:
    """The raw Starlette echo under the bench's uvicorn launcher accepts the offer; messages
    go out compressed, come back compressed and inflate to what was sent."""
    port = free_port()
    argv = uvicorn_argv("bench.servers.raw_app:app", port)
    with run_server("test-wsclient-echo", argv, base_env(), port, "/health", cwd=ROOT) as server:
        run_async(_echo(server.ws_url + "/ws/echo"))  # a fresh loop: Playwright may hold this one


async def _echo(url: str) -> None:
    plain = await connect(url)
    try:
        assert plain.deflate is None and plain.extensions == ""
        plain.send(MESSAGE)
        assert await plain.recv(timeout=5) == MESSAGE
    finally:
        await plain.close()

    conn = await connect(url, deflate=True)
    try:
        assert conn.extensions.startswith("permessage-deflate")
        assert conn.deflate is not None
        for i in range(3):
            text = MESSAGE.replace('"n":1', f'"n":{i}')
            conn.send(text)
            assert await conn.recv(timeout=5) == text
        assert conn.deflate.sent == 3 and conn.deflate.received == 3
        assert conn.deflate.wire_in < conn.deflate.plain_in / 5  # it really came compressed
    finally:
        await conn.close()


def test_deflate_honours_the_parameters_the_server_answers() -> None:
    """No context takeover on both sides and 10-bit windows, as a websockets server answers
    them: every message still round-trips, also when repeated (no stale dictionary)."""
    from websockets.asyncio import server as server_mod  # noqa: PLC0415
    from websockets.extensions.permessage_deflate import (  # noqa: PLC0415
        ServerPerMessageDeflateFactory,
    )

    async def main() -> None:
        async def echo(ws: object) -> None:
            async for message in ws:  # type: ignore[attr-defined]
                await ws.send(message)  # type: ignore[attr-defined]

        factory = ServerPerMessageDeflateFactory(
            server_no_context_takeover=True,
            client_no_context_takeover=True,
            server_max_window_bits=10,
            client_max_window_bits=10,
        )
        async with server_mod.serve(
            echo, "127.0.0.1", 0, compression=None, extensions=[factory]
        ) as srv:
            port = next(iter(srv.sockets)).getsockname()[1]
            conn = await connect(f"ws://127.0.0.1:{port}/", deflate=True)
            try:
                assert conn.deflate is not None
                assert conn.deflate.server_no_context and conn.deflate.client_no_context
                assert conn.deflate.client_bits == 10 and conn.deflate.server_bits == 10
                for _ in range(3):
                    conn.send(MESSAGE)
                    assert await conn.recv(timeout=5) == MESSAGE
                assert conn.deflate.received == 3
            finally:
                await conn.close()

    run_async(main())
