"""The SSRF guard: where an outbound webhook may be sent, decided on the resolved address."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

# Cloud metadata services answer on these even where they look "public".
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class DestinationRefused(ValueError):
    """The URL may not receive webhooks (its reason is shown to the merchant)."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to ``address``, present ``hostname`` (Host, TLS SNI)."""

    scheme: str
    hostname: str
    address: str
    port: int
    path: str


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Not globally routable covers private, loopback, link-local, shared (CGNAT), reserved.
    return address in METADATA_ADDRESSES or not address.is_global or address.is_multicast


def check_destination(url: str, *, allow_private: bool, resolve=socket.getaddrinfo) -> Target:
    """Parse, resolve and vet ``url``. Every address the name resolves to must be allowed,
    and the one returned is what the delivery connects to, so a DNS answer that changes
    between the check and the connection (rebinding) cannot redirect it."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused("the URL must be https://host/... (or http:// for an allowed private destination)")
    if parts.username or parts.password:
        raise DestinationRefused("put credentials in the subscription's authentication, not in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused("the URL's port is not a number from 1 to 65535") from None
    try:
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise DestinationRefused(f"{parts.hostname} does not resolve to an address") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    private = [a for a in addresses if _is_private(a)]
    if private and not allow_private:
        raise DestinationRefused(
            f"{parts.hostname} resolves to a private, loopback, link-local or metadata address ({private[0]}); "
            "such destinations are refused unless the operator sets ALLOW_PRIVATE_DESTINATIONS"
        )
    if parts.scheme == "http" and not private:
        raise DestinationRefused("public destinations must use https")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, str(addresses[0]), port, path)
