"""docs/design.md is reachable, and its links and anchors resolve.

The design is where the next engineer starts, so the README and the short
architecture page must lead to it, and no link in either page may point at a
file or heading that moved away.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    return {anchor(h) for h in re.findall(r"^#+ (.+)$", page.read_text(), re.M)}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing_anchor = fragment and linked.suffix == ".md" and linked.exists()
        if not linked.exists() or (missing_anchor and fragment not in anchors_of(linked)):
            broken.append(target)
    return broken


def test_the_design_is_linked_from_the_readme_and_the_architecture_page() -> None:
    assert "](docs/design.md)" in (ROOT / "README.md").read_text()
    assert "](design.md" in (DOCS / "architecture.md").read_text()


def test_links_and_anchors_of_the_design_and_architecture_pages_resolve() -> None:
    for page in (DOCS / "design.md", DOCS / "architecture.md"):
        assert broken_links(page) == [], page.name


def test_a_broken_anchor_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nothing) [file](missing.md)\n")
    assert broken_links(page) == ["#nothing", "missing.md"]
