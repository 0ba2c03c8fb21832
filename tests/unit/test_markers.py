"""The markers that pick the fast tier follow the fixtures, not what a module claims.

Collected in a child pytest (collection only: nothing runs, no cluster starts).
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PLAIN = "tests/integration/test_addcluster.py::test_on_without_cluster_admins_stops_the_start"
NEEDS_API = "tests/integration/test_addcluster.py::test_kubeconfig_clusters_cannot_be_removed"


def selected(marker_expression: str, *paths: str) -> set[str]:
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run(
        [*cmd, "-m", marker_expression, *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr  # 5: none selected
    return {line for line in proc.stdout.splitlines() if "::" in line}


def test_cluster_follows_the_fixtures() -> None:
    tests = selected("cluster", "tests/integration/test_addcluster.py")
    assert NEEDS_API in tests
    assert PLAIN not in tests


def test_the_fast_tier_keeps_plain_tests_and_drops_binaries() -> None:
    fast = selected(
        "not cluster and not binaries",
        "tests/integration/test_addcluster.py",
        "tests/integration/test_helm.py",
    )
    assert PLAIN in fast and NEEDS_API not in fast
    # Helm without an API server: written by hand, and out of the fast tier.
    assert not any("test_helm.py::test_wrong_values_are_refused" in t for t in fast)
    assert "tests/integration/test_helm.py::test_app_version_is_the_package_version" in fast


def test_browser_follows_the_fixtures() -> None:
    tests = selected("browser", "tests/browser/test_browse.py", "tests/unit/test_markers.py")
    assert tests and all(t.startswith("tests/browser/") for t in tests)
