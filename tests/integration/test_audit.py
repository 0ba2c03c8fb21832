"""Audit: every write is one structured log line, and shows in the person's activity panel."""

from __future__ import annotations

import logging

import orjson
import pytest
from starlette.testclient import TestClient

from kubelantern.logsetup import JsonFormatter
from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube, a_deployment, writes


def audit_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "kubelantern.audit"]


def test_each_write_is_one_structured_line(
    alice: TestClient, cluster: RealCluster, kube: Kube, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kubelantern.audit")
    with a_deployment(kube, "ops-audit") as dep:
        url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/{dep}"
        assert alice.post(
            url + "/actions/scale", json={"replicas": 2}, headers=writes(alice)
        ).is_success
        text = alice.get(url + "/edit.json").json()["yaml"]
        body = {"yaml": text, "original": text}
        review = alice.post(url + "/review", json=body, headers=writes(alice))
        assert review.status_code == 200
    team_b = f"/c/{cluster.name}/namespaces/team-b/deployments.apps/api/actions/restart"
    assert alice.post(team_b, headers=writes(alice)).status_code == 403

    records = audit_records(caplog)
    ok = [r for r in records if getattr(r, "object", None) == dep]
    assert [r.__dict__["verb"] for r in ok] == ["scale"]  # the review was a dry run: not audited
    (scaled,) = ok
    fields = scaled.__dict__
    assert fields["user"] == "alice" and fields["cluster"] == cluster.name
    assert fields["resource"] == "deployments.apps" and fields["namespace"] == "team-a"
    assert fields["result"] == "ok" and fields["status"] == 200 and fields["request_id"]
    assert scaled.levelno == logging.INFO
    assert scaled.getMessage().startswith(f"alice scale deployments.apps team-a/{dep} in cluster")

    refused = next(r for r in records if getattr(r, "object", None) == "api")
    assert refused.__dict__["result"] == "refused" and refused.__dict__["status"] == 403
    assert refused.__dict__["verb"] == "restart" and refused.levelno == logging.WARNING

    line = orjson.loads(JsonFormatter().format(scaled))
    assert line["logger"] == "kubelantern.audit"
    for key in ("user", "identity", "cluster", "verb", "resource", "namespace", "object", "result"):
        assert key in line, key
    assert line["object"] == dep and line["verb"] == "scale"


def test_activity_panel_shows_only_the_persons_own_writes(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-activity") as dep:
        url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/{dep}"
        assert alice.post(url + "/actions/pause", headers=writes(alice)).is_success
        assert alice.post(url + "/actions/resume", headers=writes(alice)).is_success
        assert bob.post(url + "/actions/pause", headers=writes(bob)).status_code == 403

        mine = alice.get("/-/activity.json").json()["activity"]
        recent = [e for e in mine if e["name"] == dep]
        assert [e["verb"] for e in recent] == ["resume", "pause"]  # newest first
        assert all(e["user"] == "alice" and e["result"] == "ok" for e in recent)
        assert recent[0]["url"] == url and recent[0]["cluster"] == cluster.name

        theirs = bob.get("/-/activity.json").json()["activity"]
        assert [e["verb"] for e in theirs if e["name"] == dep] == ["pause"]
        assert theirs[0]["result"] == "refused" and theirs[0]["user"] == "bob"

        page = alice.get("/-/activity")
        assert page.status_code == 200 and f">deployments.apps team-a/{dep}</a>" in page.text
        fragment = alice.get("/-/activity", headers={"HX-Request": "true"}).text
        assert "<html" not in fragment and 'data-verb="resume"' in fragment
        detail = alice.get(url).text
        assert "data-activity-panel" in detail and 'hx-get="/-/activity"' in detail
