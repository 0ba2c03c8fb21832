"""Where a cluster added from the UI may point: no loopback, metadata or private network.

An added cluster makes *the server* connect somewhere, every 30 s, and report
what answered. Without limits that is server-side request forgery: the cloud
metadata service (169.254.169.254), the pod's own network, services bound to
127.0.0.1. So every address a server name resolves to is put in a class, and
the classes the operator did not allow (``--added-cluster-allow``) are refused:

* ``loopback``: 127.0.0.0/8, ::1, and the unspecified 0.0.0.0 / :: (which
  reach this machine too);
* ``link-local``: 169.254.0.0/16 and fe80::/10 (the metadata services of AWS,
  GCP and Azure live there), plus the metadata addresses outside it
  (Azure's 168.63.129.16, AWS's fd00:ec2::254, Alibaba's 100.100.100.200);
* ``private``: every other address that is not globally routable (RFC 1918,
  carrier-grade NAT 100.64.0.0/10 that many pod networks use, unique local
  fc00::/7, multicast, reserved ranges).

IPv4 addresses wrapped in IPv6 (``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``,
6to4) are judged by the IPv4 address inside. Checking the name once when it is
added is not enough (DNS rebinding: the name may resolve elsewhere later), so
``GuardedBackend`` checks again at every connection and connects to the very
address it checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ADDRESS_CLASSES = ("loopback", "link-local", "private")

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("168.63.129.16", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(ValueError):
    """A server address an added cluster may not use; the message says which and why."""


def _unwrap(addr: IPAddress) -> IPAddress:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr in _NAT64:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if addr.sixtofour is not None:
            return addr.sixtofour
    return addr


def address_class(addr: IPAddress) -> str | None:
    """``loopback``, ``link-local``, ``private``, or None for a public address."""
    addr = _unwrap(addr)
    if addr.is_loopback or addr.is_unspecified:
        return "loopback"
    if addr.is_link_local or addr in _METADATA:
        return "link-local"
    if addr.is_multicast or addr.is_reserved or not addr.is_global:
        return "private"
    return None


def check_addresses(host: str, addresses: Iterable[str], allow: frozenset[str]) -> None:
    """Refuse if any address of ``host`` is in a class not in ``allow``."""
    for raw in addresses:
        try:
            addr = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError as exc:
            raise AddressRefused(f"{host} resolved to {raw!r}, not an IP address") from exc
        kind = address_class(addr)
        if kind is not None and kind not in allow:
            where = host if host == str(addr) else f"{host} ({addr})"
            raise AddressRefused(
                f"{where} is a {kind} address; clusters added from the UI may not use "
                f"{kind} addresses here (the operator can allow them with "
                f"--added-cluster-allow {kind})"
            )


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _host_port(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    host = parsed.host
    if not host:
        raise AddressRefused(f"{url!r} names no host")
    return host, parsed.port or (443 if parsed.scheme in ("https", "wss") else 80)


def check_url(url: str, allow: frozenset[str]) -> None:
    """Resolve the host of ``url`` (before any connection) and check every address."""
    if set(ADDRESS_CLASSES) <= allow:
        return
    host, port = _host_port(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    check_addresses(host, [str(info[4][0]) for info in infos], allow)


async def resolve_checked(url: str, allow: frozenset[str]) -> str:
    """One checked address of the host of ``url``, to connect to instead of the name."""
    host, port = _host_port(url)
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    check_addresses(host, addresses, allow)
    return addresses[0]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (never the name again).

    TLS still verifies the certificate against the URL's host name: httpcore
    passes that name for SNI and verification, whatever address it connected to.
    """

    def __init__(self, allow: frozenset[str]) -> None:
        self.allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                address = await resolve_checked(f"https://{_bracket(host)}:{port}", self.allow)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"cannot resolve {host}: timed out") from exc
        except AddressRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("clusters added from the UI cannot use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with ``GuardedBackend`` under its connection pool."""

    def __init__(
        self,
        *,
        ssl_context: Any,
        allow: frozenset[str],
        limits: httpx.Limits | None = None,
        http2: bool = False,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=ssl_context, limits=limits, http2=http2, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            http2=http2,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow),
        )
