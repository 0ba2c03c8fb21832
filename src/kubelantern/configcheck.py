"""``kubelantern config check``: a config file and the settings it makes, tried as ``serve`` would.

It reads kubeconfigs and builds the auth config, so it sits above ``settings``,
``configfile``, ``auth`` and ``clusters`` (beside ``app``); the file reader
itself stays at the bottom (``kubelantern.configfile``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubelantern.auth.admins import AdminRule
from kubelantern.auth.config import AuthConfigError, from_settings
from kubelantern.clusters.addpolicy import AddPolicy, AddPolicyError
from kubelantern.clusters.incluster import in_cluster_config
from kubelantern.clusters.kubeconfig import KubeconfigError, load_files
from kubelantern.configfile import read
from kubelantern.settings import (
    ENV_PREFIX,
    OPTIONS,
    Settings,
    SettingsError,
    listen_problem,
    resolve,
)

_BY_NAME = {o.name: o for o in OPTIONS}


def check(settings: Settings) -> list[str]:
    """What stops these (resolved) settings from working here; empty when all is well.

    Beyond the file's own keys and types, this tries what ``serve`` does at
    start: read every kubeconfig, find the in-cluster ServiceAccount, and build
    the auth config (impersonate or bearer without a trusted proxy, unreadable
    secret files, incomplete OIDC).
    """
    problems: list[str] = []
    listen = listen_problem(settings.listen)
    if listen:
        problems.append(f"listen: {listen}")
    if settings.base_url and not settings.prefix.startswith("/"):
        problems.append(f"base_url: {settings.base_url!r} must be a path such as /kubelantern")
    paths = list(settings.kubeconfig) if settings.kubeconfig else []
    if not paths and not settings.in_cluster:
        paths = settings.kubeconfig_paths()
        if not paths:
            problems.append(
                "no clusters: set kubeconfig, or in_cluster when running in a pod "
                "(and there is no $KUBECONFIG or ~/.kube/config here)"
            )
    if paths:
        try:
            load_files(paths, context=settings.context)
        except KubeconfigError as exc:
            problems.append(f"kubeconfig: {exc}")
    if settings.in_cluster:
        try:
            in_cluster_config()
        except KubeconfigError as exc:
            problems.append(f"in_cluster: {exc}")
    try:
        from_settings(settings)
    except AuthConfigError as exc:
        problems.append(f"auth: {exc}")
    problems += _adding_problems(settings)
    return problems


def _adding_problems(settings: Settings) -> list[str]:
    """Adding clusters from the UI, as ``kubelantern serve`` would check it at start."""

    problems = []
    try:
        AddPolicy.from_settings(settings, desktop=False)
    except AddPolicyError as exc:
        problems.append(f"added_cluster_allow: {exc}")
    if (
        settings.add_clusters == "on"
        and not AdminRule(settings.cluster_admins, desktop=False).names_anyone
    ):
        problems.append(
            "add_clusters: on needs cluster_admins (the users, or group:NAME, who may add)"
        )
    return problems


def check_file(path: str | None, environ: Mapping[str, str]) -> tuple[Settings | None, list[str]]:
    """``kubelantern config check``: every problem of the file and of the settings it makes.

    Problems in the file's keys do not hide the others: the valid keys are
    still resolved (under the env vars, as ``serve`` would) and checked.
    """
    env = {k: v for k, v in environ.items() if k != ENV_PREFIX + "CONFIG"}
    problems: list[str] = []
    values: dict[str, Any] = {}
    if path:
        loaded = read(path, OPTIONS)
        problems += loaded.problems
        values = loaded.values
    try:
        base = resolve(None, environ=env)
    except SettingsError as exc:  # a bad KUBELANTERN_* variable
        return None, [*problems, exc.message.removeprefix("kubelantern: ")]
    overrides = {k: v for k, v in values.items() if _BY_NAME[k].env not in env}
    known = {f.name for f in dataclasses.fields(Settings)}
    resolved = dataclasses.replace(
        base, config=path, **{k: v for k, v in overrides.items() if k in known}
    )
    return resolved, problems + check(resolved)
