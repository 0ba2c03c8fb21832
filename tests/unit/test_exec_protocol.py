"""The exec/attach channel protocol and the terminal socket's guards, without a cluster."""

from __future__ import annotations

import pytest
from starlette.requests import HTTPConnection

from kubelantern.streams.remote import (
    PROTOCOLS,
    ExitStatus,
    protocol_choices,
    socket_url,
    stream_params,
)
from kubelantern.web.views.exec import AUTO_SHELLS, commands_for, same_origin


def test_success_status() -> None:
    status = ExitStatus.from_bytes(b'{"metadata":{},"status":"Success"}')
    assert status.success and status.exit_code == 0


def test_non_zero_exit_code() -> None:
    raw = (
        b'{"status":"Failure","message":"command terminated with non-zero exit code",'
        b'"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )
    status = ExitStatus.from_bytes(raw)
    assert not status.success and status.exit_code == 3
    assert not status.command_not_found


def test_missing_shell_is_recognised() -> None:
    raw = (
        b'{"status":"Failure","reason":"InternalError","message":"error executing command '
        b'in container: cmd start: /bin/bash : fork/exec /bin/bash: no such file or directory"}'
    )
    assert ExitStatus.from_bytes(raw).command_not_found
    oci = ExitStatus.from_status(
        {
            "status": "Failure",
            "message": 'OCI runtime exec failed: exec: "/bin/bash": stat /bin/bash: '
            "no such file or directory: unknown",
        }
    )
    assert oci.command_not_found


def test_garbage_status_is_a_failure_with_the_text() -> None:
    status = ExitStatus.from_bytes(b"boom")
    assert not status.success and status.message == "boom"


def test_socket_url_and_params() -> None:
    params = stream_params(container="c", command=["sh", "-c", "a;b"], stdin=True, tty=True)
    url = socket_url("https://k:6443/prefix/", "/api/v1/namespaces/n/pods/p/exec", params)
    assert url.startswith("wss://k:6443/prefix/api/v1/namespaces/n/pods/p/exec?container=c")
    # ';' must be escaped: Go's query parser drops parameters that contain one.
    assert "command=a%3Bb" in url
    assert "stderr=false" in url and "tty=true" in url
    assert socket_url("http://k", "/x", []).startswith("ws://k/x")


def test_commands_for() -> None:
    assert commands_for("exec", [], "auto") == list(AUTO_SHELLS)
    assert commands_for("exec", [], "/bin/ash") == [("/bin/ash",)]
    assert commands_for("exec", ["ls -la /tmp"], "auto") == [("ls", "-la", "/tmp")]
    assert commands_for("exec", ["sh", "-c", "echo a b"], "auto") == [("sh", "-c", "echo a b")]
    assert commands_for("attach", ["ignored"], "auto") == [()]


def conn(headers: dict[str, str]) -> HTTPConnection:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return HTTPConnection({"type": "websocket", "headers": raw, "path": "/", "query_string": b""})


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"host": "ui.example"}, True),
        ({"host": "ui.example", "origin": "https://ui.example"}, True),
        ({"host": "ui.example", "origin": "https://evil.example"}, False),
        ({"host": "ui.example", "origin": "null"}, False),
        (
            {
                "host": "internal:4466",
                "x-forwarded-host": "ui.example",
                "origin": "https://ui.example",
            },
            True,
        ),
    ],
)
def test_same_origin(headers: dict[str, str], ok: bool) -> None:
    assert same_origin(conn(headers)) is ok


def test_protocol_choices() -> None:
    assert protocol_choices("exec") == (("v5.channel.k8s.io", "v4.channel.k8s.io"),)
    assert PROTOCOLS[0] == "v5.channel.k8s.io"
    # Attach: v4 alone first (offering v5 in the same handshake selects the translator).
    assert protocol_choices("attach") == (("v4.channel.k8s.io",), ("v5.channel.k8s.io",))
