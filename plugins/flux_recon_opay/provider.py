"""The Opay provider: its auth declaration, and which of its two webhook forms a body is."""

from __future__ import annotations

from flux_recon import CredentialField, IpAllowlist, PayloadError, Provider

from . import checkout, pos, samples
from .auth import CHECKOUT, POS, SECRET_KEY, CheckoutSignature, form_of


class OpayProvider(Provider):
    name = "opay"
    title = "Opay"
    description = (
        "Opay checkout/cashier callbacks (signed: body field sha512 = hex HMAC-SHA3-512 of the secret key "
        "over a fixed template of the payload's fields, enforced once the secret key is set) and POS "
        "terminal / bank transfer notifications (unsigned: protected by the IP allow-list), on one URL."
    )
    auth = (IpAllowlist(), CheckoutSignature())
    credentials = (
        CredentialField(
            SECRET_KEY,
            "Opay secret key",
            required=False,
            description="the secret key (OPAYPRV...) from the Opay merchant dashboard's API keys page; "
            "once set, every checkout callback must carry a valid sha512 signature",
        ),
    )
    # Opay gives its callback addresses to each merchant; none is pre-filled.
    default_allowlist = ()

    def parse(self, webhook):
        body = webhook.payload
        form = form_of(body)
        if form == CHECKOUT:
            return checkout.parse(body)
        if form == POS:
            return pos.parse(body)
        raise PayloadError(
            "not an Opay webhook",
            {
                "body": [
                    'must be a checkout callback {"type", "payload", "sha512"} or a POS/transfer notification {"data"}'
                ]
            },
        )

    @classmethod
    def sample_payloads(cls):
        return samples.sample_payloads()


__all__ = ["OpayProvider"]
