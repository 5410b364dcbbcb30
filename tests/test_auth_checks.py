"""The auth building blocks: HMAC signatures on raw bytes and the IP allow-list."""

import base64
import hashlib
import hmac
import ipaddress
import json

import pytest

from flux_recon import (
    AuthContext,
    AuthFailure,
    BodyFieldSignature,
    CredentialValue,
    HeaderHmac,
    IpAllowlist,
    WebhookRequest,
    secret_of,
)
from flux_recon_core.provider import CoreProvider
from tests.conftest import core_signature

BODY = json.dumps({"transactionRef": "TRX-1", "amount": "100.00"}).encode()
CREDENTIAL = CredentialValue(id=7, name="api", secret="fs_secret", key="fk_key")
CONTEXT = AuthContext(client_ip=ipaddress.ip_address("127.0.0.1"), credentials=(CREDENTIAL,))
CORE_SIGNATURE = CoreProvider.auth[1]


def signed(body, signature):
    return WebhookRequest(body=body, headers={"Signature": signature})


def test_core_signature_with_the_api_secret_verifies():
    assert CORE_SIGNATURE.verify(signed(BODY, core_signature(BODY, "fs_secret")), CONTEXT) == CREDENTIAL


def test_core_signature_with_key_colon_secret_verifies():
    signature = core_signature(BODY, "fs_secret", key="fk_key")
    assert CORE_SIGNATURE.verify(signed(BODY, signature), CONTEXT) == CREDENTIAL


def test_any_active_credential_verifies_and_is_reported():
    second = CredentialValue(id=8, name="api", secret="fs_other", key="fk_other")
    context = AuthContext(client_ip=CONTEXT.client_ip, credentials=(CREDENTIAL, second))
    assert CORE_SIGNATURE.verify(signed(BODY, core_signature(BODY, "fs_other")), context) == second


@pytest.mark.parametrize(
    "signature",
    [
        core_signature(BODY, "wrong_secret"),
        core_signature(BODY, "fs_secret", key="wrong_key"),
        core_signature(BODY + b" ", "fs_secret"),
        "",
        "not base64 at all ✓",
    ],
    ids=["wrong-key", "wrong-key-form", "tampered-body", "empty", "garbage"],
)
def test_bad_signatures_are_refused(signature):
    with pytest.raises(AuthFailure) as failure:
        CORE_SIGNATURE.verify(signed(BODY, signature), CONTEXT)
    assert failure.value.status == 401
    assert failure.value.verdict == "rejected_signature"


def test_tampered_body_with_the_original_signature_is_refused():
    signature = core_signature(BODY, "fs_secret")
    tampered = BODY.replace(b"100.00", b"900.00")
    with pytest.raises(AuthFailure, match="does not match"):
        CORE_SIGNATURE.verify(signed(tampered, signature), CONTEXT)


def test_missing_signature_header_is_refused():
    with pytest.raises(AuthFailure, match="missing signature"):
        CORE_SIGNATURE.verify(WebhookRequest(body=BODY, headers={}), CONTEXT)


def test_required_signature_without_any_credential_is_refused():
    context = AuthContext(client_ip=CONTEXT.client_ip, credentials=())
    with pytest.raises(AuthFailure, match="no credential"):
        CORE_SIGNATURE.verify(signed(BODY, core_signature(BODY, "fs_secret")), context)


def test_optional_signature_is_enforced_only_once_a_secret_is_set():
    check = HeaderHmac("monnify-signature", "sha512", "hex", keys=secret_of("client_secret"), required=False)
    unset = AuthContext(client_ip=CONTEXT.client_ip, credentials=())
    assert check.verify(WebhookRequest(body=BODY, headers={}), unset) is None

    secret = CredentialValue(id=3, name="client_secret", secret="mnfy")
    context = AuthContext(client_ip=CONTEXT.client_ip, credentials=(secret,))
    good = hmac.new(b"mnfy", BODY, hashlib.sha512).hexdigest().upper()  # hex compares case-insensitively
    assert check.verify(WebhookRequest(body=BODY, headers={"Monnify-Signature": good}), context) == secret
    with pytest.raises(AuthFailure):
        check.verify(WebhookRequest(body=BODY, headers={}), context)


def test_body_field_signature_over_a_template():
    def message(payload):
        return f"{payload['transactionRef']}|{payload['amount']}".encode()

    check = BodyFieldSignature("sha512", "sha3_512", message=message, keys=secret_of("secret_key"))
    secret = CredentialValue(id=4, name="secret_key", secret="opay-key")
    context = AuthContext(client_ip=CONTEXT.client_ip, credentials=(secret,))
    payload = {"transactionRef": "T1", "amount": "10.00"}
    payload["sha512"] = hmac.new(b"opay-key", b"T1|10.00", hashlib.sha3_512).hexdigest()
    assert check.verify(WebhookRequest(body=json.dumps(payload).encode()), context) == secret
    payload["amount"] = "99.00"
    with pytest.raises(AuthFailure):
        check.verify(WebhookRequest(body=json.dumps(payload).encode()), context)


def test_base64_header_signature_uses_standard_alphabet():
    digest = hmac.new(b"k", BODY, hashlib.sha256).digest()
    check = HeaderHmac("X-Sig", keys=secret_of("api"))
    context = AuthContext(client_ip=CONTEXT.client_ip, credentials=(CredentialValue(1, "api", "k"),))
    assert check.verify(WebhookRequest(BODY, {"X-Sig": base64.b64encode(digest).decode()}), context)


def allowlist_context(client, *networks):
    return AuthContext(
        client_ip=ipaddress.ip_address(client), allowlist=tuple(ipaddress.ip_network(n) for n in networks)
    )


@pytest.mark.parametrize(
    ("client", "networks"),
    [
        ("35.242.133.146", ["35.242.133.146/32"]),
        ("10.1.2.3", ["10.0.0.0/8"]),
        ("2001:db8::5", ["2001:db8::/32"]),
        ("::ffff:192.0.2.7", ["192.0.2.0/24"]),
        ("192.0.2.7", ["2001:db8::/32", "192.0.2.7/32"]),
    ],
)
def test_allowlist_admits_addresses_inside_its_networks(client, networks):
    assert IpAllowlist().verify(WebhookRequest(BODY), allowlist_context(client, *networks)) is None


@pytest.mark.parametrize(
    ("client", "networks"),
    [
        ("35.242.133.147", ["35.242.133.146/32"]),
        ("11.0.0.1", ["10.0.0.0/8"]),
        ("2001:db9::1", ["2001:db8::/32"]),
        ("127.0.0.1", []),
    ],
    ids=["neighbour", "outside-cidr", "ipv6-outside", "empty-list-admits-nobody"],
)
def test_allowlist_refuses_everyone_else_with_403(client, networks):
    with pytest.raises(AuthFailure) as failure:
        IpAllowlist().verify(WebhookRequest(BODY), allowlist_context(client, *networks))
    assert failure.value.status == 403
    assert failure.value.verdict == "rejected_address"


def test_signature_comparison_is_constant_time(monkeypatch):
    """The comparison goes through hmac.compare_digest, never ==."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("flux_recon.providers.auth.hmac.compare_digest", spy)
    CORE_SIGNATURE.verify(signed(BODY, core_signature(BODY, "fs_secret")), CONTEXT)
    assert calls, "signature was not compared with hmac.compare_digest"
