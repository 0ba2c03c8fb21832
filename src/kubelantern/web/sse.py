"""Server-sent events: the one encoder and response of every live stream.

Live lists (``web.live``) and log follows (``web.views.logs``) both speak
``text/event-stream``; one encoder keeps their framing (``id``, ``event``,
one JSON ``data`` line) and their anti-buffering headers the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

HEARTBEAT = 15.0
"""Seconds between SSE comments on a quiet stream: keeps proxies from timing out
and lets the server notice a browser that went away."""

KEEP_ALIVE = b": keep-alive\n\n"
"""An SSE comment: ignored by the browser, written to keep the connection busy."""


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One event: its id (for ``Last-Event-ID`` on reconnect), name and JSON data."""
    out = b""
    if event_id:
        out += b"id: " + event_id.encode() + b"\n"
    out += b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
    return out


def sse_response(stream: AsyncIterator[bytes]) -> Response:
    """Stream events unbuffered: no cache, and no buffering by nginx (``X-Accel-Buffering``)."""
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
