"""In Chromium: edit a Deployment's replicas in the YAML editor, review the diff, apply,
and see the list follow; scale and pause from the detail page's buttons."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.integration.operate_kit import Kube, a_deployment, deploy_path


@pytest.fixture
def kube(cluster: RealCluster) -> Iterator[Kube]:
    k = Kube(cluster)
    yield k
    k.close()


def test_edit_replicas_review_diff_apply_and_list_updates(
    page: Page, server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-ui", replicas=1) as name:
        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps")
        page.locator(f'tr[data-name="{name}"]').get_by_role("link", name=name).click()
        page.locator('[data-action="edit"]').click()
        expect(page).to_have_url(re.compile(rf"/deployments\.apps/{name}/edit$"))

        # CodeMirror, with line numbers, holding the live object.
        editor = page.locator(".cm-editor[data-editor-view]")
        expect(editor).to_be_visible()
        expect(editor.locator(".cm-lineNumbers")).to_be_visible()
        lines = editor.locator(".cm-line")
        index = next(i for i, t in enumerate(lines.all_inner_texts()) if t == "  replicas: 1")
        replicas = lines.nth(index)  # spec.replicas (status.replicas comes later)
        replicas.click()
        page.keyboard.press("End")
        page.keyboard.press("Backspace")
        page.keyboard.type("2")
        expect(replicas).to_have_text(re.compile(r"replicas: 2$"))

        page.locator("[data-editor-review]").click()
        status = page.locator("#editor-status")
        # The setup's field manager owns spec.replicas: the review says so...
        expect(status).to_contain_text("test-setup")
        review = page.locator("#editor-review")
        expect(review).to_be_visible()
        expect(review.locator(".cm-mergeView")).to_be_visible()
        expect(review.locator("pre.diff .diff-del")).to_contain_text(["-  replicas: 1"])
        expect(review.locator("pre.diff .diff-add")).to_contain_text(["+  replicas: 2"])
        assert kube.must(deploy_path("team-a", name))["spec"]["replicas"] == 1

        # ... so applying is refused until the person chooses force.
        page.locator("[data-editor-apply]").click()
        expect(page.locator("[data-editor-error]")).to_contain_text("Conflict")
        page.locator("[data-editor-force-apply]").click()
        expect(page.locator('[data-editor-result="applied"]')).to_be_visible()
        assert kube.must(deploy_path("team-a", name))["spec"]["replicas"] == 2

        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps")
        row = page.locator(f'tr[data-name="{name}"]')
        expect(row).to_contain_text("2/2", timeout=30_000)


def test_buttons_scale_and_pause_from_the_detail_page(
    page: Page, server: ServerProcess, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-ui", replicas=1) as name:
        page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/{name}")
        actions = page.locator("#object-actions")
        actions.locator('input[name="replicas"]').fill("3")
        actions.locator('[data-action="scale"]').click()
        expect(page.locator("#action-result")).to_contain_text("to 3 replicas")
        assert kube.must(deploy_path("team-a", name))["spec"]["replicas"] == 3

        page.once("dialog", lambda dialog: dialog.accept())  # htmx asks before a restart
        actions.locator('[data-action="restart"]').click()
        expect(page.locator("#action-result")).to_contain_text("Restarting every pod")

        actions.locator('[data-action="pause"]').click()
        expect(page.locator("#action-result")).to_contain_text("Paused the rollout")
        expect(actions.locator('[data-action="resume"]')).to_be_visible()  # redrawn
        assert kube.must(deploy_path("team-a", name))["spec"]["paused"] is True

        page.locator("summary", has_text="Delete").click()
        page.locator('[data-action="delete"]').click()
        expect(page).to_have_url(
            f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps"
        )
        kube.wait_gone(deploy_path("team-a", name))
