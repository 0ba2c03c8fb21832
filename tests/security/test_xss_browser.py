"""Script payloads in cluster data and URLs, rendered in Chromium: none of them runs.

Annotations and ConfigMap data may hold any text, so a person with write access
to one namespace could plant markup for everyone who looks at it; object names
in URLs are typed by whoever crafts a link; pod log lines are written by the
workload. Every payload sets ``window.__pwned`` (or opens a dialog) if it runs;
the tests also check the payload is shown as text, so they fail if the page
simply left it out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.integration.operate_kit import Kube
from tests.security.conftest import XSS_MARK, XSS_PAYLOADS, unique
from tests.streamkit import append_log, web_pods


def no_script_ran(page: Page) -> None:
    assert page.evaluate(f"() => window.{XSS_MARK} === undefined"), "a payload ran"


@pytest.fixture(scope="module")
def planted(kube: Kube) -> Iterator[str]:
    """A ConfigMap in team-a whose annotations and data are all payloads."""
    name = unique("sec-xss")
    path = f"/api/v1/namespaces/team-a/configmaps/{name}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": "team-a",
                "annotations": {f"sec.example.com/p{i}": p for i, p in enumerate(XSS_PAYLOADS)},
            },
            "data": {f"p{i}": p for i, p in enumerate(XSS_PAYLOADS)},
        },
        path,
    )
    yield name
    kube.delete(path)


def test_payloads_in_annotations_and_data_stay_text(
    page: Page, server: ServerProcess, cluster: RealCluster, planted: str
) -> None:
    base = f"{server.url}/c/{cluster.name}/namespaces/team-a/configmaps"
    for url in (f"{base}/{planted}", f"{base}/{planted}/-/edit", f"{base}?filter={planted}"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        no_script_ran(page)
    page.goto(f"{base}/{planted}")
    expect(page.locator("body")).to_contain_text(XSS_PAYLOADS[0])
    no_script_ran(page)


def test_payloads_in_the_url_stay_text(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    base = f"{server.url}/c/{cluster.name}/namespaces/team-a/configmaps"
    for payload in XSS_PAYLOADS:
        for url in (
            f"{base}/{quote(payload, safe='')}",
            f"{base}?filter={quote(payload, safe='')}",
            f"{server.url}/c/{quote(payload, safe='')}/namespaces",
        ):
            page.goto(url)
            no_script_ran(page)


def test_payloads_in_a_pasted_yaml_stay_text(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    """The create results table echoes names and messages from the pasted text."""
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": XSS_PAYLOADS[1], "namespace": "team-a"},
        "data": {"a": XSS_PAYLOADS[0]},
    }
    text = yaml.safe_dump(doc) + "---\n" + yaml.safe_dump({**doc, "kind": XSS_PAYLOADS[2]})
    page.goto(f"{server.url}/c/{cluster.name}/-/create?namespace=team-a")
    page.wait_for_load_state("networkidle")
    editor = page.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.get_by_role("button", name="Check").click()
    results = page.locator("[data-documents]")
    expect(results).to_contain_text(XSS_PAYLOADS[1])  # the name, as text
    expect(results).to_contain_text(XSS_PAYLOADS[2])  # the kind, as text
    no_script_ran(page)


def test_payloads_in_pod_log_lines_stay_text(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    pod = web_pods(cluster)[0]
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods/{pod}/logs")
    expect(page.locator("[data-log-status]")).to_have_text("following")
    tag = uuid.uuid4().hex[:8]
    lines = [f"sec-{tag} {p}" for p in XSS_PAYLOADS]
    append_log(cluster, *lines)
    view = page.locator("[data-log-view]")
    expect(view.locator(".ln").last).to_have_text(lines[-1])
    expect(view).to_contain_text(lines[0])
    no_script_ran(page)
