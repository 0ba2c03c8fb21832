"""The public surface for plugin authors: sorted, complete, importable (docs/design.md, Plugins)."""

from __future__ import annotations

import subprocess
import sys

import kubelantern
import kubelantern.testing
from kubelantern.plugins import api


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert kubelantern.__all__ == sorted(kubelantern.__all__)
    for name in kubelantern.__all__:
        assert getattr(kubelantern, name) is not None, name
    assert kubelantern.testing.__all__ == sorted(kubelantern.testing.__all__)
    assert api.__all__ == sorted(api.__all__)


def test_the_plugin_api_is_all_exported() -> None:
    assert set(api.__all__) <= set(kubelantern.__all__)
    errors = {"BadRequest", "Forbidden", "KubelanternError", "NotFound"}
    assert set(kubelantern.__all__) == set(api.__all__) | errors | {"__version__"}


def test_unknown_names_are_attribute_errors() -> None:
    try:
        kubelantern.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_kubelantern_stays_cheap() -> None:
    code = "import sys, kubelantern; print('starlette' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
