"""A kubeconfig ``tokenFile`` is read without blocking the event loop."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from kubelantern.clusters.credentials import KubeconfigCredentials
from kubelantern.clusters.kubeconfig import ClusterConfig


def test_reading_a_token_file_does_not_block_the_event_loop(tmp_path: Path) -> None:
    """A token file whose open blocks (a FIFO with no writer yet) leaves the loop free.

    The writer waits for a sign from the event loop before writing; were the
    read done on the loop's thread, the loop could give no sign until the
    writer gave up waiting.
    """
    fifo = tmp_path / "token"
    os.mkfifo(fifo)
    cfg = ClusterConfig(name="c", server="https://k8s.test", token_file=str(fifo))
    loop_ran = threading.Event()
    signalled: list[bool] = []

    def writer() -> None:
        signalled.append(loop_ran.wait(20))
        with open(fifo, "w", encoding="utf-8") as fh:
            fh.write("the-token\n")

    async def go() -> dict[str, str]:
        creds = KubeconfigCredentials(cfg)
        reading = asyncio.create_task(creds.headers())
        for _ in range(5):  # let the read start and block
            await asyncio.sleep(0)
        loop_ran.set()
        return await asyncio.wait_for(reading, 60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        headers = asyncio.run(go())
    finally:
        loop_ran.set()
        thread.join()
    assert headers == {"Authorization": "Bearer the-token"}
    assert signalled == [True]


def test_a_token_file_is_read_once_per_period(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    creds = KubeconfigCredentials(
        ClusterConfig(name="c", server="https://k8s.test", token_file=str(token))
    )

    async def go() -> list[str]:
        seen = [(await creds.headers())["Authorization"]]
        token.write_text("second\n")
        seen.append((await creds.headers())["Authorization"])  # kept: not re-read per request
        creds.invalidate()  # what a 401 does
        seen.append((await creds.headers())["Authorization"])
        return seen

    assert asyncio.run(go()) == ["Bearer first", "Bearer first", "Bearer second"]
