"""GET /api/v1/providers: the provider plugins this server has loaded."""

from flask import current_app
from flask.views import MethodView

from flux_recon.web.api import Blueprint
from flux_recon.web.resources.providers.schemas import ProviderSchema

blp = Blueprint("providers", __name__, description="Payment providers loaded as plugins.")


@blp.route("")
class Providers(MethodView):
    @blp.response(200, ProviderSchema(many=True))
    @blp.errors()
    def get(self):
        """List the loaded providers, their auth and their credential fields"""
        return [provider.describe() for provider in current_app.extensions["providers"]]
