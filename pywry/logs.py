"""How deploy() logs: pywry's loggers beside uvicorn's, at one level, as text or JSON lines.

`logging_config` is the `logging.config.dictConfig` document deploy() hands uvicorn (every
worker applies it): uvicorn's own, plus the `pywry` logger on the same handler, everything at
`PYWRY_SERVER__LOG_LEVEL`. With `PYWRY_SERVER__LOG_FORMAT=json` every line, uvicorn's
access lines included, is one JSON object (`JsonLines`), for log collectors that parse fields.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any

from .config import ServerSettings
from .extras import need

TRACE = 5  # uvicorn's level below DEBUG
#: Attributes every `LogRecord` has; anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the record's extra fields.

    uvicorn's access lines also get `client`, `method`, `path` and `status`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()  # uvicorn's config passes `fmt` and `use_colors`: text only

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            out.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def logging_config(server: ServerSettings) -> dict[str, Any]:
    """The dictConfig document for uvicorn and pywry at `server.log_level` and `log_format`:
    uvicorn's own (its handlers and formats), with the `pywry` logger on its default handler."""
    uvicorn_config = need("uvicorn.config", "deploy()", "fastapi")
    config: dict[str, Any] = copy.deepcopy(uvicorn_config.LOGGING_CONFIG)
    level = TRACE if server.log_level == "trace" else server.log_level.upper()
    if server.log_format == "json":
        config["formatters"] = {
            name: {"()": f"{__name__}.JsonLines"} for name in config["formatters"]
        }
    loggers = config["loggers"]
    for logger in loggers.values():
        logger["level"] = level
    loggers["pywry"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
