"""Whole responses are gzipped; streams are passed on at once, never compressed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from kubelantern.web.compress import Compression

PAGE = "<p>" + "pods " * 2000 + "</p>"


async def page(_: Request) -> Response:
    return HTMLResponse(PAGE, headers={"Vary": "Accept", "ETag": '"abc"'})


async def tiny(_: Request) -> Response:
    return HTMLResponse("<p>hi</p>")


async def events(_: Request) -> Response:
    async def gen() -> AsyncIterator[str]:
        for _ in range(3):
            yield "data: " + "x" * 2000 + "\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


client = TestClient(
    Compression(
        Starlette(routes=[Route("/", page), Route("/tiny", tiny), Route("/events", events)])
    )
)


def test_pages_are_gzipped_with_vary_and_a_weak_etag() -> None:
    answer = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.text == PAGE  # httpx decoded it
    assert int(answer.headers["content-length"]) < len(PAGE) // 10
    assert answer.headers["vary"] == "Accept, Accept-Encoding"
    assert answer.headers["etag"] == 'W/"abc"'


def test_no_gzip_without_accept_encoding_or_for_tiny_bodies() -> None:
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == PAGE
    assert "Accept-Encoding" in plain.headers["vary"]
    small = client.get("/tiny", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_cross_site_requests_get_no_compression() -> None:
    """BREACH: lengths of responses a foreign page makes the browser fetch must not leak."""
    for site in ("cross-site", "same-site"):
        answer = client.get("/", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": site})
        assert "content-encoding" not in answer.headers, site
    same = client.get("/", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin"})
    assert same.headers["content-encoding"] == "gzip"


def test_event_streams_are_not_compressed() -> None:
    answer = client.get("/events", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in answer.headers
    assert answer.text.count("data: ") == 3


def test_a_stream_is_passed_on_message_by_message() -> None:
    """The start and the first chunk reach the client before the app sends more."""
    sent: list[Message] = []
    release = asyncio.Event()
    first_chunk = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"4000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"a" * 2000, "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"b" * 2000, "more_body": False})

    async def scenario() -> None:
        async def send(message: Message) -> None:
            sent.append(message)
            if len(sent) == 2:
                first_chunk.set()

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"accept-encoding", b"gzip")],
        }
        task = asyncio.create_task(Compression(app)(scope, receive, send))
        await asyncio.wait_for(first_chunk.wait(), 10)  # while the app still waits
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        assert sent[1]["body"] == b"a" * 2000  # as sent: not compressed, not held back
        release.set()
        await task
        assert sent[2]["body"] == b"b" * 2000

    asyncio.run(scenario())
