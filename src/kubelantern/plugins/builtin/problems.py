"""The app-bar notice that a plugin failed, linking to ``/-/plugins``.

A plugin that raises is skipped so pages keep working; without this notice
nobody would learn that a column or a button is missing because of it.
"""

from __future__ import annotations

from kubelantern.plugins import hookimpl
from kubelantern.plugins.api import Context
from kubelantern.plugins.types import AppBarItem


@hookimpl(trylast=True)
def extra_appbar_items(ctx: Context) -> list[AppBarItem] | None:
    count = ctx._host.problem_count()  # core code: the host is not public API
    if not count:
        return None
    noun = "problem" if count == 1 else "problems"
    html = ctx.render_string(
        '<a class="plugin-problems" href="{{ url(\'/-/plugins\') }}" data-plugin-problems'
        ' title="A plugin failed; the page works without it. Details on /-/plugins.">'
        "{{ icon('triangle-alert') }}{{ count }} plugin {{ noun }}</a>",
        count=count,
        noun=noun,
    )
    return [AppBarItem(name="plugin-problems", html=html, title="Plugin problems")]
