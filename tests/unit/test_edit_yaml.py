"""A person's YAML: parse errors with positions, field paths mapped to lines."""

from __future__ import annotations

import pytest

from kubelantern import errors
from kubelantern.clusters.discovery import ResourceType
from kubelantern.operate import yamldoc
from kubelantern.operate.apply import explain, prepare

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
  annotations:
    example.com/owner: team
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
          protocol: TCP
      - name: sidecar
        image: busybox
      finalizers: [a, b]
"""


@pytest.fixture
def doc() -> yamldoc.Document:
    (d,) = yamldoc.parse_documents(DEPLOYMENT)
    return d


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("spec.replicas", 10),
        (".spec.replicas", 10),
        ("metadata.labels", 5),
        ("metadata.annotations[example.com/owner]", 8),
        ("spec.template.spec.containers[0].image", 15),
        ("spec.template.spec.containers[1].image", 20),
        ('.spec.template.spec.containers[name="sidecar"].image', 20),
        ('.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]', 17),
        ('spec.template.spec.finalizers[="b"]', 21),
        # Missing fields point at the deepest parent present: where they belong.
        ("spec.selector", 9),
        ("spec.template.spec.containers[0].resources.limits", 14),
        ('.spec.template.spec.containers[name="nope"].image', 13),
    ],
)
def test_field_paths_map_to_lines(doc: yamldoc.Document, path: str, line: int) -> None:
    assert doc.line_of(path) == line


def test_unknown_first_step_falls_back_to_the_document(doc: yamldoc.Document) -> None:
    assert yamldoc.line_of(doc.node, "status.replicas") is None
    assert doc.line_of("status.replicas") == 1


def test_documents_keep_absolute_lines_and_skip_empty_ones() -> None:
    text = "# comment\n---\na: 1\n---\n---\nb: 2\n...\n"
    docs = yamldoc.parse_documents(text)
    assert [d.obj for d in docs] == [{"a": 1}, {"b": 2}]
    assert [d.line for d in docs] == [3, 6]
    assert [d.index for d in docs] == [0, 2]  # the empty document between counts


def test_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(errors.InvalidYaml) as caught:
        yamldoc.parse_documents("a: 1\nb: [1, 2\nc: 3\n")
    assert (caught.value.line, caught.value.column) == (3, 2)
    assert caught.value.to_dict()["line"] == 3
    with pytest.raises(errors.InvalidYaml) as tab:
        yamldoc.parse_documents("a:\n\tb: 1\n")
    assert tab.value.line == 2


def test_duplicate_keys_are_an_error_with_both_lines() -> None:
    with pytest.raises(errors.InvalidYaml) as caught:
        yamldoc.parse_documents("metadata:\n  name: a\n  labels: {}\n  name: b\n")
    assert caught.value.line == 4
    assert "already defined on line 2" in caught.value.message


def test_timestamps_stay_strings_other_scalars_as_yaml_says() -> None:
    (d,) = yamldoc.parse_documents("when: 2024-01-01\nat: 2024-01-01T10:00:00Z\nn: 3\nok: true\n")
    assert d.obj == {"when": "2024-01-01", "at": "2024-01-01T10:00:00Z", "n": 3, "ok": True}


def test_require_object_refuses_lists_and_scalars() -> None:
    (d,) = yamldoc.parse_documents("- a\n- b\n")
    with pytest.raises(errors.InvalidYaml, match="not a mapping"):
        yamldoc.require_object(d)


def test_prepare_drops_what_only_the_server_sets() -> None:
    rt = ResourceType(
        "apps", "v1", "deployments", "Deployment", True, subresources=("status", "scale")
    )
    obj = {
        "metadata": {
            "name": "x",
            "uid": "u",
            "resourceVersion": "5",
            "managedFields": [],
            "creationTimestamp": "t",
            "generation": 2,
        },
        "spec": {},
        "status": {"replicas": 1},
    }
    kept = prepare(obj, rt, keep_identity=True)
    assert kept == {"metadata": {"name": "x", "uid": "u", "resourceVersion": "5"}, "spec": {}}
    assert prepare(obj, rt, keep_identity=False)["metadata"] == {"name": "x"}
    plain = ResourceType("", "v1", "things", "Thing", True)
    assert "status" in prepare(obj, plain, keep_identity=False)  # no status subresource: a field


def test_schema_errors_of_apply_become_invalid_with_lines(doc: yamldoc.Document) -> None:
    message = (
        "failed to create typed patch object (team-a/web; apps/v1, Kind=Deployment): errors:\n"
        "  .spec.replicas: expected numeric (int or float), got string\n"
        '  .spec.template.spec.containers[name="nginx"].imagex: field not declared in schema'
    )
    err = explain(errors.ApiError(message, status=500), doc)
    assert isinstance(err, errors.Invalid) and err.status == 422
    causes = err.details["causes"]
    assert [(c["field"], c["line"]) for c in causes] == [
        (".spec.replicas", 10),
        ('.spec.template.spec.containers[name="nginx"].imagex', 14),
    ]


def test_conflicts_name_their_managers(doc: yamldoc.Document) -> None:
    details = {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "helm" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }
    err = explain(errors.Conflict("Apply failed with 1 conflict", status=409, details=details), doc)
    (cause,) = err.details["causes"]
    assert cause["manager"] == "helm" and cause["line"] == 10
    assert "managed by helm" in err.message and "force" in err.message
    stale = explain(errors.Conflict("the object has been modified; please apply", status=409), doc)
    assert stale.to_dict()["stale"] is True
