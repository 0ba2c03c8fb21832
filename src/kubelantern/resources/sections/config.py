"""ConfigMap and Secret (keys and sizes; secret values only on request) and HPA."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from kubelantern.resources.relations import Lookup, Obj
from kubelantern.resources.sections.base import Section, builds, meta, spec, status
from kubelantern.resources.sections.usage import pods_using_config

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
VALUE_PREVIEW = 20_000


def decoded_size(value: str) -> int:
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(value)


def is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@builds("", "ConfigMap")
async def configmap_section(lk: Lookup, cm: Obj) -> Section:
    keys: list[dict[str, Any]] = []
    for key, value in sorted((cm.get("data") or {}).items()):
        text = str(value)
        keys.append(
            {
                "key": key,
                "size": len(text.encode()),
                "binary": False,
                "value": text[:VALUE_PREVIEW],
                "truncated": len(text) > VALUE_PREVIEW,
            }
        )
    for key, value in sorted((cm.get("binaryData") or {}).items()):
        keys.append({"key": key, "size": decoded_size(str(value)), "binary": True, "value": None})
    summary = {"keys": keys, "immutable": bool(cm.get("immutable"))}
    return Section("configmap", summary, [await pods_using_config(lk, cm, "ConfigMap")])


def redact_secret(obj: Obj) -> Obj:
    """The Secret without its values (data, stringData, last-applied annotation).

    The page and its JSON twin never carry secret values; a person reveals one
    key at a time (``?reveal=<key>``), which the API server authorizes again.
    """
    out = dict(obj)
    for field in ("data", "stringData"):
        if isinstance(obj.get(field), dict):
            out[field] = {
                k: f"<hidden: {decoded_size(str(v)) if field == 'data' else len(str(v))} bytes>"
                for k, v in obj[field].items()
            }
    md = dict(meta(obj))
    annotations = dict(md.get("annotations") or {})
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = "<hidden: may contain secret values>"
        md["annotations"] = annotations
        out["metadata"] = md
    return out


def reveal(secret: Obj, key: str) -> Obj | None:
    """One decoded value of a Secret, or None if the key does not exist."""
    data = secret.get("data") or {}
    if key not in data:
        return None
    try:
        raw = base64.b64decode(str(data[key]), validate=True)
    except (binascii.Error, ValueError):
        raw = str(data[key]).encode()
    text = is_text(raw)
    return {
        "key": key,
        "size": len(raw),
        "binary": not text,
        "value": raw.decode("utf-8") if text else None,
        "base64": None if text else str(data[key]),
    }


@builds("", "Secret")
async def secret_section(lk: Lookup, secret: Obj) -> Section:
    """Keys and sizes; offer the reveal only when the view could ``get`` the Secret.

    Revealing is one more ``get`` of the same Secret with the same credentials
    (``web/views/detail.py``), so the view's own successful read is the proof;
    the section is told it (``Lookup.object_readable``) rather than asking.
    """
    pods = await pods_using_config(lk, secret, "Secret")
    keys = [
        {"key": k, "size": decoded_size(str(v))}
        for k, v in sorted((secret.get("data") or {}).items())
    ]
    summary = {
        "type": secret.get("type", "Opaque"),
        "keys": keys,
        "immutable": bool(secret.get("immutable")),
        "mayReveal": lk.object_readable,
        "revealRefused": "",
    }
    return Section("secret", summary, [pods])


def metric_name(m: Obj) -> str:
    kind = m.get("type", "")
    body = m.get(kind[:1].lower() + kind[1:]) or {}
    name = body.get("name") or (body.get("metric") or {}).get("name") or ""
    if kind == "ContainerResource":
        name = f"{name} ({body.get('container', '')})"
    if kind == "Object":
        target = body.get("describedObject") or {}
        name = f"{name} on {target.get('kind', '')}/{target.get('name', '')}"
    return str(name)


def metric_value(body: Obj, target: bool) -> str:
    value = body.get("target" if target else "current") or {}
    if value.get("averageUtilization") is not None:
        return f"{value['averageUtilization']}%"
    for key in ("averageValue", "value"):
        if value.get(key) is not None:
            return str(value[key])
    return "<unknown>"


def hpa_metrics(hpa: Obj) -> list[Obj]:
    """Each metric with target and current value (``<unknown>`` until measured)."""
    current = {metric_name(m): m for m in status(hpa).get("currentMetrics") or []}
    rows = []
    for m in spec(hpa).get("metrics") or []:
        kind = m.get("type", "")
        key = kind[:1].lower() + kind[1:]
        name = metric_name(m)
        cur = current.get(name)
        rows.append(
            {
                "type": kind,
                "name": name,
                "target": metric_value(m.get(key) or {}, target=True),
                "current": metric_value((cur or {}).get(key) or {}, target=False)
                if cur
                else "<unknown>",
            }
        )
    return rows


@builds("autoscaling", "HorizontalPodAutoscaler")
async def hpa_section(lk: Lookup, hpa: Obj) -> Section:
    sp, st = spec(hpa), status(hpa)
    ref = sp.get("scaleTargetRef") or {}
    summary = {
        "target": lk.link(
            ref.get("apiVersion", ""),
            ref.get("kind", ""),
            ref.get("name", ""),
            meta(hpa).get("namespace"),
        ),
        "minReplicas": sp.get("minReplicas", 1),
        "maxReplicas": sp.get("maxReplicas"),
        "currentReplicas": st.get("currentReplicas"),
        "desiredReplicas": st.get("desiredReplicas"),
        "lastScaleTime": st.get("lastScaleTime"),
        "metrics": hpa_metrics(hpa),
    }
    return Section("hpa", summary)
