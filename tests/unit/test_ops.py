"""Route labels of the request metrics, and the request id on log lines."""

from __future__ import annotations

import logging

import pytest

from kubelantern import logsetup
from kubelantern.web.ops import route_label


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/", "/"),
        ("/clusters.json", "/clusters"),
        ("/-/static/dist/app.js", "/-/static/{file}"),
        ("/-/search", "/-/search"),
        ("/-/clusters/prod/remove", "/-/clusters"),
        ("/c/prod/", "/c/{cluster}/"),
        ("/c/prod/-/watch", "/c/{cluster}/-/watch"),
        ("/c/prod/nodes.json", "/c/{cluster}/{resource}"),
        ("/c/prod/nodes/n1", "/c/{cluster}/{resource}/{name}"),
        ("/c/prod/nodes/n1/drain", "/c/{cluster}/{resource}/{name}/drain"),
        ("/c/p/namespaces/a/pods", "/c/{cluster}/namespaces/{namespace}/{resource}"),
        ("/c/p/namespaces/a/pods/x", "/c/{cluster}/namespaces/{namespace}/{resource}/{name}"),
        (
            "/c/p/namespaces/a/pods/x/logs/c1",
            "/c/{cluster}/namespaces/{namespace}/{resource}/{name}/logs",
        ),
        (
            "/c/p/namespaces/a/pods/x/exec",
            "/c/{cluster}/namespaces/{namespace}/{resource}/{name}/exec",
        ),
        # odd shapes never become labels of their own
        ("/c/p/a/b/c/d/e/f", "other"),
        ("/wp-admin/x.php", "other"),
        ("/-/", "other"),
        ("/c/p/nodes/n1/%2e%2e", "other"),
    ],
)
def test_route_labels_are_patterns(path: str, label: str) -> None:
    assert route_label(path) == label


def test_log_lines_carry_the_request_id_of_their_context() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(logsetup.RequestIdFilter())
    log = logging.getLogger("kubelantern.test.rid")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outside")
        token = logsetup.request_id.set("abc123")
        try:
            log.warning("inside")
            log.warning("explicit", extra={"request_id": "given"})
        finally:
            logsetup.request_id.reset(token)
    finally:
        log.removeHandler(handler)
    assert [getattr(r, "request_id", None) for r in records] == [None, "abc123", "given"]
    text = logsetup.TextFormatter().format(records[1])
    assert text.endswith("[abc123]")
    assert '"request_id":"abc123"' in logsetup.JsonFormatter().format(records[1])
