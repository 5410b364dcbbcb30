"""flux-recon plugin: Monnify collection webhooks (see README.md for the wire format)."""

from flux_recon import hookimpl

from .provider import MonnifyProvider


@hookimpl
def flux_recon_register_providers(register):
    register(MonnifyProvider)
