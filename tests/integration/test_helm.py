"""The Helm chart: rendered by the real helm, judged by the real API server.

For the default values and every auth mode the rendered objects are applied
to the test control plane with a server-side dry run (strict field
validation, admission included): every object must be accepted. The RBAC of
each mode is checked to be what the mode needs and nothing more, the config
file the chart writes must pass `kubelantern config check` (every example,
the provider guides' values included), the pod template must pass the
restricted Pod Security Standard, the schema (its `config` part generated
from the option table) must refuse bad values naming the field, a missing
oauth2Proxy.trustedProxyIPs must fail the render, the OAuth2 Proxy sidecar's config
must be accepted by the real oauth2-proxy, and the committed plain manifests
must equal a fresh render.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import kubelantern
from kubelantern import configfile
from kubelantern.settings import OPTIONS
from tests.conftest import ROOT, RealCluster, free_port, wait_until
from tests.helmkit import (
    CHART,
    Resources,
    apply,
    by_kind,
    config_file,
    helm_binary,
    helm_template,
    render,
)
from tests.kube import kube_client

NAMESPACE = "kubelantern-system"  # exists in the test cluster (dry runs need the namespace)
OIDC_PROVIDER = {
    "provider": "oidc",
    "clientID": "kubelantern",
    "scope": "openid email profile groups",
    "oidcConfig": {
        "issuerURL": "https://idp.example.com",
        "emailClaim": "email",
        "groupsClaim": "groups",
        "audienceClaims": ["aud"],
    },
}

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # kubeconfig mode (in-cluster, read-only) with everything optional turned on
    "kubeconfig-full": {
        "replicaCount": 3,
        "baseURL": "/kubelantern",
        "requireClusters": True,
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": ["kl.example.com", "kl2.example.com"],
            "tls": [{"secretName": "kl-tls", "hosts": ["kl.example.com"]}],
        },
        "extraClusters": [{"secretName": "prod-kubeconfig"}, {"secretName": "dev", "key": "kc"}],
        "clusterAuth": ["prod=kubeconfig"],
        "plugins": {"packages": ["kubelantern-example==1.0"], "configMap": "kl-plugins"},
        "rbac": {
            "extraRules": [
                {"apiGroups": ["example.com"], "resources": ["*"], "verbs": ["get", "list"]}
            ]
        },
        "config": {"page_size": 200, "namespaces": ["team-a"]},
        "podAnnotations": {"example.com/team": "platform"},
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
        "extraArgs": ["--page-size=50"],
        "extraVolumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
        "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/corp-ca", "readOnly": True}],
        "livenessProbe": {"periodSeconds": 20, "timeoutSeconds": 5},
        "preStopDelaySeconds": 10,
        "networkPolicy": {
            "enabled": True,
            "from": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
        },
    },
    # OpenShift's restricted-v2 SCC assigns the uid and fsGroup: null leaves them out
    "openshift": {
        "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
        "preStopDelaySeconds": 0,
    },
    "bearer": {
        "auth": {
            "mode": "bearer",
            "proxySecret": {"existingSecret": "kl-proxy"},
            "session": {"existingSecret": "kl-session"},
        },
        "oauth2Proxy": {
            "enabled": True,
            "existingSecret": "kl-oauth2",
            "provider": OIDC_PROVIDER,
            "cookieRefresh": "30m",
            "trustedProxyIPs": ["10.0.0.0/8"],
        },
        "ingress": {"enabled": True, "hosts": ["kl.example.com"]},
    },
    "impersonate": {
        "auth": {
            "mode": "impersonate",
            "proxySecret": {"existingSecret": "kl-proxy"},
            "session": {"existingSecret": "kl-session"},
            "impersonate": {"userPrefix": "sso:", "groupPrefix": "sso:"},
        },
        "baseURL": "/kubelantern",
        "replicaCount": 2,
        "oauth2Proxy": {
            "enabled": True,
            "existingSecret": "kl-oauth2",
            "provider": {"provider": "github", "clientID": "abc", "githubConfig": {"org": "acme"}},
            "trustedProxyIPs": ["10.0.0.0/8"],
        },
        "ingress": {"enabled": True, "hosts": ["kl.example.com"], "tls": [{"secretName": "t"}]},
    },
    "oidc": {
        "auth": {
            "mode": "oidc",
            "oidc": {
                "issuer": "https://idp.example.com",
                "clientID": "kubelantern",
                "existingSecret": "kl-oidc",
                "redirectURL": "https://kl.example.com/-/oidc/callback",
            },
            "session": {"existingSecret": "kl-session"},
        },
        "secureCookies": True,
    },
}


def _examples() -> dict[str, dict[str, Any]]:
    """Every values example: the variants above and each provider guide's chart values."""
    from tests.integration.test_provider_guides import GUIDES, Guide

    examples = dict(VARIANTS)
    for path in GUIDES:
        for i, values in enumerate(Guide(path).values):
            examples[f"guide-{path.stem}-{i}"] = values
    return examples


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def kube(cluster: RealCluster) -> Iterator[httpx.Client]:
    with kube_client(cluster.kubeconfig("admin")) as client:
        yield client


@pytest.fixture(scope="module")
def resources(kube: httpx.Client) -> Resources:
    return Resources(kube)


def rules_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for role in by_kind(objects, "ClusterRole") for rule in role["rules"]]


@pytest.mark.binaries
@pytest.mark.parametrize("variant", sorted(EXAMPLES))
def test_every_object_passes_a_server_side_dry_run(
    variant: str, tmp_path: Path, kube: httpx.Client, resources: Resources
) -> None:
    objects = render(EXAMPLES[variant], tmp_path, release=f"kl-{variant}", namespace=NAMESPACE)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap"} <= kinds
    refused = {}
    for obj in objects:
        response = apply(kube, resources, obj, dry_run=True)
        if response.status_code not in (200, 201):
            refused[f"{obj['kind']}/{obj['metadata']['name']}"] = response.json().get("message")
    assert not refused, refused
    # dry run: nothing was created
    name = f"kl-{variant}-kubelantern"
    assert kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}").status_code == 404


@pytest.mark.binaries
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_chart_writes_a_config_kubelantern_accepts(variant: str, tmp_path: Path) -> None:
    text = config_file(render(VARIANTS[variant], tmp_path))
    loaded = configfile.parse(yaml.safe_load(text), "kubelantern.yaml", OPTIONS)
    assert loaded.problems == []
    assert loaded.values["listen"] == "0.0.0.0:4466"
    assert loaded.values["in_cluster"] is True


@pytest.mark.binaries
def test_pods_are_locked_down(tmp_path: Path) -> None:
    objects = render(VARIANTS["impersonate"], tmp_path)
    (deployment,) = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"]
    app = pod["containers"][0]
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"name": "tmp", "mountPath": "/tmp"} in app["volumeMounts"]
    (service,) = by_kind(objects, "Service")
    assert service["spec"]["ports"][0]["port"] == 4466
    assert service["spec"]["ports"][0]["targetPort"] == "proxy"  # all traffic via OAuth2 Proxy
    assert by_kind(objects, "PodDisruptionBudget")  # replicas: 2


@pytest.mark.binaries
def test_kubeconfig_mode_may_only_read_and_never_secrets(tmp_path: Path) -> None:
    objects = render({}, tmp_path)
    verbs = {verb for rule in rules_of(objects) for verb in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    assert not any("secrets" in rule["resources"] for rule in rules_of(objects))
    bound = {b["roleRef"]["name"] for b in by_kind(objects, "ClusterRoleBinding")}
    assert "view" in bound  # the built-in read-only role: no Secrets
    assert not by_kind(objects, "Role") and not by_kind(objects, "RoleBinding")
    assert "read_only: true" in config_file(objects)
    assert not by_kind(objects, "PodDisruptionBudget")  # one replica


@pytest.mark.binaries
def test_impersonate_mode_may_only_impersonate(tmp_path: Path) -> None:
    objects = render(VARIANTS["impersonate"], tmp_path)
    rules = rules_of(objects)
    assert {verb for rule in rules for verb in rule["verbs"]} == {"impersonate"}
    resources = {r for rule in rules for r in rule["resources"]}
    assert resources == {"users", "groups", "serviceaccounts", "uids", "userextras/*"}
    assert [b["roleRef"]["name"] for b in by_kind(objects, "ClusterRoleBinding")] == [
        "kubelantern-impersonator"
    ]


@pytest.mark.binaries
@pytest.mark.parametrize("variant", ["bearer", "oidc"])
def test_token_modes_get_no_rbac_at_all(variant: str, tmp_path: Path) -> None:
    objects = render(VARIANTS[variant], tmp_path)
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")


@pytest.mark.binaries
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"auth": {"mode": "magic"}}, "/auth/mode"),
        ({"replicaCount": -1}, "/replicaCount"),
        ({"config": {"oidc": {"clientID": "x"}}}, "oidc"),
        ({"config": {"baseURL": "/x"}}, "baseURL"),
        ({"config": {"add_clusters": "on"}}, "config.cluster_admins"),
        ({"config": {"add_clusters": "sometimes"}}, "/config/add_clusters"),
        ({"config": {"page_size": "many"}}, "/config/page_size"),
        ({"config": {"log_format": "xml"}}, "/config/log_format"),
        ({"config": {"clusters": {"prod": {"auth_mode": "magic"}}}}, "auth_mode"),
        ({"ingress": {"host": "kl.example.com"}}, "host"),
        (
            {
                "auth": {"proxySecret": {"existingSecret": "p"}},
                "oauth2Proxy": {"enabled": True, "existingSecret": "s", "provider": OIDC_PROVIDER},
            },
            "oauth2Proxy.trustedProxyIPs",
        ),
        ({"replicaz": 2}, "replicaz"),
        ({"baseURL": "kubelantern"}, "/baseURL"),
        ({"service": {"port": "http"}}, "/service/port"),
        ({"oauth2Proxy": {"enabled": True}}, "/oauth2Proxy/existingSecret"),
        ({"auth": {"mode": "oidc"}}, "/auth/oidc/issuer"),
        ({"auth": {"mode": "impersonate"}}, "auth.mode=impersonate"),
        (
            {"oauth2Proxy": {"enabled": True, "existingSecret": "s", "provider": OIDC_PROVIDER}},
            "auth.proxySecret.existingSecret",
        ),
        ({"inCluster": {"enabled": False}}, "extraClusters"),
    ],
)
def test_wrong_values_are_refused_naming_the_field(
    values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    proc = helm_template(values, tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.binaries
@pytest.mark.parametrize("variant", ["default", "impersonate"])
def test_helm_lint_strict(variant: str, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(VARIANTS[variant]))
    proc = subprocess.run(
        [helm_binary(), "lint", "--strict", str(CHART), "-f", str(values)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == kubelantern.__version__


@pytest.mark.binaries
def test_committed_manifests_equal_a_fresh_render() -> None:
    fresh = subprocess.run(
        [str(ROOT / "deploy" / "manifests" / "render")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    committed = (ROOT / "deploy" / "manifests" / "kubelantern.yaml").read_text()
    assert committed == fresh, "deploy/manifests/kubelantern.yaml is stale: run `make manifests`"


@pytest.mark.binaries
def test_plain_manifests_pass_a_server_side_dry_run(
    kube: httpx.Client, resources: Resources
) -> None:
    docs = [
        d for d in yaml.safe_load_all((ROOT / "deploy/manifests/kubelantern.yaml").read_text()) if d
    ]
    assert docs[0]["kind"] == "Namespace"
    # The namespace does not exist here, so only the cluster-scoped objects are
    # applied for real-ish (dry run); namespaced ones are moved to an existing one.
    for obj in docs[1:]:
        if "namespace" in obj["metadata"]:
            obj["metadata"]["namespace"] = NAMESPACE
        for subject in obj.get("subjects", []):
            subject["namespace"] = NAMESPACE
        response = apply(kube, resources, obj, dry_run=True)
        assert response.status_code in (200, 201), response.text
    assert apply(kube, resources, docs[0], dry_run=True).status_code in (200, 201)


@pytest.mark.binaries
def test_oauth2_proxy_accepts_the_sidecar_config(tmp_path: Path) -> None:
    """The real oauth2-proxy parses the alpha config and flags the chart writes, and serves."""
    objects = render(VARIANTS["impersonate"], tmp_path)
    (cm,) = by_kind(objects, "ConfigMap")
    (deployment,) = by_kind(objects, "Deployment")
    (sidecar,) = [
        c
        for c in deployment["spec"]["template"]["spec"]["containers"]
        if c["name"] == "oauth2-proxy"
    ]
    port = free_port()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "client-secret").write_text("s3cret")
    (secrets / "proxy-secret").write_text("proxy-shared-secret")
    alpha = cm["data"]["oauth2-proxy.yaml"]
    alpha = alpha.replace("/etc/oauth2-proxy/secrets/", f"{secrets}/")
    alpha = alpha.replace("/etc/kubelantern/proxy/", f"{secrets}/")
    alpha = alpha.replace("0.0.0.0:4180", f"127.0.0.1:{port}")
    config = tmp_path / "oauth2-proxy.yaml"
    config.write_text(alpha)
    args = [a for a in sidecar["args"] if not a.startswith("--alpha-config=")]
    bindir = subprocess.run(
        [str(ROOT / "testenv" / "build"), "--print-dir", "oauth2-proxy"],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    ).stdout.strip()
    env = {"OAUTH2_PROXY_COOKIE_SECRET": "0123456789abcdef0123456789abcdef", "PATH": "/usr/bin"}
    log = tmp_path / "oauth2-proxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [f"{bindir}/oauth2-proxy", f"--alpha-config={config}", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"oauth2-proxy exited:\n{log.read_text()[-3000:]}")
            return httpx.get(base + "/ready", timeout=2).status_code == 200

        wait_until(ready, 30, "oauth2-proxy to be ready")
        assert httpx.get(base + "/ping").status_code == 200
        # Unsigned requests are sent to sign in, under the base URL's proxy prefix.
        page = httpx.get(base + "/kubelantern/c/x/pods")
        assert page.status_code in (302, 401, 403), page.text[:300]
        start = httpx.get(base + "/kubelantern/oauth2/start?rd=/kubelantern/")
        assert start.status_code == 302
        assert start.headers["location"].startswith("https://github.com/login/oauth/authorize")
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_config_schema_is_generated_from_the_option_table() -> None:
    """A setting added to settings.OPTIONS must reach values.schema.json (`make manifests`)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "helm" / "config-schema"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.binaries
def test_every_setting_of_the_app_can_be_set_through_the_chart(tmp_path: Path) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["config"]
    assert set(schema["properties"]) == {o.name for o in OPTIONS if o.name != "config"} | {
        "clusters"
    }
    objects = render({"config": {"page_size": 7, "namespaces": ["a", "b"]}}, tmp_path)
    loaded = configfile.parse(yaml.safe_load(config_file(objects)), "kubelantern.yaml", OPTIONS)
    assert loaded.problems == []
    assert loaded.values["page_size"] == 7
    assert loaded.values["namespaces"] == ("a", "b")


@pytest.mark.binaries
@pytest.mark.parametrize("variant", ["default", "kubeconfig-full", "impersonate", "openshift"])
def test_pods_pass_the_restricted_pod_security_standard(
    variant: str, tmp_path: Path, kube: httpx.Client
) -> None:
    """The pod template, created (dry run) in a namespace enforcing "restricted"."""
    namespace = f"kl-pss-{variant}-{uuid.uuid4().hex[:6]}"
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": labels},
    }
    assert kube.post("/api/v1/namespaces", json=ns).status_code == 201
    try:
        objects = render(VARIANTS[variant], tmp_path, namespace=namespace)
        (deployment,) = by_kind(objects, "Deployment")
        spec = deployment["spec"]["template"]["spec"]
        account = {"metadata": {"name": spec["serviceAccountName"]}}
        created = kube.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", json=account)
        assert created.status_code == 201, created.text
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kl"}, "spec": spec}
        response = kube.post(f"/api/v1/namespaces/{namespace}/pods?dryRun=All", json=pod)
        assert response.status_code == 201, response.json().get("message")
    finally:
        kube.delete(f"/api/v1/namespaces/{namespace}")


@pytest.mark.binaries
def test_openshift_values_leave_the_uid_to_the_platform(tmp_path: Path) -> None:
    (deployment,) = by_kind(render(VARIANTS["openshift"], tmp_path), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert "lifecycle" not in pod["containers"][0]


@pytest.mark.binaries
def test_the_chart_can_be_adapted(tmp_path: Path) -> None:
    objects = render(VARIANTS["kubeconfig-full"], tmp_path)
    (deployment,) = by_kind(objects, "Deployment")
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert app["args"][-1] == "--page-size=50"
    assert {"name": "TZ", "value": "UTC"} in app["env"]
    assert {"name": "ca", "mountPath": "/etc/corp-ca", "readOnly": True} in app["volumeMounts"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "ca", "configMap": {"name": "corp-ca"}} in volumes
    assert app["livenessProbe"]["periodSeconds"] == 20
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["lifecycle"]["preStop"]["sleep"]["seconds"] == 10
    assert deployment["spec"]["replicas"] == 3
    (ingress,) = by_kind(objects, "Ingress")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == ["kl.example.com", "kl2.example.com"]
    (policy,) = by_kind(objects, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert by_kind(objects, "PodDisruptionBudget")


@pytest.mark.binaries
def test_service_monitor_scrapes_past_oauth2_proxy(tmp_path: Path) -> None:
    values = {**VARIANTS["bearer"], "metrics": {"serviceMonitor": {"enabled": True}}}
    objects = render(values, tmp_path)
    (monitor,) = by_kind(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    (service,) = by_kind(objects, "Service")
    ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
    assert ports == {"http": "proxy", "metrics": "http"}


@pytest.mark.binaries
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_kubelantern_config_check_passes_on_every_rendered_example(
    example: str, tmp_path: Path, cluster: RealCluster
) -> None:
    """`kubelantern config check`, the command operators run, on what the chart writes.

    The files the config names (mounted Secrets, kubeconfigs) are laid out under
    tmp_path as the pod would have them; only "not in a pod" is expected.
    """
    text = config_file(render(EXAMPLES[example], tmp_path))
    root = tmp_path / "pod"
    text = text.replace("/etc/kubelantern/", f"{root}/etc/kubelantern/")
    for path in re.findall(rf"{re.escape(str(root))}/\S+", text):
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        if "/clusters/" in path:
            file.write_text(Path(cluster.kubeconfig("admin")).read_text())
        else:
            file.write_text("s" * 48)  # a proxy/session/client secret
    config = tmp_path / "kubelantern.yaml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELANTERN_")}
    proc = subprocess.run(
        [sys.executable, "-m", "kubelantern", "config", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    problems = [
        line.strip()
        for line in proc.stderr.splitlines()
        if line.strip().startswith("error:") and "KUBERNETES_SERVICE_HOST is not set" not in line
    ]
    assert problems == [], proc.stderr
    assert proc.returncode in (0, 1), proc.stderr  # ran: OK, or only "not in a pod"


@pytest.mark.binaries
def test_adding_clusters_is_off_unless_enabled_with_admins_named(tmp_path: Path) -> None:
    default = configfile.parse(yaml.safe_load(config_file(render({}, tmp_path))), "x", OPTIONS)
    assert default.values["add_clusters"] == "off"
    values = {"config": {"add_clusters": "on", "cluster_admins": ["group:platform"]}}
    loaded = configfile.parse(yaml.safe_load(config_file(render(values, tmp_path))), "x", OPTIONS)
    assert loaded.problems == []
    assert loaded.values["add_clusters"] == "on"
    assert loaded.values["cluster_admins"] == ("group:platform",)
