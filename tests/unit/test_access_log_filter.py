"""Every server's access logger prints `token=` values as `[redacted]` once a pywry App exists."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from pywry.config import PyWrySettings
from pywry.core.accesslog import RedactTokens
from pywry.core.app import App

NAMES = ("uvicorn.access", "aiohttp.access", "django.server")


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on the access loggers themselves: a server started in this process earlier may
    have set them not to propagate (uvicorn's logging config does) or disabled them."""
    saved = []
    for name in NAMES:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.disabled))
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.INFO)
        logger.disabled = False
    try:
        yield caplog
    finally:
        for logger, level, disabled in saved:
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)
            logger.disabled = disabled


def test_access_loggers_redact_url_tokens(captured: pytest.LogCaptureFixture) -> None:
    caplog = captured
    App(PyWrySettings())
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
    lines = list(dict.fromkeys(r.getMessage() for r in caplog.records))  # once per record
    assert lines == [
        '127.0.0.1:5 - "GET /sse/a?client=c&token=[redacted] HTTP/1.1" 401',
        '"POST /disconnect/a?TOKEN=[redacted] HTTP/1.1" 401',
        '"GET /x?a=1;token=[redacted]#f" 401 2',
        "GET /sse/a?access_token=kept&client=c",  # another parameter's name ends in token
    ]
    App(PyWrySettings())  # a second app adds no second filter
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, RedactTokens) for f in filters) == 1
