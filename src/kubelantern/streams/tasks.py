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

_closing: set[asyncio.Future[Any]] = set()


async def stop(tasks: Iterable[asyncio.Task[Any]]) -> None:
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
    _closing.add(waiter)
    waiter.add_done_callback(_closing.discard)
    await asyncio.shield(waiter)
