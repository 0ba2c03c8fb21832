"""Open in browser: Kubelantern -> the real API server's services/pods proxy -> a real
HTTP server on this machine (tests/proxykit.py explains how the API server is made
to reach it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.proxykit import Target, base, proxied_target

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def target(cluster: RealCluster) -> Iterator[Target]:
    with proxied_target(cluster) as t:
        yield t


def test_html_is_served_sandboxed_without_cookies(
    admin: TestClient, cluster: RealCluster, target: Target
) -> None:
    r = admin.get(base(cluster, target) + "/")
    assert r.status_code == 200, r.text
    assert 'id="app"' in r.text
    csp = r.headers["content-security-policy"]
    assert csp.startswith("sandbox ") and "allow-scripts" in csp
    assert "allow-same-origin" not in csp  # the app's own "default-src *" is gone
    # Only Kubelantern's own CSRF cookie may be set (its middleware), never the app's.
    assert all("stolen" not in c for c in r.headers.get_list("set-cookie"))
    assert "stolen" not in r.cookies
    # The API server rewrote the app's absolute link to its own proxy path; ours replaces it.
    assert f'href="{base(cluster, target)}/page"' in r.text


def test_kubelantern_cookies_and_credentials_stay_home(
    admin: TestClient, cluster: RealCluster, target: Target
) -> None:
    admin.get("/clusters.json")  # gets the CSRF cookie, which must not travel upstream
    assert "kl_csrf" in admin.cookies
    r = admin.get(base(cluster, target) + "/headers?q=1", headers={"Authorization": "Bearer x"})
    assert r.status_code == 200, r.text
    seen = r.json()["headers"]
    assert "cookie" not in seen, seen.get("cookie")
    assert "authorization" not in seen
    assert r.json()["path"] == "/headers?q=1"
    assert r.headers["content-security-policy"].startswith("sandbox ")


def test_redirects_stay_under_the_prefix(
    admin: TestClient, cluster: RealCluster, target: Target
) -> None:
    r = admin.get(base(cluster, target) + "/redirect", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == base(cluster, target) + "/target"
    away = admin.get(base(cluster, target) + "/away", follow_redirects=False)
    assert away.status_code == 302
    assert "location" not in away.headers


def test_app_errors_and_json_paths_pass_through(
    admin: TestClient, cluster: RealCluster, target: Target
) -> None:
    missing = admin.get(base(cluster, target) + "/nothing-here")
    assert missing.status_code == 404
    assert missing.text == "the app says: no such page"
    data = admin.get(base(cluster, target) + "/data.json")
    assert data.status_code == 200
    assert data.json() == {"from": "app"}
    # The app's own 401 is its business: no Kubelantern sign-in, no credential prompt.
    private = admin.get(base(cluster, target) + "/private", follow_redirects=False)
    assert private.status_code == 401
    assert private.json() == {"app": "needs a password"}
    assert "www-authenticate" not in private.headers
    # The API server's own refusal is Kubelantern's error, with its status.
    noport = admin.get(base(cluster, target, port=81) + "/", headers={"Accept": "application/json"})
    assert noport.status_code == 503
    assert "no service port 81" in noport.json()["error"]["message"]
    bare = admin.get(base(cluster, target), follow_redirects=False)
    assert bare.status_code == 307
    assert bare.headers["location"] == base(cluster, target) + "/"


def test_pod_ports_open_too(admin: TestClient, cluster: RealCluster, target: Target) -> None:
    r = admin.get(base(cluster, target, "pods", target.port) + "/headers")
    assert r.status_code == 200, r.text
    assert r.headers["content-security-policy"].startswith("sandbox ")


def test_rbac_decides(bob: TestClient, cluster: RealCluster, target: Target) -> None:
    # bob may view everything but has no services/proxy.
    r = bob.get(base(cluster, target) + "/", headers={"Accept": "application/json"})
    assert r.status_code == 403
    assert "services/proxy" in r.text or "forbidden" in r.text.lower()
    page = bob.get(f"/c/{cluster.name}/namespaces/{target.ns}/services/{target.service}")
    assert page.status_code == 200
    assert 'data-denied="open-port"' in page.text
    assert "RBAC does not let you" in page.text
    data = bob.get(
        f"/c/{cluster.name}/namespaces/{target.ns}/services/{target.service}.json"
    ).json()
    assert data["openAccess"]["allowed"] is False


def test_detail_pages_offer_open(admin: TestClient, cluster: RealCluster, target: Target) -> None:
    svc = f"/c/{cluster.name}/namespaces/{target.ns}/services/{target.service}"
    data = admin.get(svc + ".json").json()
    assert data["openAccess"]["allowed"] is True
    assert data["openPorts"][0]["url"] == base(cluster, target) + "/"
    page = admin.get(svc)
    assert 'data-action="open-port"' in page.text
    pod = admin.get(f"/c/{cluster.name}/namespaces/{target.ns}/pods/{target.pod}.json").json()
    assert pod["openPorts"][0]["port"] == target.port
    assert pod["openPorts"][0]["url"] == base(cluster, target, "pods", target.port) + "/"
