"""The client address: the socket peer, unless a trusted proxy forwarded the request."""

import ipaddress

from flux_recon.web.client_ip import client_ip, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


def ip(text):
    return ipaddress.ip_address(text)


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_ip("203.0.113.9", "35.242.133.146", ()) == ip("203.0.113.9")


def test_forged_forwarded_for_from_an_untrusted_peer_changes_nothing():
    assert client_ip("203.0.113.9", "35.242.133.146", PROXIES) == ip("203.0.113.9")


def test_trusted_proxy_forwards_the_rightmost_untrusted_address():
    # The client may prepend anything; only what our proxies appended is believed.
    assert client_ip("10.0.0.5", "1.1.1.1, 35.242.133.146, 10.0.0.7", PROXIES) == ip("35.242.133.146")


def test_garbled_hop_stops_the_chain():
    assert client_ip("10.0.0.5", "35.242.133.146, not-an-ip", PROXIES) == ip("10.0.0.5")


def test_ipv4_mapped_peer_is_read_as_ipv4():
    assert client_ip("::ffff:203.0.113.9", None, ()) == ip("203.0.113.9")


def test_trusted_proxies_accept_a_comma_separated_string():
    assert parse_networks("10.0.0.0/8, 192.168.1.1") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
    )
