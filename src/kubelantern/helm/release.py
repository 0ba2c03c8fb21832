"""One Helm release revision, decoded from the Secret Helm stores it in.

Helm 3 keeps each revision in a Secret ``sh.helm.release.v1.<name>.v<rev>``
(type ``helm.sh/release.v1``, labels ``owner=helm``, ``name``, ``status``,
``version``). Its ``data.release`` is, under the Secret's own base64, Helm's
base64 of a gzip of the release JSON. Kubelantern only ever reads these; the
helm binary writes them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from kubelantern import errors
from kubelantern.yamltext import BlockDumper

GZIP_MAGIC = b"\x1f\x8b\x08"
SECRET_TYPE = "helm.sh/release.v1"


@dataclass(frozen=True)
class Release:
    """The parts of a release revision the pages show."""

    name: str
    namespace: str
    revision: int
    status: str
    chart: str  # name-version, as `helm list` prints it
    chart_name: str
    chart_version: str
    app_version: str
    updated: str
    description: str
    notes: str
    manifest: str
    values: dict[str, Any]  # user-supplied (helm get values)
    chart_values: dict[str, Any]  # the chart's defaults
    chart_doc: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def computed_values(self) -> dict[str, Any]:
        """What templates saw (``helm get values --all``): defaults, then the user's."""
        return coalesce(self.values, self.chart_values)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "revision": self.revision,
            "status": self.status,
            "chart": self.chart,
            "appVersion": self.app_version,
            "updated": self.updated,
            "description": self.description,
        }


def decode_payload(data: str) -> dict[str, Any]:
    """Helm's encoding of a release: base64, usually of gzip, of JSON."""
    try:
        raw = base64.b64decode(data, validate=False)
        if raw[:3] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
        doc = orjson.loads(raw)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error) as exc:
        raise errors.BadRequest(f"this Helm release record cannot be decoded: {exc}") from None
    if not isinstance(doc, dict):
        raise errors.BadRequest("this Helm release record is not a JSON object")
    return doc


def from_secret(secret: dict[str, Any]) -> Release:
    """A release from its storage Secret (as the API returns it: data is base64)."""
    encoded = (secret.get("data") or {}).get("release")
    if not encoded:
        name = (secret.get("metadata") or {}).get("name", "?")
        raise errors.BadRequest(f"Secret {name} holds no Helm release")
    try:
        helm_text = base64.b64decode(encoded).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise errors.BadRequest("this Helm release record cannot be decoded") from None
    return from_json(decode_payload(helm_text))


def from_json(doc: dict[str, Any]) -> Release:
    info = doc.get("info") or {}
    chart = doc.get("chart") or {}
    meta = chart.get("metadata") or {}
    name, version = str(meta.get("name", "")), str(meta.get("version", ""))
    return Release(
        name=str(doc.get("name", "")),
        namespace=str(doc.get("namespace", "")),
        revision=int(doc.get("version") or 0),
        status=str(info.get("status", "unknown")),
        chart=f"{name}-{version}" if name else "",
        chart_name=name,
        chart_version=version,
        app_version=str(meta.get("appVersion") or ""),
        updated=str(info.get("last_deployed") or ""),
        description=str(info.get("description") or ""),
        notes=str(info.get("notes") or ""),
        manifest=str(doc.get("manifest") or ""),
        values=doc.get("config") or {},
        chart_values=chart.get("values") or {},
        chart_doc=chart,
    )


def coalesce(user: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values over chart defaults: maps merge, ``null`` deletes."""
    out = dict(defaults)
    for key, value in user.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = coalesce(value, out[key])
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class OwnedObject:
    api_version: str
    kind: str
    name: str
    namespace: str | None


def manifest_objects(manifest: str, namespace: str) -> list[OwnedObject]:
    """The objects a release's manifest declares (namespaced ones default to the release's)."""
    out: list[OwnedObject] = []
    try:
        docs = list(yaml.safe_load_all(manifest))
    except yaml.YAMLError:
        return out
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind"):
            continue
        meta = doc.get("metadata") or {}
        out.append(
            OwnedObject(
                api_version=str(doc.get("apiVersion", "")),
                kind=str(doc["kind"]),
                name=str(meta.get("name", "")),
                namespace=meta.get("namespace") or namespace,
            )
        )
    return out


def to_yaml(values: dict[str, Any]) -> str:
    if not values:
        return ""
    return str(yaml.dump(values, Dumper=BlockDumper, default_flow_style=False, sort_keys=True))


def chart_files(chart: dict[str, Any]) -> dict[str, bytes]:
    """The chart as files, rebuilt from the release (to upgrade it with new values).

    Helm stores a chart's metadata, values, schema, templates and files in each
    release, but not its subcharts: a chart with dependencies cannot be rebuilt,
    and ``BadRequest`` says so rather than upgrading it without them.
    """
    meta = chart.get("metadata") or {}
    if meta.get("dependencies"):
        raise errors.BadRequest(
            "this chart has dependencies, which Helm does not keep in the release: "
            "upgrade it with helm and the chart itself"
        )
    files: dict[str, bytes] = {
        "Chart.yaml": yaml.safe_dump(meta, sort_keys=False).encode(),
        "values.yaml": yaml.safe_dump(chart.get("values") or {}, sort_keys=False).encode(),
    }
    if chart.get("schema"):
        files["values.schema.json"] = base64.b64decode(chart["schema"])
    for entry in [*(chart.get("templates") or []), *(chart.get("files") or [])]:
        name = str(entry.get("name", ""))
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise errors.BadRequest(f"the stored chart has a file with a bad name: {name!r}")
        files[name] = base64.b64decode(entry.get("data") or "")
    return files
