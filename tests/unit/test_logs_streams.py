"""Log plumbing without a cluster: line splitting, options, containers, merging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kubelantern import errors
from kubelantern.streams.lines import split_lines
from kubelantern.streams.logs import (
    DEFAULT_TAIL,
    LogOptions,
    containers,
    default_container,
    workload_sources,
)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def lines(*parts: bytes, max_bytes: int = 16) -> list[str]:
    async def collect() -> list[str]:
        return [line async for line in split_lines(_chunks(*parts), max_bytes)]

    return asyncio.run(collect())


def test_lines_across_chunks() -> None:
    assert lines(b"one\ntw", b"o\nthr", b"ee\n") == ["one", "two", "three"]


def test_last_line_without_newline_and_crlf() -> None:
    assert lines(b"a\r\nb") == ["a", "b"]


def test_long_line_is_cut_not_buffered() -> None:
    out = lines(b"x" * 40 + b"\nend\n", max_bytes=16)
    assert out == ["x" * 16, "x" * 16, "x" * 8, "end"]


def test_cut_respects_utf8() -> None:
    text = "é" * 20  # 2 bytes each
    out = lines(text.encode(), max_bytes=15)
    assert "".join(out) == text
    assert all("\ufffd" not in piece for piece in out)


def test_options_defaults_and_api_params() -> None:
    opts = LogOptions.from_query({})
    assert opts.tail_lines == DEFAULT_TAIL and not opts.follow
    assert opts.api_params("app") == {"container": "app", "tailLines": str(DEFAULT_TAIL)}


def test_options_full() -> None:
    q = {
        "container": "c",
        "previous": "1",
        "timestamps": "true",
        "tailLines": "all",
        "sinceSeconds": "300",
        "follow": "1",
    }
    opts = LogOptions.from_query(q)
    assert opts.api_params("c") == {
        "container": "c",
        "previous": "true",
        "timestamps": "true",
        "sinceSeconds": "300",
        "follow": "true",
    }
    assert opts.query()["tailLines"] == "all"
    assert opts.query()["follow"] == "1"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("tailLines", "ten", "tailLines must be a whole number"),
        ("tailLines", "-1", "tailLines must be between"),
        ("sinceSeconds", "0", "sinceSeconds must be between"),
        ("sinceTime", "yesterday", "sinceTime must be an RFC 3339 time"),
    ],
)
def test_bad_options_are_clear(key: str, value: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        LogOptions.from_query({key: value})


POD = {
    "metadata": {"name": "p", "annotations": {}},
    "spec": {
        "initContainers": [{"name": "init"}],
        "containers": [{"name": "app", "tty": True, "stdin": True}, {"name": "side"}],
    },
    "status": {
        "containerStatuses": [
            {
                "name": "app",
                "state": {"running": {}},
                "ready": True,
                "restartCount": 2,
                "lastState": {"terminated": {"exitCode": 1}},
            },
        ]
    },
}


def test_containers_and_default() -> None:
    got = {c["name"]: c for c in containers(POD)}
    assert [c["name"] for c in containers(POD)] == ["init", "app", "side"]
    assert got["init"]["kind"] == "init"
    assert got["app"]["state"] == "running" and got["app"]["restarts"] == 2
    assert got["app"]["hasPrevious"] and got["app"]["tty"]
    assert got["side"]["state"] == "waiting"
    assert default_container(POD) == "app"
    annotated = {
        **POD,
        "metadata": {
            "name": "p",
            "annotations": {"kubectl.kubernetes.io/default-container": "side"},
        },
    }
    assert default_container(annotated) == "side"


def test_workload_sources_fall_back_to_each_pods_default() -> None:
    other = {"metadata": {"name": "q"}, "spec": {"containers": [{"name": "only"}]}}
    sources = workload_sources([POD, other], "side")
    assert [(s.pod, s.container) for s in sources] == [("p", "side"), ("q", "only")]


def test_stop_lets_tasks_finish_cleanup_under_anyio_cancellation() -> None:
    """Starlette cancels a stream's scope when the browser leaves, and AnyIO re-cancels on
    every await: the tasks' cleanup (closing the upstream response) must still run."""
    import anyio

    from kubelantern.streams.tasks import Closing

    async def main() -> bool:
        closed = asyncio.Event()
        closing = Closing()

        async def upstream() -> None:
            try:
                await asyncio.Event().wait()  # a quiet followed log
            finally:
                await asyncio.sleep(0.01)  # closing a TLS connection awaits
                await asyncio.sleep(0.01)
                closed.set()

        task = asyncio.create_task(upstream())
        await asyncio.sleep(0)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await closing.stop([task])
        await asyncio.wait_for(closed.wait(), 5)
        await closing.wait(5)
        return closed.is_set() and len(closing) == 0  # kept only while it closed

    assert asyncio.run(main())
