"""flux-recon plugin: Opay checkout callbacks and POS/transfer notifications (see README.md for the wire formats)."""

from flux_recon import hookimpl

from .provider import OpayProvider


@hookimpl
def flux_recon_register_providers(register):
    register(OpayProvider)
