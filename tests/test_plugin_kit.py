"""The plugin author kit itself: Provider.sign and encode_json, and that each conformance check
fails on the provider mistake it exists for (and passes a correct provider)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
from decimal import Decimal

import pytest

from flux_recon import (
    AuthCheck,
    AuthContext,
    AuthFailure,
    BodyFieldSignature,
    CredentialField,
    HeaderHmac,
    Ignored,
    IpAllowlist,
    OptionField,
    PayloadError,
    PaymentNotice,
    Provider,
    Unrecognized,
    WebhookRequest,
    encode_json,
    from_minor,
    secret_of,
)
from flux_recon.testing import ProviderConformance
from flux_recon_core.provider import CoreProvider
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import core_signature

KIT_CHECKS = sorted(name for name in dir(ProviderConformance) if name.startswith("test_"))


def charge(**changes) -> dict:
    return {
        "event": "charge.succeeded",
        "id": "ch_1",
        "amount": "25.00",
        "currency": "USD",
        "created_at": "2026-11-22T10:00:00+00:00",
        "order": "INV-1",
        **changes,
    }


class Good(Provider):
    """A small correct provider; each case below breaks one thing in a subclass of it."""

    name = "kit-good"
    title = "Good"
    description = "A correct provider for the kit's own tests."
    auth = (IpAllowlist(), HeaderHmac("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret")))
    credentials = (CredentialField("webhook_secret", "Webhook secret"),)
    default_allowlist = ("203.0.113.0/28",)
    event_types = {"charge.succeeded": "payment", "payout.paid": "no_money"}

    def parse(self, webhook):
        payload = webhook.payload
        if not isinstance(payload, dict):
            raise PayloadError("not a Good event", {"body": ["must be an object"]})
        if payload.get("event") == "payout.paid":
            return Ignored("a payout carries no customer money")
        if payload.get("event") != "charge.succeeded":
            return Unrecognized(f"unknown event {str(payload.get('event'))[:40]!r}")
        try:
            return [
                PaymentNotice(
                    external_id=str(payload["id"]),
                    amount=Decimal(str(payload["amount"])),
                    currency=str(payload["currency"]),
                    occurred_at=dt.datetime.fromisoformat(payload["created_at"]),
                    references=(str(payload["order"]),),
                    raw=payload,
                )
            ]
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise PayloadError("not a valid charge", {"body": [str(exc)]}) from None

    @classmethod
    def sample_payloads(cls):
        return {"charge": charge(), "other": {"event": "payout.paid", "id": "po_1"}}


def conformance(provider, **attributes) -> ProviderConformance:
    return type("Case", (ProviderConformance,), {"provider": provider, "max_examples": 60, **attributes})()


def failure(provider, check: str, **attributes) -> str | None:
    """The message of ``check`` failing on ``provider``, or None when it passes."""
    try:
        getattr(conformance(provider, **attributes), check)()
    except AssertionError as exc:
        return str(exc)
    return None


def variant(**attributes) -> type[Provider]:
    return type("Variant", (Good,), attributes)


# -- Provider.sign, credential_values and encode_json ----------------------------------


def test_encode_json_writes_decimals_exactly_and_refuses_what_json_cannot_hold():
    assert (
        encode_json({"a": Decimal("15000.50"), "b": [1, True, None, "é"]})
        == '{"a":15000.50,"b":[1,true,null,"é"]}'.encode()
    )
    for bad in ({"a": 1.5}, {"a": Decimal("NaN")}, {1: "x"}, {"a": object()}):
        with pytest.raises((TypeError, ValueError)):
            encode_json(bad)


def test_header_signature_is_the_documented_hmac_of_the_exact_body():
    signed = CoreProvider.sign(CoreProvider.sample_payloads()["payment"], {"api": "fs_secret"})
    assert signed.headers["Signature"] == core_signature(signed.body, "fs_secret")
    assert signed.headers["Content-Type"] == "application/json"
    raw = b'{"amount": 1}'
    assert Good.sign(raw, {"webhook_secret": "k"}).body == raw  # bytes are signed as they are
    assert Good.sign(raw, {"webhook_secret": "k"}).headers["X-Sig"] == hmac.new(b"k", raw, hashlib.sha256).hexdigest()


def test_credential_values_refuse_a_credential_the_provider_does_not_have():
    with pytest.raises(ValueError, match="client_secret"):
        CoreProvider.credential_values({"client_secret": "x"})
    (value,) = MonnifyProvider.credential_values({"client_secret": "s"})
    assert (value.name, value.secret) == ("client_secret", "s")


def test_an_optional_signature_without_its_secret_is_sent_unsigned():
    sample = MonnifyProvider.sample_payloads()["card_payment"]
    unsigned = MonnifyProvider.sign(sample, {})
    assert "monnify-signature" not in unsigned.headers
    signed = MonnifyProvider.sign(sample, {"client_secret": "s"})
    assert signed.headers["monnify-signature"] == hmac.new(b"s", signed.body, hashlib.sha512).hexdigest()


def body_field_provider(message):
    class BodySigned(Good):
        auth = (IpAllowlist(), BodyFieldSignature("sig", "sha256", message=message, keys=secret_of("webhook_secret")))

    return BodySigned


def test_a_body_field_signature_signs_its_message_and_verifies():
    provider = body_field_provider(lambda payload: f"{payload['id']}|{payload['amount']}".encode())
    signed = provider.sign(charge(sig="stale"), {"webhook_secret": "k"})
    assert signed.payload["sig"] == hmac.new(b"k", b"ch_1|25.00", hashlib.sha256).hexdigest()
    context = AuthContext(
        client_ip=ipaddress.ip_address("203.0.113.1"),
        allowlist=(ipaddress.ip_network("203.0.113.0/28"),),
        credentials=provider.credential_values({"webhook_secret": "k"}),
    )
    assert provider.auth[1].verify(signed, context) is not None


def test_a_body_field_signature_over_the_raw_body_cannot_be_signed():
    with pytest.raises(ValueError, match="message="):
        body_field_provider(None).sign(charge(), {"webhook_secret": "k"})


def test_a_fuspay_payout_is_signed_with_the_merchant_secret_alone():
    secrets = {"merchant_secret": "m", "partner_secret": "p"}
    collection = FuspayProvider.sign(FuspayProvider.sample_payloads()["paid_completed"], secrets)
    payout = FuspayProvider.sign(FuspayProvider.sample_payloads()["payout"], secrets)
    from flux_recon_fuspay.signature import canonical_json

    assert collection.payload["signature"] == hmac.new(b"mp", canonical_json(collection.body), "sha512").hexdigest()
    assert payout.payload["signature"] == hmac.new(b"m", canonical_json(payout.body), "sha512").hexdigest()


# -- the kit passes a correct provider --------------------------------------------------


@pytest.mark.parametrize("check", [c for c in KIT_CHECKS if c != "test_registers_through_a_flux_recon_entry_point"])
def test_a_correct_provider_passes_every_check(check):
    assert failure(Good, check) is None


def test_the_entry_point_check_finds_an_installed_plugin_and_misses_one_that_is_not():
    assert failure(CoreProvider, "test_registers_through_a_flux_recon_entry_point", entry_point="core") is None
    wrong_name = failure(CoreProvider, "test_registers_through_a_flux_recon_entry_point", entry_point="fluxvend")
    assert "expected entry point 'fluxvend'" in wrong_name
    assert "pip install" in failure(Good, "test_registers_through_a_flux_recon_entry_point")


# -- each check fails on its mistake ----------------------------------------------------


def test_a_name_that_is_no_url_slug_fails():
    assert "URL slug" in failure(variant(name="Kit Good"), "test_name_is_a_url_safe_slug")


def test_a_name_another_installed_plugin_uses_fails():
    assert "flux_recon_core" in failure(variant(name="core"), "test_name_is_unique_among_installed_providers")


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"title": ""}, "title"),
        ({"description": " "}, "description"),
        ({"default_allowlist": ("10.0.0.1/8",)}, "10.0.0.1/8"),
        ({"default_allowlist": ("api.example.com",)}, "api.example.com"),
        ({"credentials": (CredentialField("s", "S"), CredentialField("s", "T"))}, "repeat"),
        ({"credentials": (CredentialField("Webhook Secret", "S"),)}, "URL segment"),
        ({"auth": [IpAllowlist()]}, "tuple of AuthCheck"),
    ],
)
def test_an_incomplete_declaration_fails(attributes, expected):
    assert expected in failure(variant(**attributes), "test_declaration_is_complete")


def test_auth_without_an_ip_allowlist_fails():
    provider = variant(auth=(HeaderHmac("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret")),))
    assert "IpAllowlist" in failure(provider, "test_declares_an_ip_allowlist")


SHARED_SAMPLES = {"charge": charge()}


def test_samples_that_are_not_fresh_copies_fail():
    provider = variant(sample_payloads=classmethod(lambda cls: SHARED_SAMPLES))
    assert "fresh copies" in failure(provider, "test_sample_payloads_are_fresh_copies")


def test_samples_that_are_no_exact_json_fail():
    provider = variant(sample_payloads=classmethod(lambda cls: {"charge": charge(amount=25.0)}))
    assert "not exact JSON" in failure(provider, "test_sample_payloads_are_named_json_documents")
    provider = variant(sample_payloads=classmethod(lambda cls: {"a charge": charge()}))
    assert "sample name" in failure(provider, "test_sample_payloads_are_named_json_documents")


def test_a_sample_the_engine_would_refuse_fails():
    provider = variant(sample_payloads=classmethod(lambda cls: {"charge": charge(amount="25.001")}))
    message = failure(provider, "test_every_sample_parses_into_valid_notices_or_ignored")
    assert "sample 'charge'" in message and "amount" in message


def test_samples_without_a_succeeded_payment_fail():
    provider = variant(sample_payloads=classmethod(lambda cls: {"other": {"event": "payout.paid"}}))
    message = failure(provider, "test_every_sample_parses_into_valid_notices_or_ignored")
    assert "no sample is a succeeded payment" in message


class SignsTheWrongHeader(AuthCheck):
    """Verifies X-Sig but signs X-Signature: the provider's signer and its check disagree."""

    sensitive_headers = ("X-Sig",)

    def verify(self, request, context):
        if request.header("X-Sig") != "ok":
            raise AuthFailure("bad X-Sig")

    def sign(self, webhook, credentials):
        return WebhookRequest(body=webhook.body, headers={**webhook.headers, "X-Signature": "ok"})


def test_a_signer_that_disagrees_with_its_check_fails():
    provider = variant(auth=(IpAllowlist(), SignsTheWrongHeader()))
    assert "is refused" in failure(provider, "test_signed_samples_pass_the_declared_auth")


class NoSigner(AuthCheck):
    def verify(self, request, context):
        return None


def test_a_custom_check_without_a_signer_is_named():
    provider = variant(auth=(IpAllowlist(), NoSigner()))
    with pytest.raises(NotImplementedError, match=r"NoSigner.*sign\(webhook, credentials\)"):
        conformance(provider).test_signed_samples_pass_the_declared_auth()


class LenientHeader(HeaderHmac):
    """Accepts a request with no signature at all: the classic forgery hole."""

    def verify(self, request, context):
        return None if request.header(self.header) is None else super().verify(request, context)


def test_a_check_that_lets_unsigned_requests_through_fails():
    provider = variant(auth=(IpAllowlist(), LenientHeader("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret"))))
    assert "without its signature: accepted" in failure(provider, "test_unsigned_samples_are_refused")


class AnySignature(HeaderHmac):
    def verify(self, request, context):
        if not request.header(self.header):
            raise AuthFailure("missing signature")


def test_a_check_that_accepts_any_signature_fails():
    provider = variant(auth=(IpAllowlist(), AnySignature("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret"))))
    assert "wrong secret: accepted" in failure(provider, "test_samples_signed_with_another_secret_are_refused")


def test_a_signature_that_does_not_cover_the_amount_fails():
    provider = body_field_provider(lambda payload: str(payload["id"]).encode())
    message = failure(provider, "test_tampered_samples_are_refused")
    assert "changing body.amount changes the notice and still passes auth" in message
    assert "body.id" not in message  # the id is covered


def test_an_address_off_the_allow_list_fails_without_the_check_or_with_an_open_list():
    provider = variant(auth=(HeaderHmac("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret")),))
    assert "198.51.100.7: accepted" in failure(provider, "test_an_address_off_the_allow_list_is_refused")
    everyone = variant(default_allowlist=("0.0.0.0/0", "::/0"))
    assert "admits every address" in failure(everyone, "test_an_address_off_the_allow_list_is_refused")


class UnredactedToken(AuthCheck):
    """Carries the secret in a header it does not list as sensitive."""

    def verify(self, request, context):
        secrets = [c.secret for c in context.credentials]
        if request.header("X-Token") not in secrets:
            raise AuthFailure("bad token")
        return context.credentials[0]

    def sign(self, webhook, credentials):
        return WebhookRequest(body=webhook.body, headers={**webhook.headers, "X-Token": credentials[0].secret})


def test_a_signature_header_the_inbox_would_keep_fails():
    provider = variant(auth=(IpAllowlist(), UnredactedToken()))
    assert "'x-token' is not in sensitive_headers" in failure(
        provider, "test_signature_headers_are_redacted_in_the_inbox"
    )


def test_samples_signed_or_not_must_be_declared():
    unsigned = variant(auth=(IpAllowlist(),))
    assert "list it in unsigned_samples" in failure(unsigned, "test_every_signed_sample_is_declared_signed_or_unsigned")
    assert (
        failure(
            unsigned, "test_every_signed_sample_is_declared_signed_or_unsigned", unsigned_samples=("charge", "other")
        )
        is None
    )
    wrongly = failure(Good, "test_every_signed_sample_is_declared_signed_or_unsigned", unsigned_samples=("charge",))
    assert "listed in unsigned_samples, but signing changes ['header x-sig']" in wrongly


class Fragile(Good):
    """The plugin guide's first example: it trusted the payload to be an object."""

    def parse(self, webhook):
        payload = webhook.payload
        if payload.get("event") != "charge.succeeded":
            return Ignored("not a charge")
        return super().parse(webhook)


def test_a_parse_that_crashes_on_hostile_input_fails():
    message = failure(Fragile, "test_hostile_bodies_raise_nothing_but_payload_errors")
    assert "parse raised something other than PayloadError" in message
    assert "AttributeError" in message


class KoboUnbounded(Good):
    """Converts minor units without bounding them first: an absurd integer is no PayloadError."""

    def parse(self, webhook):
        payload = webhook.payload
        if not isinstance(payload, dict) or not isinstance(payload.get("kobo"), int):
            raise PayloadError("not a charge")
        result = super().parse(webhook)
        if not isinstance(result, list):
            return result
        amount = from_minor(payload["kobo"], "NGN")
        return [PaymentNotice(**{**result[0].__dict__, "amount": amount, "currency": "NGN"})]

    @classmethod
    def sample_payloads(cls):
        return {"charge": charge(kobo=2500)}


def test_an_unbounded_minor_unit_conversion_fails():
    message = failure(KoboUnbounded, "test_hostile_bodies_raise_nothing_but_payload_errors")
    # from_minor refuses the absurd amount with a MoneyError; the plugin let it escape
    # instead of turning it into a PayloadError, and the kit says so.
    assert "parse raised something other than PayloadError" in message
    assert "larger than this service accepts" in message


def test_a_check_that_crashes_on_hostile_input_fails():
    class Crashes(HeaderHmac):
        def verify(self, request, context):
            request.payload["id"]  # noqa: B018 - the bug: assumes an object with an id
            return super().verify(request, context)

    provider = variant(auth=(IpAllowlist(), Crashes("X-Sig", "sha256", "hex", keys=secret_of("webhook_secret"))))
    assert "auth check Crashes raised" in failure(provider, "test_hostile_bodies_raise_nothing_but_payload_errors")


def test_base64_signatures_are_signed_in_base64():
    provider = variant(auth=(IpAllowlist(), HeaderHmac("X-Sig", "sha256", keys=secret_of("webhook_secret"))))
    signed = provider.sign(charge(), {"webhook_secret": "k"})
    assert signed.headers["X-Sig"] == base64.b64encode(hmac.new(b"k", signed.body, hashlib.sha256).digest()).decode()
    assert failure(provider, "test_signed_samples_pass_the_declared_auth") is None


# -- nothing that may be a payment is ignored -------------------------------------------


class IgnoresTheUnknown(Good):
    """The mistake the rule exists for: every event it does not handle is acknowledged and dropped."""

    def parse(self, webhook):
        payload = webhook.payload
        if isinstance(payload, dict) and payload.get("event") != "charge.succeeded":
            return Ignored("not a charge")
        return super().parse(webhook)


def test_a_provider_that_ignores_an_unknown_event_type_fails():
    message = failure(IgnoresTheUnknown, "test_an_unknown_event_type_is_not_ignored")
    assert "sample 'charge' with event = 'flux.kit.unknown-event' (was 'charge.succeeded') is Ignored" in message
    assert "sample 'other' with event = 'flux.kit.unknown-event' (was 'payout.paid') is Ignored" in message
    assert "a body of unknown shape" in message and "Unrecognized(reason)" in message


def test_an_event_type_nested_one_level_down_is_found_and_replaced():
    class Nested(Good):
        def parse(self, webhook):
            payload = webhook.payload
            flat = {**payload, "event": payload.get("meta", {}).get("kind")} if isinstance(payload, dict) else payload
            return IgnoresTheUnknown.parse(self, WebhookRequest(body=encode_json(flat)))

        @classmethod
        def sample_payloads(cls):
            return {"charge": {"meta": {"kind": "charge.succeeded"}, **charge(event=None)}}

    assert "meta.kind = 'flux.kit.unknown-event'" in failure(Nested, "test_an_unknown_event_type_is_not_ignored")


def test_a_provider_that_ignores_an_unknown_shape_fails():
    class TypeOnly(Good):
        def parse(self, webhook):
            payload = webhook.payload
            if isinstance(payload, dict) and "event" not in payload:
                return Ignored("no event field")
            return super().parse(webhook)

    message = failure(TypeOnly, "test_an_unknown_event_type_is_not_ignored")
    assert "a body of unknown shape" in message and "no event field" in message
    assert "sample 'charge'" not in message


def test_a_payload_error_for_an_unknown_type_passes():
    class Strict(Good):
        def parse(self, webhook):
            result = super().parse(webhook)
            if isinstance(result, Unrecognized):
                raise PayloadError("not an event this provider sends")
            return result

    assert failure(Strict, "test_an_unknown_event_type_is_not_ignored") is None


def test_samples_that_carry_no_declared_type_fail_when_several_are_declared():
    provider = variant(event_types={"charge.ok": "payment", "charge.gone": "refund"})
    message = failure(provider, "test_an_unknown_event_type_is_not_ignored")
    assert "no sample carries one of the declared event_types (charge.gone, charge.ok)" in message
    # One declared type and no type field: a single-shape webhook (as Fluxvend's core one).
    assert failure(variant(event_types={"charge": "payment"}), "test_an_unknown_event_type_is_not_ignored") is None


@pytest.mark.parametrize(
    ("event_types", "expected"),
    [
        ({}, "event_types is empty"),
        ({"charge.succeeded": "money"}, "carries 'money': must be one of payment, refund, reversal"),
        ({" ": "payment"}, "must be a non-empty string"),
    ],
)
def test_event_types_must_be_declared_with_what_each_carries(event_types, expected):
    assert expected in failure(variant(event_types=event_types), "test_event_types_are_declared")


def test_a_no_money_sample_parsed_into_notices_fails():
    swapped = variant(event_types={"charge.succeeded": "no_money", "payout.paid": "payment"})
    message = failure(swapped, "test_no_money_samples_are_not_parsed_into_notices")
    assert message == "sample 'charge' (event = 'charge.succeeded', declared no_money) is parsed into notices"


def test_a_sample_the_provider_does_not_recognise_fails():
    provider = variant(sample_payloads=classmethod(lambda cls: {"charge": charge(), "new": {"event": "charge.new"}}))
    message = failure(provider, "test_every_sample_parses_into_valid_notices_or_ignored")
    assert "sample 'new': is Unrecognized (unknown event 'charge.new')" in message


def test_an_unrecognized_without_a_reason_fails():
    class Mute(Good):
        def parse(self, webhook):
            result = super().parse(webhook)
            return Unrecognized("") if isinstance(result, Unrecognized) else result

    assert "Unrecognized needs a reason" in failure(Mute, "test_an_unknown_event_type_is_not_ignored")


def test_samples_are_parsed_with_the_integrations_options():
    class Unit(Good):
        option_fields = (OptionField("unit", "Amount unit", default="major", choices=("major", "minor")),)

        def parse(self, webhook):
            result = super().parse(webhook)
            if webhook.options["unit"] == "minor" and isinstance(result, list):
                return [PaymentNotice(**{**result[0].__dict__, "amount": result[0].amount / 100})]
            return result

    assert failure(Unit, "test_every_sample_parses_into_valid_notices_or_ignored") is None
    assert failure(Unit, "test_an_unknown_event_type_is_not_ignored") is None
    kit = conformance(Unit, options={"unit": "minor"})
    assert kit.parse(kit.signed("charge"))[0].amount == Decimal("0.25")


def test_the_kit_does_not_let_an_unknown_event_type_become_an_empty_list():
    # An empty list says nothing about why: the pipeline keeps it as unrecognized, but the kit
    # asks for Unrecognized(reason), so the merchant is told what the adapter did not know.
    class FindsNothing(Good):
        def parse(self, webhook):
            result = super().parse(webhook)
            return [] if isinstance(result, Unrecognized) else result

    message = failure(FindsNothing, "test_an_unknown_event_type_is_not_ignored")
    assert message is not None, "the kit accepted [] for an unknown event type"
    assert "sample 'charge' with event = 'flux.kit.unknown-event' (was 'charge.succeeded')" in message
    assert "a body of unknown shape" in message and "Unrecognized(reason)" in message
