"""Where a webhook may point: public HTTP(S) addresses only, so an endpoint cannot be used to
reach the deployment's own network (loopback, private ranges, link-local, cloud metadata).

The rule is applied when an endpoint is saved (a literal address or a name that resolves to
a refused address is a field error) and again on every delivery, on the socket actually
connected: a name that resolved to a public address when saved and to 127.0.0.1 later (DNS
rebinding) is refused before a byte is sent. `WEBHOOK_ALLOWED_HOSTS` names hosts exempted
on purpose (a receiver inside the network).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

SCHEMES = ("http", "https")


def host_is_allowed(host: str) -> bool:
    allowed = {h.strip().lower() for h in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", [])}
    return host.strip("[]").lower() in allowed


def address_is_refused(address: str) -> bool:
    """Anything but a globally routable unicast address: loopback, private, link-local (cloud
    metadata at 169.254.169.254), shared, reserved, multicast, unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def webhook_url_problem(url: str) -> str | None:
    """Why `url` may not receive webhooks, or None. Resolves the host name; a name that does
    not resolve (yet) is accepted here and checked again on delivery."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "url is not a valid URL."
    if parts.scheme.lower() not in SCHEMES:
        return "url must start with http:// or https://."
    host = parts.hostname or ""
    if not host:
        return "url must name a host."
    if host_is_allowed(host):
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"url points at this machine ({host}); webhooks go to public addresses only."
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0])
        if address_is_refused(address):
            return (
                f"url resolves to {address}, a private, loopback or link-local address; "
                "webhooks go to public addresses only."
            )
    return None


class _PeerCheck:
    """Checks the address a socket actually connected to, before the request is sent."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        peer = str(sock.getpeername()[0])
        if address_is_refused(peer) and not host_is_allowed(self.host):
            sock.close()
            raise NewConnectionError(
                self, f"refused: {self.host} resolved to {peer}, not a public address"
            )
        return sock


class _CheckedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def checked_session() -> requests.Session:
    """A session whose every connection is to an allowed address; proxies from the
    environment are ignored (the peer would be the proxy, not the receiver)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _CheckedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
