"""What every request handler can reach: settings, clusters, templates."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from starlette.requests import Request

from kubelantern.clusters.store import ClusterStore
from kubelantern.settings import Settings


@dataclass
class AppState:
    settings: Settings
    clusters: ClusterStore
    jinja: Environment


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.kl
    return state
