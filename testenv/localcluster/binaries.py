"""The Go binaries of the control plane, built once and cached by ``testenv/build``."""

from __future__ import annotations

import os
import subprocess

from .common import Fail
from .layout import TESTENV


def build_dirs() -> dict[str, str]:
    """component -> executable; ``testenv/build`` is a no-op when the cache is warm."""
    r = subprocess.run(
        [os.path.join(TESTENV, "build"), "--print-dir", "k8s", "kwok"],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise Fail("testenv/build k8s kwok failed (see its output above)")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    if len(lines) < 2:
        raise Fail(f"testenv/build --print-dir printed {r.stdout!r}")
    k8s, kwok = lines[-2], lines[-1]
    bins = {
        "etcd": os.path.join(k8s, "etcd"),
        "kube-apiserver": os.path.join(k8s, "kube-apiserver"),
        "kube-controller-manager": os.path.join(k8s, "kube-controller-manager"),
        "kube-scheduler": os.path.join(k8s, "kube-scheduler"),
        "kwok": os.path.join(kwok, "kwok"),
    }
    for comp, b in bins.items():
        if not os.access(b, os.X_OK):
            raise Fail(f"{comp} binary missing after build: {b}")
    return bins
