"""The flux-recon conformance kit, run on the Paystack provider exactly as any plugin runs it."""

import hashlib
import hmac

from flux_recon import WebhookRequest, encode_json
from flux_recon.testing import ProviderConformance
from flux_recon_paystack.provider import PaystackProvider

SECRET_KEY = "sk_test_3f9a1c0e5b7d2468ace0f13579bdf2468ace0f1"  # noqa: S105 - a made-up test key


class TestPaystackConformance(ProviderConformance):
    provider = PaystackProvider
    entry_point = "paystack"
    secrets = {"secret_key": SECRET_KEY}

    def test_a_request_signed_by_paystacks_own_recipe_passes_the_declared_auth(self):
        # Paystack's documentation: hash_hmac('sha512', $input, SECRET_KEY), lowercase hex.
        body = encode_json(self.samples()["charge_success"])
        signature = hmac.new(SECRET_KEY.encode(), body, hashlib.sha512).hexdigest()
        assert self.refusal(WebhookRequest(body=body, headers={"x-paystack-signature": signature})) is None
        assert self.refusal(WebhookRequest(body=body + b" ", headers={"x-paystack-signature": signature})) is not None
