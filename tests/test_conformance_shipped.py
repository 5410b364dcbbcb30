"""The conformance kit run on the shipped provider plugins, exactly as a third party runs it."""

from flux_recon.testing import ProviderConformance
from flux_recon_core.provider import CoreProvider
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_generic.provider import GenericProvider
from flux_recon_monnify.provider import MonnifyProvider
from flux_recon_opay.provider import OpayProvider


class TestCoreConformance(ProviderConformance):
    provider = CoreProvider
    entry_point = "core"


class TestMonnifyConformance(ProviderConformance):
    provider = MonnifyProvider
    entry_point = "monnify"


class TestOpayConformance(ProviderConformance):
    provider = OpayProvider
    entry_point = "opay"
    # POS terminal, bank transfer and digital-wallet deposit notifications carry no signature:
    # Opay protects them by its source addresses alone.
    unsigned_samples = ("pos_card_payment", "bank_transfer", "wallet_deposit")


class TestFuspayConformance(ProviderConformance):
    provider = FuspayProvider
    entry_point = "fuspay"
    secrets = {"merchant_secret": "mk_test_9f3a", "partner_secret": "sk_partner_test_51c0"}


class TestGenericConformance(ProviderConformance):
    """The no-code provider, configured as the README's example platform (sample_configuration)."""

    provider = GenericProvider
    entry_point = "generic"
    options = GenericProvider.sample_configuration()
    secrets = {"secret": "whk_test_3b9c51"}

    def test_event_types_are_declared(self):
        """Left out: each integration lists its own event types (its events option); an unknown
        one is Unrecognized (tests/test_generic_provider.py)."""
