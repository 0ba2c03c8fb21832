"""TLS contexts for API servers, built from in-memory kubeconfig data.

Python's ssl module loads client certificates only from files, so the PEM data
is written to a private temporary directory (mode 0700, files 0600) just long
enough to load it, then removed.

A certificate that does not hold the name asked for gets a message naming the
kubeconfig's ``tls-server-name``, the fix OpenSSL's own text never mentions.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from urllib.parse import urlsplit

from kubelantern.clusters.kubeconfig import ClusterConfig


def make_ssl_context(
    *,
    ca_data: bytes | None,
    insecure: bool,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
) -> ssl.SSLContext:
    """A client-side context that trusts ca_data (or the system store)."""
    if insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_data:
        ctx = ssl.create_default_context(cadata=ca_data.decode("ascii", "replace"))
    else:
        ctx = ssl.create_default_context()
    if client_cert and client_key:
        with tempfile.TemporaryDirectory(prefix="kubelantern-tls-") as tmp:
            os.chmod(tmp, 0o700)
            cert_path = os.path.join(tmp, "client.crt")
            key_path = os.path.join(tmp, "client.key")
            for path, data in ((cert_path, client_cert), (key_path, client_key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            ctx.load_cert_chain(cert_path, key_path)
    return ctx


def _tls_mismatch(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate-name failure behind a transport error, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) and current.verify_code in (
            _X509_HOSTNAME_MISMATCH,
            _X509_IP_ADDRESS_MISMATCH,
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_X509_HOSTNAME_MISMATCH = 62
_X509_IP_ADDRESS_MISMATCH = 64


def tls_name_hint(config: ClusterConfig, exc: BaseException) -> str | None:
    """A message for a certificate that does not name the host we asked for, else None.

    Such a cluster is reached by an address its certificate does not hold; the
    fix is a kubeconfig setting, which the bare OpenSSL text never mentions.
    """
    mismatch = _tls_mismatch(exc)
    if mismatch is None:
        return None
    host = urlsplit(config.server).hostname or config.server
    asked = config.tls_server_name or host
    where = "tls-server-name" if config.tls_server_name else "the server address"
    advice = (
        "check that tls-server-name in the kubeconfig is a name the certificate holds"
        if config.tls_server_name
        else "if the cluster is reached through a tunnel, proxy or another address, set "
        "tls-server-name in the kubeconfig's cluster entry to a name the certificate holds"
    )
    return (
        f"TLS name mismatch: the API server's certificate is not valid for {asked!r} "
        f"({where}); {advice} ({mismatch.verify_message})"
    )
