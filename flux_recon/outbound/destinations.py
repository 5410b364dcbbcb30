"""The SSRF guard: where an outbound webhook may be sent, decided on the resolved address."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

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

    @property
    def host_header(self) -> str:
        """The Host header naming ``hostname`` (bracketed when IPv6), with a port that is not the scheme's own."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"

    def pool(self, *, timeout=None, maxsize: int = 1):
        """A urllib3 pool that connects to the vetted ``address`` (never a new DNS answer) and,
        over TLS, presents ``hostname`` and requires a certificate naming it."""
        if self.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                self.address,
                self.port,
                timeout=timeout,
                maxsize=maxsize,
                server_hostname=self.hostname,
                assert_hostname=self.hostname,
                cert_reqs="CERT_REQUIRED",
            )
        return urllib3.HTTPConnectionPool(self.address, self.port, timeout=timeout, maxsize=maxsize)


# IPv6 ranges that are never a receiver's address: IPv4-compatible (deprecated, ::/96),
# IPv4-translated (SIIT, ::ffff:0:0:0/96), local-use NAT64 (RFC 8215), site-local (fec0::/10,
# deprecated) and Teredo. Python's is_global admits some of them.
UNROUTED_IPV6 = tuple(
    ipaddress.ip_network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "fec0::/10", "2001::/32")
)
# The well-known NAT64 prefix (RFC 6052) reaches the IPv4 address in its last 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, NAT64 or 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in UNROUTED_IPV6):
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            address = embedded
    # Not globally routable covers private, loopback, link-local, shared (CGNAT), reserved.
    return address in METADATA_ADDRESSES or not address.is_global or address.is_multicast


def check_destination(url: str, *, allow_private: bool, resolve=socket.getaddrinfo) -> Target:
    """Parse, resolve and vet ``url``. Every address the name resolves to must be allowed,
    and the one returned is what the delivery connects to, so a DNS answer that changes
    between the check and the connection (rebinding) cannot redirect it."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an unclosed "[" or a bracketed host that is no IP address
        raise DestinationRefused(f"the URL cannot be read: {error}") from None
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
