"""Every server's access logger prints `token=` values as `[redacted]` once a pywry App exists."""

from __future__ import annotations

import logging

import pytest

from pywry.config import PyWrySettings
from pywry.core.accesslog import RedactTokens
from pywry.core.app import App


def test_access_loggers_redact_url_tokens(caplog: pytest.LogCaptureFixture) -> None:
    App(PyWrySettings())
    caplog.set_level(logging.INFO)
    secret = "abcDEF_123-xyz"
    # uvicorn: a tuple of arguments; aiohttp: a message formatted beforehand; Django: a tuple
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5",
        "GET",
        f"/sse/a?client=c&token={secret}",
        "1.1",
        401,
    )
    logging.getLogger("aiohttp.access").info(f'"POST /disconnect/a?TOKEN={secret} HTTP/1.1" 401')
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /x?a=1;token={secret}#f", 401, 2)
    logging.getLogger("uvicorn.access").info("GET /sse/a?access_token=kept&client=c")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        '127.0.0.1:5 - "GET /sse/a?client=c&token=[redacted] HTTP/1.1" 401',
        '"POST /disconnect/a?TOKEN=[redacted] HTTP/1.1" 401',
        '"GET /x?a=1;token=[redacted]#f" 401 2',
        "GET /sse/a?access_token=kept&client=c",  # another parameter's name ends in token
    ]
    App(PyWrySettings())  # a second app adds no second filter
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, RedactTokens) for f in filters) == 1
