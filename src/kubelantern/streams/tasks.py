"""Stopping the tasks of a stream so that they really close their upstream connections.

A stream's consumer runs inside Starlette's (AnyIO's) cancel scope, which is
cancelled when the browser disconnects, and AnyIO re-delivers that
cancellation on every await until the scope exits. If the consumer then
awaits ``asyncio.gather(*tasks)``, each re-delivery cancels the gather, and
gather passes it on to the tasks *while they are closing their upstream
response*: the close is interrupted and the API server keeps the stream open.
So the tasks are cancelled once, and waited for behind ``asyncio.shield``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class Closing:
    """Stream tasks being cancelled, kept referenced until their cleanup has run.

    One per app (``AppState.closing``): the event loop holds tasks only weakly,
    so tasks whose consumer has gone need an owner while they close.
    """

    def __init__(self) -> None:
        self._waiting: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._waiting)

    async def stop(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """Cancel ``tasks`` once and wait until they have cleaned up.

        If the caller is cancelled meanwhile, the tasks still finish their cleanup
        in the background (kept referenced here until they do).
        """
        pending = list(tasks)
        if not pending:
            return
        for task in pending:
            task.cancel()
        waiter = asyncio.gather(*pending, return_exceptions=True)
        self._waiting.add(waiter)
        waiter.add_done_callback(self._waiting.discard)
        await asyncio.shield(waiter)

    async def wait(self, timeout: float) -> None:
        """At shutdown: give the cleanups still running up to ``timeout`` seconds."""
        if self._waiting:
            await asyncio.wait(list(self._waiting), timeout=timeout)
