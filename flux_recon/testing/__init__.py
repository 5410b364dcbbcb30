"""The plugin author kit: a conformance test class for any provider, and a test app to post webhooks to.

Subclass :class:`ProviderConformance` in a plugin's tests and run pytest; see docs/plugins.md.
Nothing here needs pytest at import; the property-based check imports hypothesis when it
runs (``pip install 'flux-recon[test]'`` brings both).
"""

from flux_recon.testing.app import ADMIN_TOKEN, EnabledIntegration, create_test_app, enable_integration
from flux_recon.testing.conformance import ProviderConformance

__all__ = ["ADMIN_TOKEN", "EnabledIntegration", "ProviderConformance", "create_test_app", "enable_integration"]
