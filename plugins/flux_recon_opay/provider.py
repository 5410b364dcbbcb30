"""The Opay provider: its auth, options and event types, and which of its webhook forms a body is."""

from __future__ import annotations

from flux_recon import CredentialField, IpAllowlist, OptionField, PayloadError, Provider, Unrecognized

from . import acquiring, checkout, pos, samples, wallet
from .auth import ACQUIRING, CHECKOUT, POS, SECRET_KEY, WALLET, CheckoutSignature, form_of
from .checkout import API_GENERATION, CHECKOUT_GENERATION, GENERATIONS
from .fields import UnknownCode

# The forms without a "type" field are named after their shape.
POS_NOTIFICATION = "pos-transfer-notification"
WALLET_DEPOSIT = "digital-wallet-deposit"


class OpayProvider(Provider):
    name = "opay"
    title = "Opay"
    description = (
        "Opay checkout/cashier callbacks: v1 (type transaction-status, body field sha512 = hex HMAC-SHA3-512 of "
        "the secret key over a fixed template of the payload's fields) and v2 (type MACQUIRING_CALLBACK, header "
        "Authorization or Signature = hex HMAC-SHA512 of the secret key over the RequestTimestamp header and the "
        "raw body), both enforced once the secret key is set; POS terminal / bank transfer notifications and "
        "digital-wallet deposit notifications (unsigned: protected by the IP allow-list), all on one URL."
    )
    auth = (IpAllowlist(), CheckoutSignature())
    credentials = (
        CredentialField(
            SECRET_KEY,
            "Opay secret key",
            required=False,
            description="the secret key (OPAYPRV...) from the Opay merchant dashboard's API keys page; "
            "once set, every checkout callback must carry a valid signature (v1 sha512 field or v2 header)",
        ),
    )
    option_fields = (
        OptionField(
            API_GENERATION,
            "Opay API generation of the checkout callback",
            default=CHECKOUT_GENERATION,
            choices=GENERATIONS,
            description="the unit of payload.amount and payload.fee in transaction-status callbacks: "
            "'checkout' (Opay's current checkout, doc.opaycheckout.com: kobo, e.g. \"49160\" = 491.60 NGN) or "
            "'legacy_cashier' (the older cashier, documentation.opayweb.com and Opay's PHP SDK: naira with two "
            'decimals, e.g. "10.00"). An amount that does not fit is refused (422), never guessed',
        ),
    )
    event_types = {
        checkout.TRANSACTION_STATUS: "payment",
        acquiring.MACQUIRING_CALLBACK: "payment",
        POS_NOTIFICATION: "payment",
        WALLET_DEPOSIT: "payment",
    }
    # Opay resends an unacknowledged callback for 72 hours; the inbox keeps an unrecognized one
    # and replays it once the plugin reads its form, so resending would add nothing but noise.
    unrecognized_status = 200
    # Opay gives its callback addresses to each merchant; none is pre-filled.
    default_allowlist = ()

    def parse(self, webhook):
        body = webhook.payload
        try:
            return self._parse_form(body, webhook.options)
        except UnknownCode as unknown:
            return Unrecognized(
                f"{unknown.path} {unknown.value[:40]!r}: not one this plugin reads ({', '.join(unknown.known)})"
            )

    @staticmethod
    def _parse_form(body, options):
        form = form_of(body)
        if form == ACQUIRING:
            return acquiring.parse(body)
        if form == CHECKOUT:
            generation = options.get(API_GENERATION) or CHECKOUT_GENERATION
            return checkout.parse(body, generation)
        if form == POS:
            return pos.parse(body)
        if form == WALLET:
            return wallet.parse(body)
        if isinstance(body, dict):
            # It passed the allow-list, and may be a payment in a form Opay has not documented.
            keys = ", ".join(sorted(body)[:8]) or "none"
            return Unrecognized(f"not a form of Opay notification this plugin reads (top-level fields: {keys[:200]})")
        raise PayloadError("not an Opay webhook", {"body": ["must be a JSON object"]})

    @classmethod
    def sample_payloads(cls):
        return samples.sample_payloads()


__all__ = ["OpayProvider"]
