"""flux-recon plugin: the Fluxvend core payment webhook (see README.md for the wire format)."""

from flux_recon import hookimpl

from .provider import CoreProvider


@hookimpl
def flux_recon_register_providers(register):
    register(CoreProvider)
