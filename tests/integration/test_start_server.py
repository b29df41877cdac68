"""`start_server` over plain HTTP: every adapter applies the options it is given, refuses an
unknown one before listening, and a busy port ends it with one line (status 1)."""

from __future__ import annotations

import socket
import sys

import httpx
import pytest

from tests.integration.wsclient import bootstrap
from tests.support import announced_url, clean_env, ctrl_c, spawn

pytestmark = pytest.mark.integration

FRAMEWORKS = ["fastapi", "flask", "django", "aiohttp"]
SERVE = (
    "import sys, importlib; from pywry.inline import show\n"
    "adapter = importlib.import_module('pywry.adapters.' + sys.argv[1])\n"
    "adapter.start_server(lambda: show('<p>only</p>'), port=int(sys.argv[2]), host='127.0.0.1',"
    " {options})\n"
)


def serve(framework: str, port: int = 0, options: str = "") -> list[str]:
    return [sys.executable, "-c", SERVE.format(options=options), framework, str(port)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_options_reach_the_pages(framework: str) -> None:
    options = "reconnect_timeout=7, max_payload_size='8K', allowed_origins=['https://*.acme.test']"
    proc = spawn(serve(framework, options=options), clean_env())
    try:
        url = announced_url(proc)
        with httpx.Client(base_url=url, timeout=10) as browser:  # keeps the session cookie
            page = browser.get("/")  # a single function: the index application
            assert page.status_code == 200 and "<p>only</p>" in page.text
            boot = bootstrap(page.text)
            assert (boot["reconnectTimeout"], boot["maxPayload"]) == (7, 8192)

            def post(origin: str) -> int:
                headers = {"X-PyWry-Token": boot["token"], "X-PyWry-Client": "c" * 32}
                headers["Origin"] = origin
                body = b'{"type":"app:x","data":{},"id":1}'
                return browser.post(boot["events"], content=body, headers=headers).status_code

            assert post("https://eu.acme.test") == 200  # allowed_origins lets it in
            assert post("https://evil.test") == 403
        status, err = ctrl_c(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert status == 0 and "Traceback" not in err, err


def test_an_unknown_option_fails_before_listening() -> None:
    proc = spawn(serve("flask", options="reconect_timeout=7"), clean_env())
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "unknown option 'reconect_timeout'" in err.decode()
    assert "pywry: serving" not in err.decode()


@pytest.mark.parametrize("framework", ["fastapi", "django"])
def test_a_busy_port_ends_it_with_one_line(framework: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = spawn(serve(framework, port=port), clean_env())
        _, err = proc.communicate(timeout=30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"pywry cannot listen on 127.0.0.1:{port}: the port is in use")
