"""Process shutdown that does not wait for streams which never end by themselves.

uvicorn's graceful shutdown closes the listening socket and then waits for
every open response to finish. A live list (Server-Sent Events) or a log
follow never finishes, so without help every SIGTERM would hold the pod for
the whole grace period and then cut those streams mid-chunk. Instead:

* ``GracefulServer`` (used by ``kubelantern serve``) calls the app's
  ``Lifecycle.begin_shutdown()`` first thing in uvicorn's shutdown (the app's
  own lifespan shutdown calls it too);
* ``web/ops.py`` registers each open event stream with ``stream_scope()``;
  ``begin_shutdown()`` ends them all at once: the view's generator is
  cancelled (its ``finally`` blocks stop the upstream watches) and the
  response is completed properly, so the browser's EventSource reconnects,
  through the Service, to a replica that is still up;
* WebSockets (terminals) are closed by uvicorn itself with code 1012
  ("service restart"), which the terminal page reports.

The state belongs to one app (``AppState.lifecycle``): shutting one app down
leaves the streams of another app in the same process alone.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

log = logging.getLogger(__name__)


class Lifecycle:
    """One app's shutdown switch and the event streams it ends (``AppState.lifecycle``)."""

    def __init__(self) -> None:
        self.shutting_down = False
        self._streams: set[asyncio.Timeout] = set()

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def begin_shutdown(self) -> None:
        """End every registered stream now; streams started later end at once."""
        self.shutting_down = True
        if self._streams:
            log.info("shutting down: ending %d open stream(s)", len(self._streams))
        loop = asyncio.get_running_loop()
        for scope in list(self._streams):
            scope.reschedule(loop.time())

    @asynccontextmanager
    async def stream_scope(self) -> AsyncIterator[asyncio.Timeout]:
        """Run a stream until it ends or shutdown begins (then ``TimeoutError`` is raised).

        Entered *before* the response is known to be a stream; ``register`` then
        arms it once the response turns out to be one.
        """
        async with asyncio.timeout(None) as scope:
            try:
                yield scope
            finally:
                self._streams.discard(scope)

    def register(self, scope: asyncio.Timeout) -> None:
        """Arm ``scope``: shutdown (now or later) ends the stream it guards."""
        self._streams.add(scope)
        if self.shutting_down:
            scope.reschedule(asyncio.get_running_loop().time())


class GracefulServer(uvicorn.Server):
    """uvicorn's server, ending the app's streams before it waits for open responses."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.lifecycle.begin_shutdown()
        await super().shutdown(sockets)
