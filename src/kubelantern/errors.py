"""Everything that can go wrong, as one exception tree with an HTTP status each.

Pages and their JSON twins render these the same way (``web/errors.py``), so a
user sees a specific message and an API client a proper status, never a trace::

    KubelanternError                 500
    ├── BadRequest                   400  (malformed input of ours)
    │   └── InvalidYaml              400  (a YAML syntax error, with line and column)
    ├── ReadOnly                     403  (a write while the read-only switch is on)
    ├── PayloadTooLarge              413  (a request body over the limit)
    ├── NoSuchPage                   404  (no route has the shape of the path)
    ├── MethodNotAllowed             405  (a route has it, but not for this method)
    ├── UnknownCluster               404
    ├── UnknownResource              404  (no such kind in the cluster's discovery)
    ├── ApiError                     status of the API server's answer
    │   ├── Unauthorized             401  (expired or missing credentials)
    │   ├── Forbidden                403  (RBAC said no: verb + resource named)
    │   ├── NotFound                 404
    │   ├── Conflict                 409
    │   ├── Gone                     410  (resourceVersion too old: relist)
    │   └── Invalid                  422  (validation; causes per field)
    └── ClusterUnavailable           502  (connection refused, TLS, DNS)
        ├── BrokenCluster            502  (this cluster cannot be used as configured)
        │   ├── CredentialsUnavailable    (its exec plugin is missing or fails)
        │   └── KubeconfigBroken          (no server, an unreadable file...)
        └── ClusterTimeout           504  (the cluster is slow)
"""

from __future__ import annotations

from typing import Any


class KubelanternError(Exception):
    """Base of every error we render for the user."""

    status = 500
    title = "Something went wrong"

    def __init__(self, message: str, *, cluster: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cluster = cluster

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "reason": type(self).__name__,
            "title": self.title,
            "message": self.message,
        }
        if self.cluster:
            data["cluster"] = self.cluster
        return data


class BadRequest(KubelanternError):
    status = 400
    title = "Bad request"


class InvalidYaml(BadRequest):
    """YAML the parser refused; ``line``/``column`` are 1-based, for the editor's marker."""

    title = "Invalid YAML"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.line is not None:
            data["line"] = self.line
            data["column"] = self.column
        return data


class ReadOnly(KubelanternError):
    """Refused by Kubelantern itself, not RBAC: the operator switched writes off."""

    status = 403
    title = "Read-only"


class PayloadTooLarge(KubelanternError):
    status = 413
    title = "Request too large"


class NoSuchPage(KubelanternError):
    """No route of ``kubelantern.urls`` has the shape of the path: a typo, not bad input."""

    status = 404
    title = "Page not found"


class MethodNotAllowed(KubelanternError):
    status = 405
    title = "Method not allowed"


class UnknownCluster(KubelanternError):
    status = 404
    title = "Unknown cluster"


class UnknownResource(KubelanternError):
    status = 404
    title = "Unknown kind"


class ClusterUnavailable(KubelanternError):
    status = 502
    title = "Cluster unreachable"


class BrokenCluster(ClusterUnavailable):
    """A cluster that cannot be used as configured: that one is broken, the others work."""

    status = 502
    title = "Cluster configuration broken"


class CredentialsUnavailable(BrokenCluster):
    """The cluster's own credentials could not be made (an exec plugin that is
    missing or fails)."""

    title = "Credentials unavailable"


class KubeconfigBroken(BrokenCluster):
    """Its kubeconfig context cannot be used (no server, an unreadable file...)."""

    title = "Kubeconfig context broken"


class ClusterTimeout(ClusterUnavailable):
    status = 504
    title = "Cluster too slow"


class ApiError(KubelanternError):
    """An error status answered by the API server, with its Status object."""

    title = "The API server refused the request"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        reason: str = "",
        details: dict[str, Any] | None = None,
        cluster: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
    ) -> None:
        super().__init__(message, cluster=cluster)
        self.status = status
        self.api_reason = reason
        self.details = details or {}
        self.verb = verb
        self.resource = resource
        self.namespace = namespace

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.api_reason:
            data["apiReason"] = self.api_reason
        for key in ("verb", "resource", "namespace"):
            value = getattr(self, key)
            if value:
                data[key] = value
        causes = self.details.get("causes")
        if causes:
            data["causes"] = causes
        return data


class Unauthorized(ApiError):
    title = "Your credentials were not accepted"


class Forbidden(ApiError):
    title = "Forbidden"


class NotFound(ApiError):
    title = "Not found"


class Conflict(ApiError):
    title = "Conflict"


class Gone(ApiError):
    title = "Expired"


class Invalid(ApiError):
    title = "Invalid"


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def api_error_for(status: int) -> type[ApiError]:
    """The exception class for an API server status code."""
    return _BY_STATUS.get(status, ApiError)
