"""A test plugin that plays a missed escape: it hands trusted markup with script in it.

Its detail section on ConfigMaps carries an inline ``<script>``, an ``onerror``
handler and a ``javascript:`` link, as if some template had forgotten to
escape an attacker's value. The Content-Security-Policy alone must keep them
from running (tests/security/test_browser_csp.py).
"""

from __future__ import annotations

from typing import Any

from kubelantern import Context, DetailSection, Markup, Resource, hookimpl

PAYLOAD = (
    "<div data-xss-probe>"
    "<script>window.__xss = 'inline script ran'</script>"
    '<img src="/-/static/no-such.png" onerror="window.__xss = \'onerror ran\'">'
    "<svg><script>window.__xss = 'svg script ran'</script></svg>"
    "<a data-xss-link href=\"javascript:window.__xss='javascript: link ran'\">click</a>"
    "</div>"
)


@hookimpl
def detail_sections(ctx: Context, resource: Resource, obj: dict[str, Any]) -> Any:
    if resource.name != "configmaps":
        return None
    return [DetailSection("XSS probe", html=Markup(PAYLOAD))]
