"""TLS contexts for API servers, built from in-memory kubeconfig data.

Python's ssl module loads client certificates only from files, so the PEM data
is written to a private temporary directory (mode 0700, files 0600) just long
enough to load it, then removed.
"""

from __future__ import annotations

import os
import ssl
import tempfile


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
