"""The RBAC-guarded button macro (templates/_can.html) that action views use."""

from __future__ import annotations

from kubelantern.auth.access import Decision
from kubelantern.web.render import make_environment


def render(decision: Decision | None, **kwargs: object) -> str:
    env = make_environment("")
    template = env.from_string(
        '{% from "_can.html" import guarded %}'
        "{{ guarded(d, 'Edit', 'edit', href=href, hide=hide) }}"
    )
    return template.render(d=decision, href=kwargs.get("href"), hide=kwargs.get("hide", False))


def test_allowed_actions_render_as_actions() -> None:
    html = render(Decision(True), href="/x/edit")
    assert 'data-action="edit"' in html and 'href="/x/edit"' in html
    assert 'data-action="edit"' in render(Decision(True))


def test_refused_actions_are_disabled_with_the_reason_and_no_action() -> None:
    html = render(Decision(False, "RBAC does not let you patch deployments.apps"))
    assert "data-action" not in html
    assert "disabled" in html and 'data-denied="edit"' in html
    assert 'title="RBAC does not let you patch deployments.apps"' in html
    assert render(Decision(False, "no"), hide=True).strip() == ""
    assert "data-action" not in render(None)
