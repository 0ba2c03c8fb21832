"""The provider guides (docs/providers/*.md) work as written.

Each guide shows OAuth2 Proxy's settings, the chart values, the API server's
claim mappings (in mode bearer) and RBAC bindings. This renders every guide's
chart values with the real helm, checks the config Kubelantern would get, and
checks that the names line up: the prefixes the bindings use are the ones the
API server (bearer) or Kubelantern (impersonate) puts in front of user and
group names, and the groups allowed to sign in have a binding. A guide whose
RoleBinding says `github:acme:platform` while the chart sends `acme:platform`
fails here, not in someone's cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelantern import configfile
from kubelantern.settings import OPTIONS
from tests.conftest import ROOT
from tests.helmkit import by_kind, config_file, render

GUIDES = sorted(p for p in (ROOT / "docs" / "providers").glob("*.md") if p.name != "README.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


class Guide:
    """The fenced blocks of one guide, sorted into what they are."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: list[dict[str, Any]] = []
        self.auth_configs: list[dict[str, Any]] = []
        self.subjects: list[dict[str, Any]] = []
        self.flags: list[str] = []
        for lang, body in FENCE.findall(path.read_text()):
            if lang != "yaml":
                self.flags += re.findall(r"--[a-z-]+(?:=\S+)?", body)
                continue
            for doc in yaml.safe_load_all(body):
                if not isinstance(doc, dict):
                    continue
                if "oauth2Proxy" in doc or "auth" in doc:
                    self.values.append(doc)
                elif doc.get("kind") == "AuthenticationConfiguration":
                    self.auth_configs.append(doc)
                if "subjects" in doc:
                    self.subjects += doc["subjects"]

    def names(self, kind: str) -> list[str]:
        return [str(s["name"]) for s in self.subjects if s["kind"] == kind]

    def flag_values(self, name: str) -> list[str]:
        return [f.split("=", 1)[1] for f in self.flags if f.startswith(f"--{name}=")]


def prefixes(guide: Guide, values: dict[str, Any]) -> tuple[str, str]:
    """(user prefix, group prefix) of the names the API server sees."""
    if values["auth"]["mode"] == "impersonate":
        imp = values["auth"].get("impersonate", {})
        return imp.get("userPrefix", ""), imp.get("groupPrefix", "")
    if not guide.auth_configs:  # a managed cluster (AKS) maps names itself, unprefixed
        return "", ""
    (config,) = guide.auth_configs
    mappings = config["jwt"][0]["claimMappings"]
    return (
        mappings.get("username", {}).get("prefix", ""),
        mappings.get("groups", {}).get("prefix", ""),
    )


@pytest.mark.binaries
@pytest.mark.parametrize("path", GUIDES, ids=[p.stem for p in GUIDES])
def test_the_guide_values_render_and_its_names_line_up(path: Path, tmp_path: Path) -> None:
    guide = Guide(path)
    assert guide.values, f"{path.name}: no chart values (a ```yaml block with auth/oauth2Proxy)"
    assert guide.subjects, f"{path.name}: no RBAC subjects"
    for values in guide.values:
        objects = render(values, tmp_path)
        loaded = configfile.parse(yaml.safe_load(config_file(objects)), "kubelantern.yaml", OPTIONS)
        assert loaded.problems == []
        assert loaded.values["auth_mode"] == values["auth"]["mode"]
        assert by_kind(objects, "Deployment")

        user_prefix, group_prefix = prefixes(guide, values)
        for user in guide.names("User"):
            assert user.startswith(user_prefix), (path.name, user, user_prefix)
        for group in guide.names("Group"):
            assert group.startswith(group_prefix), (path.name, group, group_prefix)

        provider = values["oauth2Proxy"]["provider"]
        allowed = list(provider.get("allowedGroups", []))
        allowed += list(provider.get("gitlabConfig", {}).get("group", []))
        for group in allowed:
            # the people let in have a binding, under the name the API server sees
            assert f"{group_prefix}{group}" in guide.names("Group"), (path.name, group)
        if "githubConfig" in provider:
            org = provider["githubConfig"]["org"]
            for group in guide.names("Group"):
                assert group.startswith(f"{group_prefix}{org}"), (path.name, group)

        # the flags shown for OAuth2 Proxy say the same as the chart values
        assert guide.flag_values("provider") == [provider["provider"]]
        if values["oauth2Proxy"].get("cookieRefresh"):
            assert guide.flag_values("cookie-refresh") == [values["oauth2Proxy"]["cookieRefresh"]]
        for flag in ("allowed-group", "gitlab-group"):
            for group in guide.flag_values(flag):
                assert group in allowed, (path.name, flag, group)

        if values["auth"]["mode"] == "bearer" and guide.auth_configs:
            issuer = guide.auth_configs[0]["jwt"][0]["issuer"]
            assert provider["clientID"] in issuer["audiences"]
            oidc = provider.get("oidcConfig", {})
            assert oidc.get("issuerURL", issuer["url"]).startswith(issuer["url"].split("<")[0])


def test_keycloak_group_paths_match_the_mapper_setting() -> None:
    """Full group path off means plain names everywhere; on means /-paths everywhere."""
    text = (ROOT / "docs" / "providers" / "keycloak.md").read_text()
    guide = Guide(ROOT / "docs" / "providers" / "keycloak.md")
    full_path = "*Full group path* **on**" in text
    assert full_path or "*Full group path* **off**" in text
    groups = [*guide.flag_values("allowed-group")]
    for values in guide.values:
        groups += values["oauth2Proxy"]["provider"].get("allowedGroups", [])
    groups += [g.removeprefix("keycloak:") for g in guide.names("Group")]
    assert groups
    assert all(g.startswith("/") == full_path for g in groups), groups


@pytest.mark.binaries
def test_the_operator_guide_example_renders_and_matches_the_github_guide(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "operator-guide.md").read_text()
    (body,) = re.findall(r"cat > values.yaml <<'YAML'\n(.*?)^YAML", text, re.S | re.M)
    values = yaml.safe_load(body)
    objects = render(values, tmp_path)
    assert configfile.parse(yaml.safe_load(config_file(objects)), "x", OPTIONS).problems == []
    guide = Guide(ROOT / "docs" / "providers" / "github.md")
    assert values["oauth2Proxy"]["provider"]["provider"] == "github"
    user_prefix, group_prefix = prefixes(guide, values)
    assert all(u.startswith(user_prefix) for u in guide.names("User"))
    assert all(g.startswith(group_prefix) for g in guide.names("Group"))
    assert (user_prefix, group_prefix) == prefixes(guide, guide.values[0])
