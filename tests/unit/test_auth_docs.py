"""The auth docs and deploy examples stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kubelantern import settings

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operator-guide.md"
AUTH_OPTIONS = [
    "auth_mode",
    "cluster_auth",
    "trusted_proxies",
    "proxy_secret_file",
    "proxy_secret_header",
    "user_header",
    "groups_header",
    "impersonate_user_prefix",
    "impersonate_group_prefix",
    "bearer_source",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret_file",
    "oidc_scopes",
    "oidc_ca_file",
    "oidc_redirect_url",
    "oidc_token",
    "session_secret_file",
    "session_max_age",
    "session_idle_timeout",
    "session_store",
    "session_store_namespace",
    "session_store_name",
    "session_store_context",
    "allowed_hosts",
    "sign_in_url",
    "sign_out_url",
    "secure_cookies",
]


def test_every_auth_setting_is_in_the_operator_guide() -> None:
    text = GUIDE.read_text()
    by_name = {o.name: o for o in settings.OPTIONS}
    for name in AUTH_OPTIONS:
        option = by_name[name]
        assert f"`{option.flag}" in text, option.flag
        assert f"`{option.env}`" in text, option.env


def test_kubelantern_flags_in_docs_and_examples_exist() -> None:
    flags = {o.flag for o in settings.OPTIONS} | {"--help"}
    docs = [GUIDE, ROOT / "deploy" / "oauth2-proxy" / "README.md"]
    docs += sorted((ROOT / "docs" / "providers").glob("*.md"))
    for doc in docs:
        for block in re.findall(r"kubelantern serve[^`]*", doc.read_text()):
            for flag in re.findall(r"(--[a-z][a-z-]+)", block):
                assert flag in flags, f"{doc.name}: {flag}"
        for line in re.findall(r"^Kubelantern: (.*)$", doc.read_text(), re.M):
            for flag in re.findall(r"(--[a-z][a-z-]+)", line):
                assert flag in flags, f"{doc.name}: {flag}"


def test_every_provider_page_names_its_mode_and_rbac() -> None:
    pages = sorted((ROOT / "docs" / "providers").glob("*.md"))
    names = {p.stem for p in pages}
    assert {"entra-id-aks", "google", "github", "gitlab", "keycloak", "oidc"} <= names
    for page in pages:
        if page.stem == "README":
            continue
        text = page.read_text()
        assert re.search(r"\*\*Mode:\*\* `(bearer|impersonate|oidc)`", text), page.name
        assert "## RBAC" in text and "subjects:" in text, page.name


def test_deploy_examples_are_valid_yaml() -> None:
    for path in sorted((ROOT / "deploy" / "oauth2-proxy").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs, path.name
        for doc in docs:
            assert isinstance(doc, dict)
            if path.name != "values.yaml":
                assert doc.get("apiVersion") and doc.get("kind"), path.name
    alpha = yaml.safe_load((ROOT / "deploy" / "oauth2-proxy" / "alpha-config.yaml").read_text())
    config = yaml.safe_load(alpha["data"]["oauth2-proxy.yaml"])
    headers = {h["name"] for h in config["injectRequestHeaders"]}
    assert {"X-Forwarded-User", "X-Forwarded-Groups", "X-Kubelantern-Proxy-Secret"} <= headers
    assert config["injectResponseHeaders"] == []
