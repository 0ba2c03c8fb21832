"""Failures, logging, polling and atomic file writes shared by every part."""

from __future__ import annotations

import datetime
import os
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Fail(Exception):
    """A failure reported as `error: ...` with exit code 1."""


class PortConflict(Fail):
    """A component could not bind its port (taken meanwhile by something else)."""


def log(msg: str) -> None:
    sys.stderr.write(f"[cluster] {msg}\n")
    sys.stderr.flush()


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_file(path: str, data: str | bytes, mode: int = 0o644) -> None:
    """Write ``path`` atomically (a reader never sees half a kubeconfig)."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def tail(path: str, n: int = 40) -> str:
    """The last ``n`` lines of a log file, for failure messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(no log: {e})"


def poll(
    cond: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.2,
    watch: Callable[[], None] | None = None,
) -> T:
    """Call cond() until it returns a truthy value; fail after timeout seconds.

    watch: optional callable run before each try; it raises Fail when a process died.
    The last exception of ``cond`` is part of the timeout's message.
    """
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while True:
        if watch:
            watch()
        try:
            v = cond()
            if v:
                return v
        except Fail:
            raise
        except Exception as e:  # keep polling, report the last error
            last_err = e
        if time.monotonic() >= deadline:
            raise Fail(
                f"timed out after {timeout}s waiting for {what}"
                + (f" (last error: {last_err})" if last_err else "")
            )
        time.sleep(interval)
