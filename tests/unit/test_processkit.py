"""The test tooling itself: a server that dies or hangs at start fails fast, with its log.

Real child processes (this Python), no cluster: a fixture that starts a
server must never wait out its whole timeout for a process that already
died, nor leave one running after it gave up.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.processkit import ProcessExited, WaitTimeout, start_process, wait_until


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_process_that_dies_at_start_fails_the_wait_at_once_with_its_log(
    tmp_path: Path,
) -> None:
    proc = start_process(
        "dies", python("import sys; print('cannot bind'); sys.exit(3)"), log_dir=tmp_path
    )

    # A long timeout: waiting it out would show as a timeout, not as an exit.
    with pytest.raises(ProcessExited) as info:
        wait_until(lambda: False, 600, "the server to answer", procs=[proc])
    assert "dies exited early" in str(info.value)
    assert "exited with code 3" in str(info.value)
    assert "cannot bind" in str(info.value)


def test_a_timeout_stops_the_process_and_shows_its_log_and_the_last_error(
    tmp_path: Path,
) -> None:
    code = "import time; print('starting up', flush=True); time.sleep(600)"
    proc = start_process("hangs", python(code), log_dir=tmp_path)
    wait_until(lambda: "starting up" in proc.tail(), 60, "the first line")

    def check() -> bool:
        raise ConnectionRefusedError("nobody listens on 127.0.0.1:9")

    with pytest.raises(WaitTimeout) as info:
        wait_until(check, 0.5, "the server to answer", procs=[proc])
    message = str(info.value)
    assert "the server to answer" in message
    assert "nobody listens" in message and "starting up" in message
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert proc.popen.poll() is not None  # stopped: nothing left running


def test_a_check_that_stops_failing_is_not_reported() -> None:
    tries: list[int] = []

    def check() -> bool:
        tries.append(1)
        if len(tries) < 3:
            raise ValueError("not yet")
        return True

    wait_until(check, 60, "the third try")
    assert len(tries) == 3


def test_start_server_fails_with_the_servers_own_words(tmp_path: Path) -> None:
    """``kubelantern serve`` with a bad flag exits at once: its usage error is the failure."""
    with pytest.raises(ProcessExited) as info:
        start_server("--no-such-flag", log_dir=tmp_path, name="serve-bad-flag", timeout=600)
    assert "--no-such-flag" in str(info.value)
    assert (tmp_path / "serve-bad-flag.log").exists()
