"""Exporting lists against the real control plane: every page, the page's filters, four formats.

The app under test lists two objects per API request (``page_size=2``), so an
export of five pods has to follow ``continue`` across three chunks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import RealCluster, make_settings
from tests.integration.operate_kit import Kube, unique

COUNT = 5


@pytest.fixture(scope="module")
def paged(cluster: RealCluster) -> Iterator[TestClient]:
    """The admin's app with a page size of two, so every export pages upstream."""
    app = create_app(make_settings(cluster.kubeconfig("admin"), page_size=2))
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


@pytest.fixture(scope="module")
def pods(kube: Kube) -> Iterator[tuple[str, list[str]]]:
    """Five labelled pods in team-a (and one unlabelled that no export may carry)."""
    tag = unique("export")
    names = [f"{tag}-{i}" for i in range(COUNT)]
    for name in [*names, f"{tag}-other"]:
        labels = {"export-test": tag} if name != f"{tag}-other" else {}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "team-a", "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        }
        kube.apply(pod, f"/api/v1/namespaces/team-a/pods/{name}")
    yield tag, names
    for name in [*names, f"{tag}-other"]:
        kube.delete(f"/api/v1/namespaces/team-a/pods/{name}", gracePeriodSeconds="0")


def test_yaml_export_is_a_list_of_every_page(
    paged: TestClient, cluster: RealCluster, pods: tuple[str, list[str]]
) -> None:
    tag, names = pods
    r = paged.get(f"/c/{cluster.name}/pods.yaml", params={"labelSelector": f"export-test={tag}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    assert r.headers["content-disposition"] == 'attachment; filename="pods.yaml"'
    doc = yaml.safe_load(r.text)
    assert doc["apiVersion"] == "v1" and doc["kind"] == "List"
    assert sorted(i["metadata"]["name"] for i in doc["items"]) == names
    assert all(i["kind"] == "Pod" and i["apiVersion"] == "v1" for i in doc["items"])
    assert all("managedFields" not in i["metadata"] for i in doc["items"])
    # The page itself shows two rows only; the export carried all five.
    page = paged.get(
        f"/c/{cluster.name}/pods.json", params={"labelSelector": f"export-test={tag}"}
    ).json()
    assert len(page["rows"]) == 2 and page["nextUrl"]
    assert page["exports"]["yaml"].endswith(f"pods.yaml?labelSelector=export-test%3D{tag}")

    kept = paged.get(
        f"/c/{cluster.name}/namespaces/team-a/pods.yaml",
        params={"labelSelector": f"export-test={tag}", "managedFields": "1"},
    )
    assert kept.headers["content-disposition"] == 'attachment; filename="pods-team-a.yaml"'
    items = yaml.safe_load(kept.text)["items"]
    assert len(items) == COUNT and all(i["metadata"]["managedFields"] for i in items)


def test_json_export_and_text_filter(
    paged: TestClient, cluster: RealCluster, pods: tuple[str, list[str]]
) -> None:
    tag, names = pods
    base = f"/c/{cluster.name}/namespaces/team-a/pods.json"
    r = paged.get(base, params={"export": "all", "labelSelector": f"export-test={tag}"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["kind"] == "List" and len(doc["items"]) == COUNT
    # The text filter of the page (q) applies across chunks too.
    r = paged.get(base, params={"export": "all", "q": names[3]})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == [names[3]]
    # Nothing matches: still a valid, empty List.
    empty = paged.get(
        f"/c/{cluster.name}/namespaces/team-a/pods.yaml", params={"labelSelector": "no=such"}
    )
    assert yaml.safe_load(empty.text) == {
        "apiVersion": "v1",
        "items": [],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_are_the_page_columns(
    paged: TestClient, cluster: RealCluster, pods: tuple[str, list[str]], fmt: str, delimiter: str
) -> None:
    tag, names = pods
    params = {"labelSelector": f"export-test={tag}"}
    r = paged.get(f"/c/{cluster.name}/pods.{fmt}", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv" if fmt == "csv" else "text/tab")
    rows = list(csv.reader(io.StringIO(r.text), delimiter=delimiter))
    page = paged.get(f"/c/{cluster.name}/pods.json", params=params).json()
    assert rows[0] == [c["name"] for c in page["columns"]]
    assert rows[0][:2] == ["Namespace", "Name"]
    assert sorted(row[1] for row in rows[1:]) == names
    assert {row[0] for row in rows[1:]} == {"team-a"}
    # A selection of several namespaces: the same rows, team-b adds none of ours.
    both = paged.get(
        f"/c/{cluster.name}/pods.{fmt}", params={**params, "namespaces": "team-b,team-a"}
    )
    rows_both = list(csv.reader(io.StringIO(both.text), delimiter=delimiter))
    assert rows_both[0] == rows[0] and sorted(r[1] for r in rows_both[1:]) == names
    wide = paged.get(f"/c/{cluster.name}/pods.{fmt}", params={**params, "wide": "1"})
    header = next(csv.reader(io.StringIO(wide.text), delimiter=delimiter))
    assert len(header) > len(rows[0]) and "Node" in header


def test_crds_and_cluster_scoped_kinds(admin: TestClient, cluster: RealCluster) -> None:
    nodes = admin.get(f"/c/{cluster.name}/nodes.csv")
    assert nodes.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(nodes.text)))
    assert header[0] == "Name" and rows
    widgets = admin.get(f"/c/{cluster.name}/widgets.yaml")
    assert widgets.status_code == 200
    doc = yaml.safe_load(widgets.text)
    assert doc["items"] and all(i["kind"] == "Widget" for i in doc["items"])
    assert all(i["apiVersion"].startswith("example.com/") for i in doc["items"])


def test_rbac_decides_what_is_exported(
    alice: TestClient, bob: TestClient, cluster: RealCluster, pods: tuple[str, list[str]]
) -> None:
    tag, _ = pods
    params = {"labelSelector": f"export-test={tag}"}
    mine = alice.get(f"/c/{cluster.name}/namespaces/team-a/pods.yaml", params=params)
    assert len(yaml.safe_load(mine.text)["items"]) == COUNT
    # A refused namespace anywhere in the selection refuses the export up front.
    refused = alice.get(
        f"/c/{cluster.name}/pods.yaml", params={**params, "namespaces": "team-a,team-b"}
    )
    assert refused.status_code == 403
    assert "team-b" in refused.text
    # bob may read pods but no secrets: pods export, secrets are refused with a status.
    assert bob.get(f"/c/{cluster.name}/pods.csv", params=params).status_code == 200
    assert bob.get(f"/c/{cluster.name}/secrets.yaml").status_code == 403


def test_bad_selector_is_a_400(admin: TestClient, cluster: RealCluster) -> None:
    r = admin.get(
        f"/c/{cluster.name}/pods.yaml",
        params={"labelSelector": "a in (b"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 400
