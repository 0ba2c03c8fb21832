"""The restore patch of a failed create: exactly the fields the request changed, back."""

from __future__ import annotations

import pytest

from kubelantern import errors
from kubelantern.clusters.discovery import ResourceType, segment
from kubelantern.operate.restore import MISSING, changes, content, merge_patch, value_at

BEFORE = {
    "metadata": {"name": "x", "labels": {"keep": "yes"}, "resourceVersion": "1"},
    "data": {"v": "old", "other": "1"},
    "status": {"phase": "a"},
}
AFTER = {
    "metadata": {"name": "x", "labels": {"keep": "yes", "extra": "1"}, "resourceVersion": "2"},
    "data": {"v": "new", "other": "1", "added": "x"},
    "status": {"phase": "b"},
}


def test_changes_ignore_status_and_bookkeeping() -> None:
    paths = changes(content(BEFORE), content(AFTER))
    assert paths == [("data", "added"), ("data", "v"), ("metadata", "labels", "extra")]


def test_merge_patch_sets_old_values_and_removes_added_fields() -> None:
    paths = changes(content(BEFORE), content(AFTER))
    assert merge_patch(content(BEFORE), paths) == {
        "data": {"added": None, "v": "old"},
        "metadata": {"labels": {"extra": None}},
    }


def test_lists_are_compared_and_restored_whole() -> None:
    before = {"spec": {"ports": [{"port": 80}]}}
    after = {"spec": {"ports": [{"port": 80}, {"port": 443}]}}
    assert changes(before, after) == [("spec", "ports")]
    assert merge_patch(before, [("spec", "ports")]) == {"spec": {"ports": [{"port": 80}]}}
    assert value_at(before, ("spec", "nope")) is MISSING


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_never_become_a_path(name: str) -> None:
    rt = ResourceType(
        group="", version="v1", plural="configmaps", kind="ConfigMap", namespaced=True
    )
    with pytest.raises(errors.BadRequest):
        rt.path("team-a", name)
    with pytest.raises(errors.BadRequest):
        rt.path(name, "x")


def test_names_are_one_escaped_segment() -> None:
    assert segment("a?b/c#d") == "a%3Fb%2Fc%23d"
    assert segment("system:controller:x") == "system:controller:x"
