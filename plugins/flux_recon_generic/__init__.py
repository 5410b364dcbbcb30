"""flux-recon plugin: a no-code provider for any platform that signs its webhooks, configured per integration."""

from flux_recon import hookimpl

from .provider import GenericProvider


@hookimpl
def flux_recon_register_providers(register):
    register(GenericProvider)
