"""The plugin manager: guarding hooks, knowing who answered, entry points, settings."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import pytest

from kubelantern import AppBarItem, Setting, hookimpl
from kubelantern.plugins.manager import Plugins, load
from kubelantern.settings import Settings


class Good:
    @hookimpl
    def extra_css_urls(self, ctx: Any) -> list[str]:
        return ["/good.css"]

    @hookimpl
    def extra_appbar_items(self, ctx: Any) -> list[AppBarItem]:
        return [AppBarItem("Good")]

    @hookimpl
    async def register_clusters(self, kl: Any) -> list[Any]:
        return []

    @hookimpl
    def register_plugin_settings(self) -> list[Setting]:
        return [
            Setting("size", default=1, type="int"),
            Setting("name", default="x"),
            Setting("flags", default=[], type="list"),
        ]


class Bad:
    @hookimpl
    def extra_css_urls(self, ctx: Any) -> list[str]:
        raise KeyError("css")

    @hookimpl
    async def register_clusters(self, kl: Any) -> list[Any]:
        raise OSError("registry unreachable")


def manager(*plugins: tuple[str, object]) -> Plugins:
    pm = Plugins()
    for name, obj in plugins:
        pm.register(obj, name)
    return pm


def test_a_raising_hook_is_skipped_and_reported() -> None:
    pm = manager(("good", Good()), ("bad", Bad()))
    assert pm.call("extra_css_urls", ctx=None) == [["/good.css"]]
    assert [(p.plugin, p.where, p.message) for p in pm.problems] == [
        ("bad", "extra_css_urls", "KeyError: 'css'")
    ]
    pm.call("extra_css_urls", ctx=None)  # failing on every page: counted, not repeated
    assert len(pm.problems) == 1 and pm.problems[0].count == 2


def test_awaitables_are_guarded_and_attributed() -> None:
    pm = manager(("good", Good()), ("bad", Bad()))
    answers = asyncio.run(pm.acall_named("register_clusters", kl=None))
    assert answers == [("good", [])]
    assert pm.problems[-1].plugin == "bad"
    assert pm.problems[-1].message == "OSError: registry unreachable"


def test_answers_are_tagged_with_their_plugin() -> None:
    pm = manager(("good", Good()))
    [(name, items)] = pm.call_named("extra_appbar_items", ctx=None)
    assert name == "good" and items[0].plugin == "good"


def test_the_same_name_twice_is_refused_but_the_same_plugin_twice_is_fine() -> None:
    good = Good()
    pm = manager(("good", good))
    assert pm.register(good, "good").loaded
    info = pm.register(Good(), "good")
    assert info.status == "failed" and "already loaded" in info.error
    assert len(pm.call("extra_css_urls", ctx=None)) == 1


def test_settings_precedence_and_types() -> None:
    pm = manager(("good", Good()))
    pm.load_settings(
        flags=("good.size=5", "good.name=from-flag", "good.flags=a,b", "broken"),
        environ={"KUBELANTERN_PLUGIN_GOOD_NAME": "from-env"},
        config={"good": {"size": 9, "flags": ["c"]}},
    )
    assert pm.plugin_settings("good") == {"size": 5, "name": "from-env", "flags": ["a", "b"]}
    sources = {row["name"]: row["source"] for row in pm.settings_table("good")}
    assert sources == {"size": "plugin_setting", "name": "environment", "flags": "plugin_setting"}
    assert any("'broken' is not PLUGIN.NAME=VALUE" in p.message for p in pm.problems)
    pm.load_settings(config={"good": {"size": "many"}}, environ={})
    assert pm.plugin_settings("good")["size"] == 1  # bad value: reported, default kept
    assert "size (config): invalid literal" in pm.problems[-1].message


def test_setting_types() -> None:
    assert Setting("a", type="bool").convert("on") is True
    assert Setting("a", type="float").convert("2.5") == 2.5
    assert Setting("a", type="list").convert(["x", 1]) == ["x", "1"]
    assert Setting("a", choices=("x",)).convert("x") == "x"
    for setting, raw in ((Setting("a", type="int"), True), (Setting("a", type="bool"), "maybe")):
        with pytest.raises(ValueError):
            setting.convert(raw)
    assert Setting("cpu-price").env_var("my-cost") == "KUBELANTERN_PLUGIN_MY_COST_CPU_PRICE"


ENTRY_POINTS = """\
[kubelantern]
epgood = epgood_plugin
epbroken = epbroken_plugin
"""


def fake_distribution(root: Path) -> None:
    """An installed distribution with entry points, as pip would leave it (no pip needed)."""
    info = root / "kubelantern_epgood-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kubelantern-epgood\nVersion: 1.2.3\n"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (root / "epgood_plugin.py").write_text(
        "from kubelantern import hookimpl\n\n"
        "@hookimpl\ndef extra_js_urls(ctx):\n    return ['/ep.js']\n"
    )
    (root / "epbroken_plugin.py").write_text("import no_such_module_anywhere\n")


def test_installed_plugins_load_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    pm = load(Settings())
    good, broken = pm.infos["epgood"], pm.infos["epbroken"]
    assert good.loaded and good.source == "entry point" and good.version == "1.2.3"
    assert good.module == "epgood_plugin" and good.hooks == ["extra_js_urls"]
    assert broken.status == "failed" and "no_such_module_anywhere" in broken.error
    assert pm.call("extra_js_urls", ctx=None) == [["/ep.js"]]
    pm = load(Settings(disable_plugin=("epbroken",)))
    assert pm.infos["epbroken"].status == "disabled"
    assert not any(p.plugin == "epbroken" for p in pm.problems)  # not even imported
