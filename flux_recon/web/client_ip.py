"""The client address of a webhook: the socket peer, or X-Forwarded-For behind a trusted proxy."""

from __future__ import annotations

import ipaddress

from flux_recon.providers.auth import IPAddress, IPNetwork, normalize_ip


def parse_networks(value) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES as configured: a list of CIDRs or one comma-separated string."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def client_ip(peer: str, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]) -> IPAddress:
    """Only when the peer is a trusted proxy is X-Forwarded-For read, right to left,
    and the first address that is not itself a trusted proxy is the client. Anyone can
    write that header, so from an untrusted peer it changes nothing."""
    address = normalize_ip(ipaddress.ip_address(peer))
    if not trusted or not _is_trusted(address, trusted) or not forwarded_for:
        return address
    for hop in reversed(forwarded_for.split(",")):
        try:
            hop_address = normalize_ip(ipaddress.ip_address(hop.strip()))
        except ValueError:
            # A garbled hop: stop believing the chain here rather than skip past it.
            return address
        if not _is_trusted(hop_address, trusted):
            return hop_address
        address = hop_address
    return address


def _is_trusted(address: IPAddress, trusted: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in trusted)


def from_trusted_proxy(peer: str, trusted: tuple[IPNetwork, ...]) -> bool:
    """Whether the socket peer is one of the proxies whose forwarded headers are believed."""
    try:
        return _is_trusted(normalize_ip(ipaddress.ip_address(peer)), trusted)
    except ValueError:
        return False
