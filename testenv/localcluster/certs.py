"""The cluster CA and every certificate, made with the openssl CLI (kept across `down`)."""

from __future__ import annotations

import glob
import os
import re
import secrets
import subprocess

from .common import Fail, log, write_file
from .layout import NODES, USERS, Cluster

PKI_VERSION = "1"  # bump to regenerate every cluster's PKI

OPENSSL_CNF = """[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = ${ENV::KL_SAN}
"""


def openssl(*args: str, env: dict[str, str] | None = None) -> str:
    # The config file reads ${ENV::KL_SAN}; it must be set for every invocation.
    env = env or dict(os.environ, KL_SAN="DNS:localhost")
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise Fail(f"openssl {' '.join(args[:2])} failed: {r.stderr.strip()}")
    return r.stdout


def gen_key(path: str) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o600)


def subject(cn: str, orgs: list[str] | tuple[str, ...] = ()) -> str:
    return "".join(f"/O={o}" for o in orgs) + f"/CN={cn}"


def issue_cert(
    pki: str,
    cnf: str,
    base: str,
    cn: str,
    orgs: list[str] | tuple[str, ...] = (),
    kind: str = "client",
    san: str | None = None,
) -> None:
    """``<base>.key`` and ``<base>.crt`` signed by the cluster CA (kind: client or server)."""
    key, crt, csr = (os.path.join(pki, f"{base}.{x}") for x in ("key", "crt", "csr"))
    gen_key(key)
    openssl("req", "-new", "-config", cnf, "-key", key, "-subj", subject(cn, orgs), "-out", csr)
    env = dict(os.environ, KL_SAN=san or "DNS:localhost")
    openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        os.path.join(pki, "ca.crt"),
        "-CAkey",
        os.path.join(pki, "ca.key"),
        "-set_serial",
        "0x" + secrets.token_hex(16),
        "-days",
        "3650",
        "-sha256",
        "-extfile",
        cnf,
        "-extensions",
        kind,
        "-out",
        crt,
        env=env,
    )
    os.unlink(csr)


CERTS: list[tuple[str, str, list[str], str, str | None]] = [  # base name, CN, O, kind, SAN
    (
        "apiserver",
        "kube-apiserver",
        [],
        "server",
        "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
        "DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1",
    ),
    (
        "kwok-serving",
        "kwok",
        [],
        "server",
        "IP:127.0.0.1,DNS:localhost," + ",".join(f"DNS:{n}" for n in NODES),
    ),
    ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", [], "client", None),
    ("kube-controller-manager", "system:kube-controller-manager", [], "client", None),
    ("kube-scheduler", "system:kube-scheduler", [], "client", None),
    ("kwok", "kwok-controller", ["system:masters"], "client", None),
] + [(f"user-{u}", cn, orgs, "client", None) for u, (cn, orgs) in USERS.items()]


def ensure_pki(c: Cluster) -> None:
    """The CA, the component and user certificates and the ServiceAccount key; reused if there."""
    os.makedirs(c.pki, exist_ok=True)
    os.chmod(c.pki, 0o700)
    version_file = os.path.join(c.pki, "VERSION")
    have_ca = all(os.path.exists(os.path.join(c.pki, f)) for f in ("ca.crt", "ca.key"))
    same_version = False
    if os.path.exists(version_file):
        with open(version_file) as f:
            same_version = f.read().strip() == PKI_VERSION
    cnf = os.path.join(c.pki, "openssl.cnf")
    write_file(cnf, OPENSSL_CNF)
    if not (have_ca and same_version):
        for old in glob.glob(os.path.join(c.pki, "*")):
            if old != cnf:
                os.unlink(old)
        log("generating CA and certificates")
        gen_key(os.path.join(c.pki, "ca.key"))
        openssl(
            "req",
            "-x509",
            "-new",
            "-config",
            cnf,
            "-extensions",
            "v3_ca",
            "-key",
            os.path.join(c.pki, "ca.key"),
            "-subj",
            f"/CN=kubelantern-{c.name}-ca",
            "-days",
            "3650",
            "-sha256",
            "-out",
            os.path.join(c.pki, "ca.crt"),
        )
    for base, cn, orgs, kind, san in CERTS:
        if not (
            os.path.exists(os.path.join(c.pki, base + ".crt"))
            and os.path.exists(os.path.join(c.pki, base + ".key"))
        ):
            issue_cert(c.pki, cnf, base, cn, orgs, kind, san)
    sa_key = os.path.join(c.pki, "sa.key")
    if not os.path.exists(sa_key) or not os.path.exists(os.path.join(c.pki, "sa.pub")):
        gen_key(sa_key)
        openssl("pkey", "-in", sa_key, "-pubout", "-out", os.path.join(c.pki, "sa.pub"))
    write_file(version_file, PKI_VERSION + "\n")


def tls_pair(c: Cluster, hosts: str) -> tuple[bytes, bytes]:
    """A serving certificate and key for comma-separated ``hosts`` (seed TLS Secrets), cached."""
    base = "seed-tls-" + re.sub(r"[^a-z0-9.-]", "_", hosts.split(",")[0])
    crt = os.path.join(c.pki, base + ".crt")
    if not os.path.exists(crt):
        issue_cert(
            c.pki,
            os.path.join(c.pki, "openssl.cnf"),
            base,
            hosts.split(",")[0],
            [],
            "server",
            ",".join(f"DNS:{h}" for h in hosts.split(",")),
        )
    with open(crt, "rb") as f1, open(os.path.join(c.pki, base + ".key"), "rb") as f2:
        return f1.read(), f2.read()
