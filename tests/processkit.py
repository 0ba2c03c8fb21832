"""Processes the tests start (servers, proxies, providers) and waiting on conditions.

Why this module exists: a fixture that starts a server and then polls it must
never turn a crash at start into a silent wait for the whole timeout. So

* every started process writes stdout and stderr to a log file (a pipe nobody
  reads would block a chatty server), and that log's tail is part of every
  failure about it;
* ``wait_until`` watches the processes it is given: one that exits fails the
  wait at once with its exit code and log, and any failure (exit, timeout)
  stops the processes it watched, so nothing is left running behind a failed
  fixture;
* a ``check`` that raises is retried (a server that is not listening yet is
  normal), but the last exception is kept and re-raised as the cause of the
  timeout, so the report says *why* the condition never held.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOG_TAIL = 4000  # characters of a process's log shown in a failure


class ProcessExited(RuntimeError):
    """A process the test waited on exited before the condition held."""


class WaitTimeout(TimeoutError):
    """The condition did not hold in time; ``__cause__`` is the check's last failure."""


@dataclass
class Started:
    """A process a test started, with the file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, chars: int = LOG_TAIL) -> str:
        """The end of the process's log (stdout and stderr)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log at {self.log}: {exc.strerror})"
        return text[-chars:]

    def report(self) -> str:
        """A paragraph for a failure message: who, how it ended, what it said."""
        code = self.popen.poll()
        state = "running" if code is None else f"exited with code {code}"
        return f"--- {self.name} (pid {self.pid}, {state}), log {self.log}:\n{self.tail()}"

    def check_running(self) -> None:
        """Raise ``ProcessExited`` with the log if the process has ended."""
        if self.popen.poll() is not None:
            raise ProcessExited(f"{self.name} exited early\n{self.report()}")

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL; reap it and close our ends of its pipes."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


def start_process(
    name: str,
    cmd: Sequence[str],
    *,
    log_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    stdout_pipe: bool = False,
    start_new_session: bool = False,
) -> Started:
    """Start ``cmd`` with its output in ``<log_dir>/<name>.log`` (a temporary file by default).

    ``stdout_pipe`` keeps stdout as a pipe for processes that announce
    themselves on it (stderr still goes to the log). The log file is closed in
    this process right after the start: the child holds its own descriptor.
    """
    if log_dir is None:
        fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
        os.close(fd)
        log_path = Path(path)
    else:
        log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        out: int | IO[bytes] = subprocess.PIPE if stdout_pipe else log
        popen = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log if stdout_pipe else subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=start_new_session,
        )
    return Started(name=name, popen=popen, log=log_path)


def wait_until(
    check: Callable[[], object],
    timeout: float = 30.0,
    what: str = "condition",
    *,
    procs: Sequence[Started] = (),
    interval: float = 0.05,
) -> None:
    """Poll ``check`` until it returns something true, else fail with the reason.

    An exception from ``check`` counts as "not yet"; the last one becomes the
    ``__cause__`` of the timeout (and its text part of the message). Each
    process in ``procs`` is checked before every try: if one has exited, the
    wait fails at once with its log. On any failure all of ``procs`` are
    stopped, so a failed start leaves nothing running.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    try:
        while True:
            for proc in procs:
                proc.check_running()
            try:
                if check():
                    return
                last = None
            except Exception as exc:  # not ready yet: remember why
                last = exc
            if time.monotonic() > deadline:
                reason = f"; last error: {last!r}" if last is not None else ""
                logs = "".join(f"\n{p.report()}" for p in procs)
                raise WaitTimeout(
                    f"timed out after {timeout:g} s waiting for {what}{reason}{logs}"
                ) from last
            time.sleep(interval)
    except BaseException:
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.stop()
        raise
