"""docs/security.md is reachable and its links and anchors resolve.

Only what cannot go stale silently: the page is linked from the README and the
operator guide, every relative link in it points at a file that exists, and
every ``#anchor`` at a heading of the page.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_security_page_is_linked_from_the_readme_and_the_operator_guide() -> None:
    assert "](docs/security.md)" in (ROOT / "README.md").read_text()
    assert "](security.md)" in (ROOT / "docs" / "operator-guide.md").read_text()


def test_links_and_anchors_of_the_security_page_resolve() -> None:
    text = PAGE.read_text()
    anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, fragment = target.partition("#")
        if path:
            assert (PAGE.parent / path).exists(), target
        elif fragment:
            assert fragment in anchors, target
