"""flux-recon plugin: Opay checkout callbacks (v1, v2), POS/transfer and digital-wallet notifications (README.md)."""

from flux_recon import hookimpl

from .provider import OpayProvider


@hookimpl
def flux_recon_register_providers(register):
    register(OpayProvider)
