"""The answer for a path under ``/c/{cluster}/`` that no route of ``kubelantern.urls`` has."""

from __future__ import annotations

from starlette.requests import Request

from kubelantern import errors, urls


def no_page(request: Request) -> errors.KubelanternError:
    """404 for a path no route has; 405 when a route has it for the other method.

    Not 400: nothing in such a path is malformed, there is just no such page
    (a typo, or a sub-page that does not exist).
    """
    path = request.url.path
    other = "GET" if request.method == "POST" else "POST"
    if urls.parse_in_cluster(request.path_params["cluster"], request.path_params["rest"], other):
        return errors.MethodNotAllowed(f"{path} does not answer {request.method}")
    return errors.NoSuchPage(
        f"No page at {path}. Addresses follow the Kubernetes API: the cluster, then "
        "namespaces/<namespace>/ for namespaced kinds, then <resource>, /<name>, /<page>."
    )
