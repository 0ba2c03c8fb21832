"""Who may add, rename, remove and share clusters from the UI, and whose view is whose.

Adding a cluster makes the server run, read and connect on a person's say, so
it is an operator's decision (``--add-clusters``), and even where it is on
only the people the operator names in ``--cluster-admins`` may do it: user
names as the sign-in names them, ``group:NAME`` for a group, ``*`` for
everyone who gets in (only for a server nobody else can reach). Desktop mode's
lone user (who holds the per-run key) is always a cluster admin.

A person is named by the trusted sign-in proxy (the user header, before any
``--impersonate-user-prefix``), by Kubelantern's own OIDC login (the user and
groups of the ID token), or by the token-form sign-in (the user the API
server reported for that token). Without any, the request is anonymous.

``ViewerMiddleware`` puts the answer in ``clusters.visibility.current_viewer``
for the rest of the request, so the cluster store shows each person only the
clusters they may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from kubelantern.auth.identity import RequestAuth
from kubelantern.clusters.visibility import Viewer, current_viewer

DESKTOP_USER = "desktop"


@dataclass(frozen=True)
class Person:
    name: str
    groups: tuple[str, ...] = ()


def person_of(auth: RequestAuth | None) -> Person | None:
    """The signed-in person of a request (see the module doc), or None."""
    if auth is None:
        return None
    if auth.proxy is not None and auth.proxy.user:
        return Person(auth.proxy.user, tuple(auth.proxy.groups))
    oidc = auth.oidc_tokens()
    if oidc and oidc.get("user"):
        groups = oidc.get("groups") or []
        return Person(str(oidc["user"]), tuple(str(g) for g in groups if isinstance(g, str)))
    session = auth.session or {}
    if session.get("token") and isinstance(session.get("user"), str) and session["user"]:
        return Person(str(session["user"]))
    return None


class AdminRule:
    """``--cluster-admins`` as a predicate."""

    def __init__(self, entries: Iterable[str], *, desktop: bool) -> None:
        self.desktop = desktop
        entries = [e.strip() for e in entries if e.strip()]
        self.everyone = "*" in entries
        self.groups = frozenset(e[len("group:") :] for e in entries if e.startswith("group:"))
        self.users = frozenset(e for e in entries if not e.startswith("group:") and e != "*")

    @property
    def names_anyone(self) -> bool:
        return self.desktop or self.everyone or bool(self.users or self.groups)

    def viewer(self, person: Person | None) -> Viewer:
        if self.desktop:
            return Viewer(person=DESKTOP_USER, admin=True)
        if person is None:
            return Viewer(person=None, admin=self.everyone)
        admin = (
            self.everyone
            or person.name in self.users
            or any(g in self.groups for g in person.groups)
        )
        return Viewer(person=person.name, admin=admin)


class ViewerMiddleware:
    """Sets ``current_viewer`` for each request (inside ``AuthMiddleware``)."""

    def __init__(self, app: ASGIApp, rule: AdminRule) -> None:
        self.app = app
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        auth = scope.get("kl_auth")
        viewer = self.rule.viewer(person_of(auth if isinstance(auth, RequestAuth) else None))
        token = current_viewer.set(viewer)
        try:
            await self.app(scope, receive, send)
        finally:
            current_viewer.reset(token)


def viewer(request: HTTPConnection) -> Viewer:
    """The viewer of this request (set by ``ViewerMiddleware``)."""
    return current_viewer.get()
