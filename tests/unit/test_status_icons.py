"""Status chips' tones and the icon sprite: every icon a page names is in the sprite."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kubelantern.web import icons, status
from kubelantern.web.assets import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]
LISTED = set(json.loads((ROOT / "frontend" / "src" / "icons.json").read_text())["icons"])


@pytest.mark.parametrize(
    ("column", "value", "tone"),
    [
        ("Status", "Running", "ok"),
        ("Status", "Completed", "ok"),
        ("Status", "Bound", "ok"),
        ("Status", "Complete", "ok"),
        ("Status", "Pending", "warn"),
        ("Status", "ContainerCreating", "warn"),
        ("Status", "Init:1/2", "warn"),
        ("Status", "Failed", "bad"),
        ("Status", "CrashLoopBackOff", "bad"),
        ("Status", "Init:CrashLoopBackOff", "bad"),
        ("Status", "ImagePullBackOff", "bad"),
        ("Status", "Error", "bad"),
        ("Status", "Evicted", "bad"),
        ("Status", "ExitCode:137", "bad"),
        ("Status", "Ready,SchedulingDisabled", "warn"),
        ("Status", "NotReady", "warn"),
        ("Status", "SomethingNew", "neutral"),
        ("Phase", "Ready", "ok"),
        ("Ready", "3/3", "ok"),
        ("Ready", "1/3", "warn"),
        ("Ready", "0/0", "neutral"),
        ("Ready", "True", "ok"),
        ("Ready", "web", None),
        ("Name", "Failed", None),
        ("Status", "", None),
        ("Status", None, None),
    ],
)
def test_status_tone(column: str, value: object, tone: str | None) -> None:
    assert status.status_tone(column, value) == tone


def test_a_finished_pod_is_not_amber_for_being_unready() -> None:
    assert status.status_tone("Ready", "0/1", ["report-1", "0/1", "Completed", 0]) == "neutral"
    assert status.status_tone("Ready", "0/1", ["broken", "0/1", "ImagePullBackOff", 0]) == "warn"


def test_every_tone_has_a_shape_as_well_as_a_colour() -> None:
    shapes = {status.ICONS[t] for t in ("ok", "warn", "bad", "neutral")}
    assert len(shapes) == 4 and shapes <= LISTED


def test_kind_icons() -> None:
    assert icons.kind_icon("pods") == "box"
    assert icons.kind_icon("widgets.example.com") == "puzzle"
    assert icons.kind_icon("flowschemas.flowcontrol.apiserver.k8s.io") == "file"
    assert icons.kind_icon("somethings") == "file"


def names_in_sources() -> set[str]:
    """Icon names that templates and Python hand to icon()."""
    found = {"file", "puzzle", *icons.KIND_ICONS.values(), *icons.ACTION_ICONS.values()}
    found |= set(status.ICONS.values())
    pattern = re.compile(r"""icon\(\s*\\?["']([a-z0-9-]+)\\?["']""")
    src = ROOT / "src" / "kubelantern"
    for path in [*src.rglob("*.html"), *src.rglob("*.py")]:
        found |= set(pattern.findall(path.read_text()))
    return found


def test_every_icon_used_is_listed_for_the_build() -> None:
    missing = names_in_sources() - LISTED
    assert not missing, f"add to frontend/src/icons.json: {sorted(missing)}"


def test_the_built_sprite_holds_exactly_the_listed_icons() -> None:
    sprite = (STATIC_DIR / "dist" / "icons.svg").read_text()
    assert set(re.findall(r'<symbol id="i-([a-z0-9-]+)"', sprite)) == LISTED
    assert "<script" not in sprite and "http" not in sprite.replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_icon_markup_is_hidden_from_screen_readers() -> None:
    html = str(icons.icon("box"))
    assert 'aria-hidden="true"' in html and '<use href="#i-box">' in html
    assert "&lt;" in str(icons.icon("<x>"))
