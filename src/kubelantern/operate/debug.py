"""Debug containers: an ephemeral container added to a running pod, as ``kubectl debug``.

``kubectl debug -it POD --image=busybox --target=CONTAINER`` PATCHes the pod's
``ephemeralcontainers`` subresource with one more container (stdin and a TTY,
optionally sharing the process namespace of a target container) and then
attaches to it. We do the same with the person's own credentials, so RBAC on
``pods/ephemeralcontainers`` (verb ``patch``) decides, and the terminal's attach
(``create pods/attach``) does the rest.

Only images from the operator's list (``--debug-images``) can be started: a
debug container runs with the pod's identity and network, and the list is
the operator's choice of what may be injected that way.
"""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import quote

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

_ALPHABET = string.ascii_lowercase + string.digits


def container_name(existing: set[str]) -> str:
    """``debugger-xxxxx`` as kubectl names them, unique in the pod."""
    while True:
        name = "debugger-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
        if name not in existing:
            return name


def all_names(pod: dict[str, Any]) -> set[str]:
    spec = pod.get("spec") or {}
    return {
        str(c.get("name"))
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    }


def app_containers(pod: dict[str, Any]) -> list[str]:
    """What ``--target`` may name: the pod's regular containers."""
    return [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]


def ephemeral_container(name: str, image: str, target: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "stdin": True,
        "tty": True,
        "terminationMessagePolicy": "File",
    }
    if target:
        container["targetContainerName"] = target
    return container


def check_choice(pod: dict[str, Any], image: str, target: str, images: tuple[str, ...]) -> None:
    """Refuse an image off the operator's list or a target that is not a container."""
    if image not in images:
        offered = ", ".join(images) or "none"
        raise errors.BadRequest(
            f"image {image!r} is not offered for debugging (offered: {offered})"
        )
    if target and target not in app_containers(pod):
        names = ", ".join(app_containers(pod))
        raise errors.BadRequest(f"pod has no container {target!r} to target; it has {names}")


async def add(
    cluster: Cluster,
    credentials: Credentials | None,
    namespace: str,
    pod: dict[str, Any],
    *,
    image: str,
    target: str,
) -> str:
    """Add the debug container; its name. RBAC refusals raise ApiError (403)."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    cname = container_name(all_names(pod))
    # A strategic merge patch adds to ephemeralContainers (merge key: name), as kubectl does.
    body = {"spec": {"ephemeralContainers": [ephemeral_container(cname, image, target)]}}
    await cluster.client.request(
        "PATCH",
        f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}"
        "/ephemeralcontainers",
        credentials=credentials,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
        verb="patch",
        resource="pods/ephemeralcontainers",
        namespace=namespace,
    )
    return cname
