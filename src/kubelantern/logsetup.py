"""Logging as text for people or JSON lines for log collectors.

Every line logged while a request is handled carries that request's id
(``request_id``, also sent back as ``X-Request-Id``): ``RequestLog`` puts it in
a context variable, which asyncio copies into the tasks a request starts
(watches, streams), and ``RequestIdFilter`` adds it to each record.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
from typing import Any

import orjson

# Record attributes that are not "extra" fields; uvicorn's color_message repeats the
# message with terminal colour codes, which no log collector wants.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kubelantern_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Add the current request's id to records that do not carry one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            rid = request_id.get()
            if rid is not None:
                record.request_id = rid
        return True


class TextFormatter(logging.Formatter):
    """The human format, with ``[request id]`` when the line belongs to a request."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [{rid}]" if rid else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields of the record are kept."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def configure(fmt: str = "text", level: str = "info") -> None:
    """Route every logger (uvicorn's and Python warnings too) through one handler.

    Called before anything else logs, so with ``json`` the first line is JSON.
    """
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)
