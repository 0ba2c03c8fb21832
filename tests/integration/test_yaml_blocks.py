"""Block text (``|``) stays block text: editor, apply, detail page, exports.

A ConfigMap holding a script is the common case: people write it as a literal
block, and ``kubectl edit`` shows it as one. Kubelantern used to turn it into
one double-quoted line full of ``\\n``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube, unique, writes

pytestmark = pytest.mark.cluster

SCRIPT = "#!/bin/sh\nset -e\necho start\n"


@pytest.fixture
def configmap(kube: Kube) -> Iterator[str]:
    name = unique("ops-block")
    path = f"/api/v1/namespaces/team-a/configmaps/{name}"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "team-a"},
            "data": {"run.sh": SCRIPT, "one": "line"},
        },
        path,
    )
    yield name
    kube.http.delete(path)


def test_editor_shows_blocks_and_an_edit_inside_keeps_them(
    alice: TestClient, cluster: RealCluster, kube: Kube, configmap: str
) -> None:
    url = f"/c/{cluster.name}/namespaces/team-a/configmaps/{configmap}"
    data = alice.get(url + "/edit.json").json()
    text = str(data["yaml"])
    assert "  run.sh: |\n    #!/bin/sh\n    set -e\n    echo start\n" in text, text
    assert "\\n" not in text

    edited = text.replace("    echo start\n", "    echo start\n    echo done\n")
    body = {
        "yaml": edited,
        "resourceVersion": data["resourceVersion"],
        "original": text,
        "force": True,  # the fields belong to the setup manager
    }
    r = alice.post(url + "/apply", json=body, headers=writes(alice))
    assert r.status_code == 200, r.text
    assert (
        "  run.sh: |\n    #!/bin/sh\n    set -e\n    echo start\n    echo done\n"
        in (r.json()["liveYaml"])
    )
    live = kube.must(f"/api/v1/namespaces/team-a/configmaps/{configmap}")
    assert live["data"]["run.sh"] == SCRIPT + "echo done\n"
    assert live["data"]["one"] == "line"

    again = str(alice.get(url + "/edit.json").json()["yaml"])
    assert "run.sh: |\n" in again and "\\n" not in again


def test_detail_page_and_export_show_blocks(
    alice: TestClient, cluster: RealCluster, configmap: str
) -> None:
    url = f"/c/{cluster.name}/namespaces/team-a/configmaps/{configmap}"
    page = alice.get(url).text
    assert "run.sh: |\n    #!/bin/sh\n" in page
    exported = alice.get(f"/c/{cluster.name}/namespaces/team-a/configmaps.yaml")
    assert exported.status_code == 200, exported.text
    assert "run.sh: |\n" in exported.text
    (item,) = [
        i for i in yaml.safe_load(exported.text)["items"] if i["metadata"]["name"] == configmap
    ]
    assert item["data"]["run.sh"] == SCRIPT
