"""Access logs never show a widget token, whatever URL a client asks for.

The bridge sends tokens in headers, and a URL with `token=` is refused (`http.token_in_url`),
but the server logs the request line before pywry answers it: an old or hand-written client
would still put its token in uvicorn's, gunicorn's, aiohttp's, Django's or werkzeug's access
log. A filter on those loggers blanks the value of every `token=` query parameter before the
line is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

#: The loggers servers write request lines to.
ACCESS_LOGGERS = (
    "uvicorn.access", "gunicorn.access", "aiohttp.access", "django.server", "werkzeug"
)  # fmt: skip
REDACTED = "[redacted]"
_TOKEN_PARAM = re.compile(r"([?&;]token=)[^&;#\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the value of every `token=` query parameter replaced."""
    if "token=" not in text.lower():
        return text
    return _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Blanks `token=` values in a record's message and arguments (a line is never dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, MutableMapping):  # gunicorn's atoms: changed in place, as they
            for key, value in list(args.items()):  # answer unknown keys themselves
                args[key] = _clean(value)
        elif isinstance(args, tuple):
            record.args = tuple(_clean(value) for value in args)
        return True


def install() -> None:
    """Put the filter on every access logger of the process, once."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
