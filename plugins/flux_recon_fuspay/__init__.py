"""flux-recon plugin: Fuspay (IntraPay P2P) collection notifications (see README.md for the wire format)."""

from flux_recon import hookimpl

from .provider import FuspayProvider


@hookimpl
def flux_recon_register_providers(register):
    register(FuspayProvider)
