"""The generic (no-code) provider: its configuration checked field by field, each verification mode, and the mapping."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from standardwebhooks.webhooks import Webhook

from flux_recon import (
    AuthContext,
    AuthFailure,
    CredentialValue,
    Ignored,
    IpAllowlist,
    NoticeKind,
    NoticeStatus,
    OptionsError,
    PayloadError,
    Unrecognized,
    WebhookRequest,
)
from flux_recon.testing.hostile_input import damaged_samples, json_values, swept_samples
from flux_recon_generic.provider import GenericProvider
from flux_recon_generic.verification import ConfiguredVerification

NOW = 1_795_341_903  # 2026-11-22T10:05:03Z
SECRET = "whk_test_3b9c51"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def configuration(**parts) -> dict:
    config = copy.deepcopy(GenericProvider.sample_configuration())
    for part, changes in parts.items():
        if changes is None:
            config.pop(part)
        elif part == "verification":
            config[part] = changes
        else:
            config[part].update(changes)
    return config


FULL_MAPPING = {
    "occurred_at": "data.paid_at",
    "occurred_at_format": "iso8601",
    "customer_phone": "data.customer.phone",
    "customer_id": "data.customer.id",
    "destination_account": "data.account",
    "method": "card",
}


def errors_of(options) -> dict:
    with pytest.raises(OptionsError) as caught:
        GenericProvider.validate_options(options)
    return caught.value.errors


# -- the configuration, checked when saved -----------------------------------------------


def test_the_sample_configuration_is_valid_and_stable_when_saved_again():
    once = GenericProvider.validate_options(GenericProvider.sample_configuration())
    assert GenericProvider.validate_options(once) == once
    assert json.loads(json.dumps(once)) == once


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ("x", "options", "must be a JSON object"),
        ({}, "mapping", "is required"),
        ({}, "verification", "is required"),
        ({}, "events", "is required"),
        (configuration(verification="hmac"), "verification", "must be a JSON object with a mode"),
        (configuration(verification={}), "verification.mode", "is required"),
        (configuration(verification={"mode": "md5"}), "verification.mode", "must be one of"),
        (configuration(verification={"mode": "hmac"}), "verification.header", "is required"),
        (configuration(verification={"mode": "hmac", "header": "X Sig"}), "verification.header", "header name"),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "algorithm": "md5"}),
            "verification.algorithm",
            "must be one of: sha1, sha256, sha512",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "encoding": "hexa"}),
            "verification.encoding",
            "must be one of: hex, base64",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "prefix": "s" * 51}),
            "verification.prefix",
            "at most 50",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "signed_content": "all"}),
            "verification.signed_content",
            "must be one of: body, timestamp_and_body",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "signed_content": "timestamp_and_body"}),
            "verification.timestamp_header",
            "is required when signed_content is timestamp_and_body",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "tolerance_seconds": 60}),
            "verification.tolerance_seconds",
            "applies only when signed_content is timestamp_and_body",
        ),
        (
            configuration(
                verification={
                    "mode": "hmac",
                    "header": "X-Sig",
                    "signed_content": "timestamp_and_body",
                    "timestamp_header": "X-Ts",
                    "tolerance_seconds": 0,
                }
            ),
            "verification.tolerance_seconds",
            "from 1 to 86400",
        ),
        (
            configuration(
                verification={
                    "mode": "hmac",
                    "header": "X-Sig",
                    "signed_content": "timestamp_and_body",
                    "timestamp_header": "X-Ts",
                    "timestamp_unit": "minutes",
                }
            ),
            "verification.timestamp_unit",
            "must be one of: seconds, milliseconds",
        ),
        (
            configuration(verification={"mode": "hmac", "header": "X-Sig", "secret": "s"}),
            "verification.secret",
            "unknown",
        ),
        (configuration(verification={"mode": "token"}), "verification.header", "is required"),
        (configuration(verification={"mode": "basic"}), "verification.username", "is required"),
        (configuration(verification={"mode": "basic", "username": "a:b"}), "verification.username", "colon"),
        (
            configuration(verification={"mode": "standard_webhooks", "tolerance_seconds": "300"}),
            "verification.tolerance_seconds",
            "whole number",
        ),
        (configuration(verification={"mode": "none", "header": "X"}), "verification.header", "unknown"),
        (configuration(mapping={"amount": None}), "mapping.amount", "must not be null"),
        (configuration(mapping={"amount": "data..amount"}), "mapping.amount", "empty segment"),
        (configuration(mapping={"amount": " data.amount"}), "mapping.amount", "without surrounding spaces"),
        (configuration(mapping={"amount": 7}), "mapping.amount", "must be a string"),
        (configuration(mapping={"amount_unit": "kobo"}), "mapping.amount_unit", "must be one of: major, minor"),
        (configuration(mapping={"currency": None}), "mapping.currency", "exactly one of currency"),
        (configuration(mapping={"currency_value": "NGN"}), "mapping.currency", "exactly one of currency"),
        (configuration(mapping={"currency": None, "currency_value": "XYZ"}), "mapping.currency_value", "unsupported"),
        (configuration(mapping={"status_values": None}), "mapping.status_values", "is required with status"),
        (configuration(mapping={"status": None}), "mapping.status", "is required with status_values"),
        (
            configuration(mapping={"status": None, "status_values": None}),
            "mapping.status",
            "is required: the status's path (with status_values), or fixed_status",
        ),
        (
            configuration(mapping={"fixed_status": "succeeded"}),
            "mapping.fixed_status",
            "give status (with status_values) or fixed_status, not both",
        ),
        (
            configuration(mapping={"status": None, "status_values": None, "fixed_status": "paid"}),
            "mapping.fixed_status",
            "must be one of: succeeded, failed, pending",
        ),
        (configuration(mapping={"status_values": {"ok": "paid"}}), "mapping.status_values.ok", "must be one of"),
        (
            configuration(mapping={"status_values": {"ok": "succeeded", "OK": "failed"}}),
            "mapping.status_values",
            "the same value",
        ),
        (configuration(mapping={"references": "data.reference"}), "mapping.references", "list of dotted paths"),
        (configuration(mapping={"references": ["data..x"]}), "mapping.references.0", "empty segment"),
        (configuration(mapping={"references": ["r"] * 11}), "mapping.references", "at most 10"),
        (configuration(mapping={"occurred_at": "data.paid_at"}), "mapping.occurred_at_format", "is required"),
        (configuration(mapping={"occurred_at_format": "iso8601"}), "mapping.occurred_at", "is required"),
        (
            configuration(mapping={"occurred_at": "t", "occurred_at_format": "rfc2822"}),
            "mapping.occurred_at_format",
            "must be one of: iso8601, epoch_seconds, epoch_milliseconds",
        ),
        (configuration(mapping={"customer_email": ""}), "mapping.customer_email", "dotted path"),
        (configuration(mapping={"method": "cheque"}), "mapping.method", "must be one of"),
        (configuration(mapping={"amount_path": "x"}), "mapping.amount_path", "unknown setting"),
        (configuration(events={"payment": [], "refund": []}), "events.payment", "at least one event type"),
        (configuration(events={"ignored": ["payment.success"]}), "events.ignored", "listed under payment already"),
        (configuration(events={"refund": [""]}), "events.refund.0", "1 to 200 characters"),
        (configuration(events={"payment": "payment.success"}), "events.payment", "list of event types"),
        (configuration(events={"chargeback": ["x"]}), "events.chargeback", "unknown setting"),
    ],
)
def test_every_bad_setting_is_named_with_a_reason(options, field, message):
    errors = errors_of(options)
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors[field]


def test_every_problem_is_named_at_once():
    options = configuration(verification={"mode": "hmac"}, mapping={"amount_unit": None, "currency": None})
    assert {"verification.header", "mapping.amount_unit", "mapping.currency"} <= set(errors_of(options))


def test_defaults_are_filled_in_and_irrelevant_settings_left_out():
    saved = GenericProvider.validate_options(
        configuration(
            verification={
                "mode": "hmac",
                "header": "X-Sig",
                "signed_content": "timestamp_and_body",
                "timestamp_header": "X-Ts",
            },
            mapping={"currency": None, "currency_value": "ngn"},
        )
    )
    assert saved["verification"] == {
        "mode": "hmac",
        "header": "X-Sig",
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "",
        "signed_content": "timestamp_and_body",
        "timestamp_header": "X-Ts",
        "timestamp_unit": "seconds",
        "separator": ".",
        "tolerance_seconds": 300,
    }
    assert saved["mapping"]["currency_value"] == "NGN"
    assert saved["events"]["reversal"] == []


@pytest.mark.parametrize("mode", [["hmac"], {"name": "hmac"}, 7, True, ""])
def test_a_mode_that_is_not_one_of_the_names_is_named(mode):
    errors = errors_of(configuration(verification={"mode": mode}))
    assert errors == {"verification.mode": ["must be one of: none, hmac, token, basic, standard_webhooks"]}


# Every setting the configuration has, in every verification mode: what the sweep damages.
EVERY_SETTING = [
    configuration(mapping=FULL_MAPPING, events={"reversal": ["payment.reversed"]}, verification=verification)
    for verification in (
        {
            "mode": "hmac",
            "header": "X-Sig",
            "algorithm": "sha1",
            "encoding": "base64",
            "prefix": "v1=",
            "signed_content": "timestamp_and_body",
            "timestamp_header": "X-Ts",
            "timestamp_unit": "milliseconds",
            "separator": ".",
            "tolerance_seconds": 60,
        },
        {"mode": "token", "header": "X-Token", "prefix": "Bearer "},
        {"mode": "basic", "username": "platform"},
        {"mode": "standard_webhooks", "tolerance_seconds": 300},
        {"mode": "none"},
    )
] + [configuration(mapping={"status": None, "status_values": None, "fixed_status": "succeeded"})]


def checked_or_named(options) -> None:
    """What saving ``options`` must do: store them (and store the same again), or raise
    OptionsError naming each bad setting. Anything else is a 500 to the merchant."""
    try:
        saved = GenericProvider.validate_options(options)
    except OptionsError as exc:
        assert exc.errors and all(isinstance(k, str) and v and isinstance(v, list) for k, v in exc.errors.items())
        assert all(isinstance(message, str) for messages in exc.errors.values() for message in messages)
        return
    assert GenericProvider.validate_options(saved) == saved


def test_any_json_value_in_place_of_any_setting_is_named_never_a_crash():
    for options in EVERY_SETTING:  # undamaged, each is valid: the sweep reaches every check
        GenericProvider.validate_options(options)
    for options in swept_samples(EVERY_SETTING):
        checked_or_named(options)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(damaged_samples(EVERY_SETTING, json_values()) | json_values())
def test_arbitrary_options_are_named_never_a_crash(options):
    checked_or_named(options)


# -- verification -------------------------------------------------------------------------


class Frozen(GenericProvider):
    """The generic provider with its clock at NOW."""

    auth = (IpAllowlist(), ConfiguredVerification(clock=lambda: NOW))

    def __init__(self):
        super().__init__(clock=lambda: NOW)


def context(options, secret=SECRET, address="192.0.2.1") -> AuthContext:
    credentials = (CredentialValue(id=7, name="secret", secret=secret),) if secret is not None else ()
    return AuthContext(
        client_ip=ipaddress.ip_address(address),
        allowlist=(ipaddress.ip_network("192.0.2.0/24"),),
        credentials=credentials,
        options=options,
    )


def verify(options, body: bytes, headers: dict, **kwargs):
    """Runs Frozen's checks as the pipeline does; returns the credential or raises AuthFailure."""
    options = Frozen.validate_options(options)
    webhook = WebhookRequest(body=body, headers=headers, options=options)
    credential = None
    for check in Frozen.auth:
        credential = check.verify(webhook, context(options, **kwargs)) or credential
    return credential


BODY = json.dumps(GenericProvider.sample_payloads()["payment_success"]).encode()


def hex_mac(key: str, message: bytes, algorithm=hashlib.sha256) -> str:
    return hmac.new(key.encode(), message, algorithm).hexdigest()


def refused(options, body, headers, **kwargs) -> str:
    with pytest.raises(AuthFailure) as caught:
        verify(options, body, headers, **kwargs)
    return caught.value.message


def test_hmac_of_the_body_in_hex():
    options = configuration()
    assert verify(options, BODY, {"X-Signature": hex_mac(SECRET, BODY)}).id == 7
    assert verify(options, BODY, {"x-signature": hex_mac(SECRET, BODY).upper()}).id == 7
    assert "does not match" in refused(options, BODY, {"X-Signature": hex_mac("other", BODY)})
    assert "does not match" in refused(options, BODY + b" ", {"X-Signature": hex_mac(SECRET, BODY)})
    assert "missing signature (header X-Signature)" in refused(options, BODY, {})
    assert "no secret is set" in refused(options, BODY, {"X-Signature": hex_mac(SECRET, BODY)}, secret=None)


@pytest.mark.parametrize(("algorithm", "digest"), [("sha1", hashlib.sha1), ("sha512", hashlib.sha512)])
def test_hmac_in_base64_with_a_prefix(algorithm, digest):
    options = configuration(
        verification={"mode": "hmac", "header": "X-Hub", "algorithm": algorithm, "encoding": "base64", "prefix": "v1="}
    )
    mac = base64.b64encode(hmac.new(SECRET.encode(), BODY, digest).digest()).decode()
    assert verify(options, BODY, {"X-Hub": "v1=" + mac}).id == 7
    assert "does not start with 'v1='" in refused(options, BODY, {"X-Hub": mac})
    # Base64 is case-sensitive: a changed case is another signature.
    assert "does not match" in refused(options, BODY, {"X-Hub": "v1=" + mac.swapcase()})


def timestamped(unit="seconds"):
    return configuration(
        verification={
            "mode": "hmac",
            "header": "X-Sig",
            "signed_content": "timestamp_and_body",
            "timestamp_header": "X-Ts",
            "timestamp_unit": unit,
            "separator": ":",
            "tolerance_seconds": 300,
        }
    )


def test_hmac_of_a_timestamp_and_the_body_refuses_stale_timestamps():
    options = timestamped()

    def headers(stamp):
        return {"X-Ts": str(stamp), "X-Sig": hex_mac(SECRET, f"{stamp}:".encode() + BODY)}

    assert verify(options, BODY, headers(NOW - 299)).id == 7
    assert verify(options, BODY, headers(NOW + 299)).id == 7
    assert "more than 300 seconds from now" in refused(options, BODY, headers(NOW - 301))
    assert "more than 300 seconds from now" in refused(options, BODY, headers(NOW + 301))
    assert "missing timestamp (header X-Ts)" in refused(options, BODY, {"X-Sig": headers(NOW)["X-Sig"]})
    assert "must be a Unix time" in refused(options, BODY, {**headers(NOW), "X-Ts": "1.5e9"})
    # The timestamp is signed: a fresh one on an old signature does not pass.
    old = headers(NOW - 100)
    assert "does not match" in refused(options, BODY, {**old, "X-Ts": str(NOW)})


def test_a_timestamp_in_milliseconds():
    options = timestamped("milliseconds")
    stamp = NOW * 1000 - 5
    signed = {"X-Ts": str(stamp), "X-Sig": hex_mac(SECRET, f"{stamp}:".encode() + BODY)}
    assert verify(options, BODY, signed).id == 7
    stale = NOW * 1000 - 301_000
    assert "more than 300 seconds" in refused(
        options, BODY, {"X-Ts": str(stale), "X-Sig": hex_mac(SECRET, f"{stale}:".encode() + BODY)}
    )


def test_a_shared_token():
    options = configuration(verification={"mode": "token", "header": "X-Webhook-Token", "prefix": "Token "})
    assert verify(options, BODY, {"X-Webhook-Token": f"Token {SECRET}"}).id == 7
    assert "does not match" in refused(options, BODY, {"X-Webhook-Token": "Token wrong"})
    assert "does not start with 'Token '" in refused(options, BODY, {"X-Webhook-Token": SECRET})
    assert "missing token" in refused(options, BODY, {})


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth():
    options = configuration(verification={"mode": "basic", "username": "shop"})
    assert verify(options, BODY, {"Authorization": basic("shop", SECRET)}).id == 7
    assert "do not match" in refused(options, BODY, {"Authorization": basic("shop", "wrong")})
    assert "do not match" in refused(options, BODY, {"Authorization": basic("other", SECRET)})
    assert "Basic scheme" in refused(options, BODY, {"Authorization": f"Bearer {SECRET}"})
    assert "not Base64" in refused(options, BODY, {"Authorization": "Basic !!!"})
    assert "missing Basic credentials" in refused(options, BODY, {})


def standard(msg_id, stamp, body, key=WHSEC):
    signature = Webhook(key).sign(msg_id, dt.datetime.fromtimestamp(stamp, dt.UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def test_standard_webhooks_preset():
    options = configuration(verification={"mode": "standard_webhooks"})
    assert verify(options, BODY, standard("msg_1", NOW, BODY), secret=WHSEC).id == 7
    # Several signatures, space-separated (a key rotation on the sender's side): one match is enough.
    headers = standard("msg_1", NOW, BODY)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert verify(options, BODY, headers, secret=WHSEC).id == 7
    assert "does not match" in refused(
        options, BODY, standard("msg_2", NOW, BODY) | {"webhook-id": "msg_1"}, secret=WHSEC
    )
    assert "more than 300 seconds" in refused(options, BODY, standard("msg_1", NOW - 400, BODY), secret=WHSEC)
    assert "missing header webhook-signature" in refused(
        options, BODY, {"webhook-id": "msg_1", "webhook-timestamp": str(NOW)}, secret=WHSEC
    )
    assert "not a Standard Webhooks key" in refused(options, BODY, standard("msg_1", NOW, BODY), secret="")


def test_mode_none_relies_on_the_allow_list_alone():
    options = configuration(verification={"mode": "none"})
    assert verify(options, BODY, {}, secret=None) is None
    with pytest.raises(AuthFailure) as caught:
        verify(options, BODY, {}, secret=None, address="198.51.100.7")
    assert caught.value.status == 403


@pytest.mark.parametrize(
    "verification",
    [
        {"mode": "hmac", "header": "X-Signature"},
        {"mode": "hmac", "header": "X-S", "signed_content": "timestamp_and_body", "timestamp_header": "X-T"},
        {"mode": "token", "header": "X-Token"},
        {"mode": "basic", "username": "shop"},
        {"mode": "standard_webhooks"},
    ],
)
def test_what_sign_makes_verifies(verification):
    options = Frozen.validate_options(configuration(verification=verification))
    secret = WHSEC if verification["mode"] == "standard_webhooks" else SECRET
    webhook = Frozen.sign(GenericProvider.sample_payloads()["payment_success"], {"secret": secret}, options)
    assert verify(options, webhook.body, webhook.headers, secret=secret).id == 7
    wrong = (
        "whsec_" + base64.b64encode(b"another key of 32 bytes, exactly").decode() if secret == WHSEC else "x" + secret
    )
    assert "match" in refused(options, webhook.body, webhook.headers, secret=wrong)


# -- the mapping --------------------------------------------------------------------------


def parse(document, options=None):
    options = Frozen.validate_options(options or configuration())
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return Frozen().parse(WebhookRequest(body=body, headers={}, options=options))


def seed(**data):
    document = copy.deepcopy(GenericProvider.sample_payloads()["payment_success"])
    document["data"].update(data)
    return {"event": "payment.success", "data": {k: v for k, v in document["data"].items() if v is not None}}


def test_the_seed_payment_maps_onto_one_notice():
    [notice] = parse(seed())
    assert notice.kind == NoticeKind.PAYMENT and notice.status == NoticeStatus.SUCCEEDED
    assert notice.external_id == "TXN-20261122-0001"
    assert notice.amount == Decimal("15000.00") and notice.currency == "NGN"
    assert notice.references == ("INV-1001",)
    assert (notice.payer.email, notice.payer.name) == ("ada@example.com", "Ada Obi")
    # No occurred_at in the mapping: the time of receipt.
    assert notice.occurred_at == dt.datetime.fromtimestamp(NOW, dt.UTC)


def test_major_units_are_exact_and_never_rounded():
    [notice] = parse(seed(amount="15000.5"))
    assert notice.amount == Decimal("15000.5")
    with pytest.raises(PayloadError) as caught:
        parse(seed(amount="15000.005"))
    assert "data.amount" in caught.value.errors


@pytest.mark.parametrize(("sent", "expected"), [(1500050, "15000.50"), ("1500050", "15000.50"), (1, "0.01")])
def test_minor_units_are_divided_exactly(sent, expected):
    [notice] = parse(seed(amount=sent), configuration(mapping={"amount_unit": "minor"}))
    assert notice.amount == Decimal(expected) and str(notice.amount) == expected


@pytest.mark.parametrize("sent", ["15000.50", 0, -5, True, "1e3"])
def test_minor_units_must_be_a_whole_positive_number(sent):
    with pytest.raises(PayloadError) as caught:
        parse(seed(amount=sent), configuration(mapping={"amount_unit": "minor"}))
    assert list(caught.value.errors) == ["data.amount"]


def test_a_fixed_currency_and_a_zero_decimal_one():
    options = configuration(mapping={"currency": None, "currency_value": "UGX", "amount_unit": "minor"})
    [notice] = parse(seed(amount=5000, currency=None), options)
    assert (notice.amount, notice.currency) == (Decimal("5000"), "UGX")


def test_the_status_value_map_ignores_case():
    assert parse(seed(status="FAILED"))[0].status == NoticeStatus.FAILED
    assert parse(seed(status=" pending "))[0].status == NoticeStatus.PENDING


def test_a_status_the_configuration_does_not_map_is_unrecognized_naming_it():
    """A status the platform added (or the merchant did not map) may be money: it is kept,
    announced and replayable once mapped, never a 422 the platform gives up resending."""
    unknown = parse(seed(status="reversed", amount="not even an amount"))
    assert isinstance(unknown, Unrecognized)
    assert "data.status 'reversed'" in unknown.reason and "status_values" in unknown.reason
    assert "success, failed, pending" in unknown.reason


@pytest.mark.parametrize("sent", [None, True, {"code": "success"}, ["success"], ""])
def test_a_status_that_is_missing_or_not_a_value_is_a_422(sent):
    with pytest.raises(PayloadError) as caught:
        parse(seed(status=sent))  # None: seed leaves the status out
    assert "data.status" in caught.value.errors


def test_without_a_status_the_configuration_says_what_every_listed_event_is():
    """No status mapping used to record every listed event as succeeded, payment.failed too:
    now that needs saying (fixed_status), and the saying is what is recorded."""
    unsaid = configuration(mapping={"status": None, "status_values": None})
    assert "mapping.status" in errors_of(unsaid)
    said = configuration(mapping={"status": None, "status_values": None, "fixed_status": "succeeded"})
    [notice] = parse(seed(status="failed"), said)
    assert notice.status == NoticeStatus.SUCCEEDED
    pending = configuration(mapping={"status": None, "status_values": None, "fixed_status": "pending"})
    assert parse(seed(status=None), pending)[0].status == NoticeStatus.PENDING


def test_a_configuration_saved_without_any_status_reads_every_event_as_succeeded():
    """One saved before fixed_status existed: its webhooks are read as they were (saving it
    again asks for a status or fixed_status)."""
    stored = GenericProvider.validate_options(configuration())
    for setting in ("status", "status_values", "fixed_status"):
        stored["mapping"].pop(setting)
    webhook = WebhookRequest(body=json.dumps(seed(status="failed")).encode(), headers={}, options=stored)
    assert Frozen().parse(webhook)[0].status == NoticeStatus.SUCCEEDED


def test_a_refund_names_its_payment():
    [refund] = parse(GenericProvider.sample_payloads()["refund_processed"])
    assert refund.kind == NoticeKind.REFUND and refund.parent_external_id == "TXN-20261122-0001"


def test_a_reversal_type():
    options = configuration(events={"reversal": ["payment.reversed"]})
    [notice] = parse(seed() | {"event": "payment.reversed"}, options)
    assert notice.kind == NoticeKind.REVERSAL


def test_a_listed_ignored_type_is_ignored_and_an_unknown_one_unrecognized():
    assert isinstance(parse(GenericProvider.sample_payloads()["transfer_success"]), Ignored)
    unknown = parse(seed() | {"event": "subscription.renew"})
    assert isinstance(unknown, Unrecognized) and "subscription.renew" in unknown.reason
    assert isinstance(parse({"data": {}}), Unrecognized)
    assert isinstance(parse(["payment.success"]), Unrecognized)
    assert isinstance(parse(seed() | {"event": {"name": "payment.success"}}), Unrecognized)


def test_every_missing_field_is_named_by_its_path():
    with pytest.raises(PayloadError) as caught:
        parse({"event": "payment.success", "data": {"customer": "ada"}})
    assert {"data.transaction_id", "data.amount", "data.currency", "data.status"} <= set(caught.value.errors)


def test_list_indexes_references_and_customer_fields():
    options = configuration(
        mapping={
            "external_id": "data.items.0.id",
            "references": ["data.items.0.order", "data.reference", "data.items.5.order"],
            "customer_phone": "data.customer.phone",
            "customer_id": "data.customer.id",
            "destination_account": "data.account.number",
        }
    )
    document = seed(
        items=[{"id": "ITEM-1", "order": "SO-9"}],
        customer={"phone": "+2348012345678", "id": 77},
        account={"number": "0123456789"},
    )
    [notice] = parse(document, options)
    assert notice.external_id == "ITEM-1"
    assert notice.references == ("SO-9", "INV-1001")
    assert (notice.payer.phone, notice.payer.customer_id) == ("+2348012345678", "77")
    assert notice.destination_account == "0123456789"


@pytest.mark.parametrize(
    ("form", "sent", "expected"),
    [
        ("iso8601", "2026-11-22T10:15:03+01:00", dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)),
        ("epoch_seconds", 1795341903, dt.datetime(2026, 11, 22, 10, 5, 3, tzinfo=dt.UTC)),
        ("epoch_milliseconds", "1795341903250", dt.datetime(2026, 11, 22, 10, 5, 3, 250000, tzinfo=dt.UTC)),
    ],
)
def test_occurred_at_in_the_declared_form(form, sent, expected):
    options = configuration(mapping={"occurred_at": "data.paid_at", "occurred_at_format": form})
    assert parse(seed(paid_at=sent), options)[0].occurred_at == expected


@pytest.mark.parametrize(
    ("form", "sent"),
    [("iso8601", 1795341903), ("epoch_seconds", "2026-11-22"), ("epoch_seconds", 10**17), ("epoch_milliseconds", -1)],
)
def test_occurred_at_in_another_form_is_named(form, sent):
    options = configuration(mapping={"occurred_at": "data.paid_at", "occurred_at_format": form})
    with pytest.raises(PayloadError) as caught:
        parse(seed(paid_at=sent), options)
    assert "data.paid_at" in caught.value.errors
