"""The plugin docs stay honest: every hook, signature, name and flag (docs/design.md, "Tests")."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import kubelantern
from kubelantern.plugins import hookspecs
from kubelantern.plugins.manager import Plugins
from kubelantern.settings import OPTIONS

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOOKS_DOC = (DOCS / "plugin_hooks.md").read_text()
GUIDE = (DOCS / "plugins.md").read_text()
HOOKS = Plugins().hook_names()


def signature(name: str) -> str:
    return name + str(inspect.signature(getattr(hookspecs, name))).replace("'", "")


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    assert len(HOOKS) >= 17
    for name in HOOKS:
        assert f"### `{name}`" in HOOKS_DOC, name
        assert f"```python\n{signature(name)}\n```" in HOOKS_DOC, signature(name)


def test_the_reference_documents_no_hook_that_does_not_exist() -> None:
    documented = re.findall(r"^### `(\w+)`$", HOOKS_DOC, re.M)
    assert sorted(documented) == HOOKS


def test_every_hookspec_says_why_and_names_its_parameters() -> None:
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert len(doc.splitlines()) >= 1, name
        for param in params:
            assert f":param {param}:" in doc, f"{name}: :param {param}: missing"


def test_the_headlamp_mapping_covers_every_registration_function() -> None:
    table = GUIDE.split("## Coming from Headlamp")[1].split("\n## ")[0]
    for function in (
        "registerSidebarEntry",
        "registerSidebarEntryFilter",
        "registerRoute",
        "registerRouteFilter",
        "registerDetailsViewSection",
        "registerDetailsViewSectionsProcessor",
        "registerDetailsViewHeaderAction",
        "registerDetailsViewHeaderActionsProcessor",
        "registerAppBarAction",
        "registerResourceTableColumnsProcessor",
        "registerPluginSettings",
        "registerAppLogo",
        "registerAppTheme",
        "registerClusterChooser",
        "registerAddClusterProvider",
        "registerHeadlampEventCallback",
        "registerKindIcon",
        "registerGetTokenFunction",
    ):
        assert f"`{function}`" in table, function
    mapped = set(re.findall(r"`(\w+)`", table))
    for name in HOOKS:
        if name not in ("startup", "shutdown"):
            assert name in mapped, f"{name} is not in the Headlamp mapping"


def test_the_guide_names_every_public_name_and_plugin_flag() -> None:
    for name in kubelantern.__all__:
        if name != "__version__":
            assert f"`{name}`" in GUIDE, name
    for option in OPTIONS:
        if "plugin" in option.name:
            assert f"`{option.flag}" in GUIDE, option.flag
            assert option.env in GUIDE or option.name == "trace_plugins", option.env
    assert "KUBELANTERN_TRACE_PLUGINS" in GUIDE
