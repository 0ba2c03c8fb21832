"""Plugins in the real app, in process, without a cluster: /-/plugins, settings, pages, chrome.

Each test builds the app with ``kubelantern.testing.make_app`` (the helper
plugin authors use), so the helper is tested along the way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kubelantern import Context, Kubelantern, PluginRoute, Resource, hookimpl
from kubelantern.testing import csrf_headers, make_app
from tests.plugins import everything, faulty

DIR = Path(__file__).resolve().parent.parent / "plugins" / "dir"


@pytest.fixture(autouse=True)
def _fresh_records() -> Iterator[None]:
    everything.CALLS.clear()
    everything.EVENTS.clear()
    yield


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_app(plugins=[everything]) as tc:
        yield tc


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in data["plugins"]}


def test_plugins_page_and_its_json_twin(client: TestClient) -> None:
    page = client.get("/-/plugins")
    assert page.status_code == 200
    assert 'data-plugin="everything" data-status="loaded"' in page.text
    assert "2.5.0" in page.text
    assert '<span class="chip mono">register_routes</span>' in page.text
    assert page.headers["link"].startswith("</-/plugins.json>")
    data = client.get("/-/plugins.json").json()
    plugins = by_name(data)
    assert plugins["everything"]["version"] == "2.5.0"
    assert plugins["everything"]["source"] == "app"
    assert plugins["problems"]["source"] == "builtin"  # a core feature, registered the same way
    assert "register_column_processors" in plugins["everything"]["hooks"]
    assert data["hooks"]["object_actions"] == ["everything"]
    assert data["problems"] == []


def test_settings_page_shows_each_value_and_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBELANTERN_PLUGIN_EVERYTHING_COUNT", "7")
    monkeypatch.setenv("KUBELANTERN_PLUGIN_EVERYTHING_TOKEN", "s3cret")
    settings = (
        "everything.greeting=hi",
        "everything.loud=yes",
        "everything.colors=red, green",
        "everything.count=3",  # the environment variable wins
        "everything.level=medium",  # not a choice: reported, default used
        "everything.nope=1",
    )
    with make_app(plugins=[everything], plugin_setting=settings) as tc:
        rows = {
            s["name"]: s for s in tc.get("/-/plugins/everything.json").json()["plugin"]["settings"]
        }
        assert rows["greeting"]["value"] == "hi" and rows["greeting"]["source"] == "plugin_setting"
        assert rows["count"]["value"] == 7 and rows["count"]["source"] == "environment"
        assert rows["count"]["env"] == "KUBELANTERN_PLUGIN_EVERYTHING_COUNT"
        assert rows["loud"]["value"] is True
        assert rows["colors"]["value"] == ["red", "green"]
        assert rows["level"]["value"] == "low" and rows["level"]["source"] == "default"
        assert rows["token"]["value"] == "••••••"
        page = tc.get("/-/plugins/everything")
        assert "s3cret" not in page.text and "s3cret" not in tc.get("/-/plugins.json").text
        assert 'data-setting="greeting" data-source="plugin_setting"' in page.text
        problems = [p["message"] for p in tc.get("/-/plugins.json").json()["problems"]]
        assert any("level" in m and "must be one of low, high" in m for m in problems)
        assert any("no setting named 'nope'" in m for m in problems)
        assert tc.get("/-/p/everything/").json() == {"greeting": "hi", "count": 7}


def test_unknown_plugin_page_names_the_plugins(client: TestClient) -> None:
    r = client.get("/-/plugins/nosuch.json")
    assert r.status_code == 404
    assert "everything" in r.json()["error"]["message"]


def test_plugin_routes_html_json_and_strings(client: TestClient) -> None:
    assert client.get("/-/p/everything/").json() == {"greeting": "hello", "count": 1}
    page = client.get("/-/p/everything/hello")
    assert page.status_code == 200
    assert "<title>Hello page · Kubelantern</title>" in page.text
    assert client.get("/-/p/everything/hello.json").json()["greeting"] == "hello"
    html = client.get("/-/p/everything/html")
    assert html.text == "<p id='rendered'>&lt;b&gt; /a</p>"  # escaped; url() has the prefix
    assert client.get("/-/p/nosuch/").status_code == 404


def test_every_page_carries_the_plugins_chrome(client: TestClient) -> None:
    page = client.get("/-/plugins").text
    assert '<link rel="stylesheet" href="/everything.css" data-plugin-css>' in page
    assert 'href="https://cdn.example.com/everything.css"' in page
    assert '<script src="/everything.js" defer data-plugin-js>' in page
    assert 'data-appbar-plugin="everything"' in page
    assert '<a href="/-/p/everything/" title="The everything plugin">Everything</a>' in page
    assert "<b data-everything-logo>EVERY</b>" in page
    assert "data-plugin-problems" not in page  # nothing failed


def test_the_base_url_prefixes_what_plugins_hand_over() -> None:
    with make_app(plugins=[everything], base_url="/kl") as tc:
        page = tc.get("/kl/-/plugins").text
        assert 'href="/kl/everything.css"' in page
        assert 'href="https://cdn.example.com/everything.css"' in page
        assert 'href="/kl/-/p/everything/"' in page
        assert tc.get("/kl/-/p/everything/hello.json").json()["link"] == "/kl/x"


def test_startup_shutdown_and_events() -> None:
    with make_app(plugins=[everything]) as tc:
        tc.get("/-/plugins")
        assert everything.CALLS == ["startup"]
    assert everything.CALLS == ["startup", "shutdown"]
    names = [e.name for e in everything.EVENTS]
    assert names[:2] == ["clusters.refreshed", "plugins.loaded"]
    assert "everything" in everything.EVENTS[1].data["plugins"]


def test_a_page_that_raises_names_its_plugin_and_nothing_else_breaks(client: TestClient) -> None:
    r = client.get("/-/p/everything/boom.json")
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["title"] == "A plugin failed"
    assert "plugin everything failed: RuntimeError: the page exploded" in error["message"]
    assert client.get("/-/p/everything/").status_code == 200
    page = client.get("/-/plugins").text
    assert "data-plugin-problems-banner" in page and "route /boom" in page
    assert "1 plugin problem<" in page  # the notice in the app bar


def test_a_faulty_plugin_is_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "kubelantern.plugins")
    with make_app(plugins=[everything, faulty]) as tc:
        page = tc.get("/-/plugins")
        assert page.status_code == 200
        assert everything.CALLS == ["startup"]  # the other plugin's startup still ran
        text = page.text
        assert "<b data-everything-logo>EVERY</b>" in text  # firstresult goes on after a failure
        assert "/never.css" not in text
        assert "data-plugin-problems" in text
        problems = tc.get("/-/plugins.json").json()["problems"]
    where = {(p["plugin"], p["where"]) for p in problems}
    assert ("faulty", "startup") in where
    assert ("faulty", "on_event") in where
    assert ("faulty", "extra_appbar_items") in where
    assert ("faulty", "register_app_logo") in where
    messages = {p["where"]: p["message"] for p in problems if p["plugin"] == "faulty"}
    assert messages["extra_css_urls"] == "must answer at once; it returned an awaitable"
    assert "expected str, got 42" in messages["extra_js_urls"]
    assert messages["startup"] == "RuntimeError: startup failed"
    assert any("plugin faulty failed in startup" in r.getMessage() for r in caplog.records)


def test_plugins_from_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    with make_app(plugins_dir=(str(DIR),), load_installed=True) as tc:
        plugins = by_name(tc.get("/-/plugins.json").json())
        assert plugins["good"]["status"] == "loaded" and plugins["good"]["version"] == "0.3.0"
        assert plugins["good"]["source"] == "plugins dir" and plugins["good"]["static"] is None
        assert plugins["pkg"]["templates"].endswith("pkg/templates")
        assert plugins["bad_import"]["status"] == "failed"
        assert "RuntimeError: this plugin cannot be imported" in plugins["bad_import"]["error"]
        assert plugins["typo"]["status"] == "failed"
        assert "regsiter_routes" in plugins["typo"]["error"]
        assert plugins["wrong_args"]["status"] == "failed"
        assert "nonsense" in plugins["wrong_args"]["error"]
        assert "_ignored" not in plugins and "notes" not in plugins
        assert tc.get("/-/p/good/").json() == {"from": "good"}
        page = tc.get("/-/p/pkg/")
        assert '<p id="pkg-word">from a helper module</p>' in page.text
        assert '<script src="/-/p/pkg/static/pkg.js" defer data-plugin-js>' in page.text
        assert tc.get("/-/p/pkg/static/pkg.js").text.strip() == "window.pkgLoaded = true;"
        assert tc.get("/-/p/typo/").status_code == 404


def test_disable_and_allow_lists() -> None:
    folder = (str(DIR),)
    with make_app(plugins_dir=folder, disable_plugin=("good",), load_installed=True) as tc:
        plugins = by_name(tc.get("/-/plugins.json").json())
        assert plugins["good"]["status"] == "disabled"
        assert tc.get("/-/p/good/").status_code == 404
    with make_app(plugins_dir=folder, allow_plugin=("pkg",), load_installed=True) as tc:
        plugins = by_name(tc.get("/-/plugins.json").json())
        assert plugins["pkg"]["status"] == "loaded"
        assert plugins["bad_import"]["status"] == "not allowed"  # never imported
        assert plugins["problems"]["status"] == "loaded"  # built-ins always load
        assert tc.get("/-/plugins.json").json()["problems"] == []


def test_tracing_logs_every_hook_call(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kubelantern.plugins.trace")
    with make_app(plugins=[everything], trace_plugins=True) as tc:
        tc.get("/-/plugins")
    traced = [r.getMessage() for r in caplog.records if r.name == "kubelantern.plugins.trace"]
    assert any(m.startswith("call extra_appbar_items(ctx)") and "everything" in m for m in traced)
    assert any(m.startswith("register_routes returned") for m in traced)


def test_refresh_without_providers_changes_nothing(client: TestClient) -> None:
    r = client.post(
        "/-/plugins/refresh", headers={**csrf_headers(client), "Accept": "application/json"}
    )
    assert r.status_code == 200
    assert r.json()["refreshed"] == {"added": [], "removed": [], "kept": []}


class ObjectPlugin:
    """A plugin written as an object (bound-method hooks): URL builders, and one that fails."""

    @hookimpl
    def register_routes(self, kl: Kubelantern) -> list[PluginRoute]:
        pods = Resource("pods", "", "v1", "Pod", "pods", namespaced=True)
        nodes = Resource("nodes", "", "v1", "Node", "nodes", namespaced=False)

        def urls(ctx: Context) -> dict[str, str]:
            return {
                "pod": ctx.object_url("prod", pods, "web-1", "team-a"),
                "pods": kl.list_url("prod", pods, "team-a"),
                "allPods": kl.list_url("prod", pods),
                "node": kl.object_url("prod", nodes, "n1", "ignored"),
            }

        return [PluginRoute("/urls", urls)]

    @hookimpl
    def extra_css_urls(self, ctx: Context) -> list[str]:
        raise RuntimeError("object plugin broke")


def test_object_plugins_get_url_builders_and_are_guarded_too() -> None:
    with make_app(plugins=[("objects", ObjectPlugin())], base_url="/kl") as tc:
        assert tc.get("/kl/-/p/objects/urls").json() == {
            "pod": "/kl/c/prod/namespaces/team-a/pods/web-1",
            "pods": "/kl/c/prod/namespaces/team-a/pods",
            "allPods": "/kl/c/prod/pods",
            "node": "/kl/c/prod/nodes/n1",
        }
        page = tc.get("/kl/-/plugins")
        assert page.status_code == 200  # the failing hook did not take the page down
        problems = tc.get("/kl/-/plugins.json").json()["problems"]
        assert [(p["plugin"], p["where"]) for p in problems] == [("objects", "extra_css_urls")]
        assert "object plugin broke" in problems[0]["message"]
