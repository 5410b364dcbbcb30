"""flux-recon plugin: Paystack webhooks (see README.md for the wire format)."""

from flux_recon import hookimpl

from .provider import PaystackProvider


@hookimpl
def flux_recon_register_providers(register):
    register(PaystackProvider)
