"""Nothing in the repository cites a document that is not in it.

The design once lived in files beside the repository, and code, tests and docs
cited them; a reader of a clone could not follow those references. The design
is ``docs/design.md`` now, and this test keeps every reference inside the
repository: it fails on any tracked text file that names one of those files.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Spelled in pieces so that this file does not match itself. The file names are
# matched as written (upper case), so docs/design.md itself is fine.
OUTSIDE = re.compile(
    "|".join(
        (
            r"\bDESIGN" + r"\.md\b",
            r"\bSTYLE" + r"\.md\b",
            r"\bSTYLE" + r" practice",
            r"\.\./" + r"shared\b",
            r"/work/" + r"shared\b",
            r"(?i:design" + r" brief)",
        )
    )
)
# Built or fetched trees that are not ours (a walk without git must not read them).
NOT_OURS = {".git", ".venv", "node_modules", "dist", "build", ".stamps", "gobuild", "__pycache__"}


def tracked_files() -> list[Path]:
    """Every file git tracks, or every file of the tree when this is no git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not NOT_OURS & set(p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in out.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:  # a tracked file deleted in the working tree
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def outside_references(path: Path, text: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    files = tracked_files()
    assert len(files) > 100, "the repository's files were not found"
    found: list[str] = []
    for path in files:
        text = text_of(path)
        if text is not None:
            found += outside_references(path, text)
    assert not found, "cite docs/design.md (or explain in place) instead:\n" + "\n".join(found)


def test_the_check_finds_each_kind_of_reference(tmp_path: Path) -> None:
    """The pattern is not vacuous: each way the old references were written is caught."""
    cited = [
        "see " + "DESIGN" + ".md, URLs",
        "(STYLE" + " practice 11)",
        "STYLE" + ".md beside the project",
        "../" + "shared/notes",
        "the " + "design" + " brief",
    ]
    path = ROOT / "example.md"
    for line in cited:
        assert outside_references(path, line), line
    assert not outside_references(path, "docs/design.md, URL scheme; stylesheet; shared cache")
