"""The Flask app: request and JSON handling, and create_app wiring every part together."""

from __future__ import annotations

from flask import Flask
from flask import Request as FlaskRequest
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_content_length

from flux_recon.exact_json import loads_exact


class ExactJSONProvider(DefaultJSONProvider):
    """Request JSON with Decimal for every fractional number: money never passes through float.
    Responses keep the field order the schemas declare."""

    sort_keys = False

    def loads(self, s, **kwargs):
        return loads_exact(s)


class _MaxLengthStream(LimitedStream):
    """A body without a length (chunked), read up to one byte past the maximum: that byte
    means the body is too large (413). Werkzeug's own stream stops at the maximum, so
    ``get_data()`` returned the first MAX_CONTENT_LENGTH bytes as if they were the body."""

    def __init__(self, stream, maximum: int):
        super().__init__(stream, maximum + 1, is_max=True)
        self.maximum = maximum

    def readinto(self, b) -> int | None:
        read = super().readinto(b)
        if self.tell() > self.maximum:
            raise RequestEntityTooLarge()
        return read


class BodyLimitedRequest(FlaskRequest):
    """Flask's request, with MAX_CONTENT_LENGTH enforced on chunked bodies too."""

    @cached_property
    def stream(self):
        maximum = self.max_content_length
        # Only a body the server terminates (gunicorn sets wsgi.input_terminated for
        # chunked input) and that states no length; a stated length is checked upfront.
        if (
            maximum is not None
            and not self.shallow
            and "wsgi.input_terminated" in self.environ
            and get_content_length(self.environ) is None
        ):
            return _MaxLengthStream(self.environ["wsgi.input"], maximum)
        return super().stream


def create_app(test_config: dict | None = None, *, plugins: list | None = None) -> Flask:
    """Build the app: settings, database, plugins (entry points, or exactly ``plugins``),
    providers, engine, REST API and webhook endpoint."""
    from flux_recon.core import secret_box
    from flux_recon.plugins import get_plugin_manager
    from flux_recon.providers import ProviderRegistry
    from flux_recon.reconciliation import Engine
    from flux_recon.web import console, database, observability, rate_limit
    from flux_recon.web.api import Api
    from flux_recon.web.client_ip import parse_networks
    from flux_recon.web.resources import docs_assets, register_blueprints
    from flux_recon.web.resources.health.routes import blp as health_blp
    from flux_recon.web.settings import load_settings
    from flux_recon.web.webhook_route import WebhookHandler
    from flux_recon.web.webhook_route import blp as webhooks_blp

    # Named for the package, so the instance folder stays where it always was (./instance).
    app = Flask("flux_recon", instance_relative_config=True)
    app.request_class = BodyLimitedRequest
    app.json = ExactJSONProvider(app)
    load_settings(app, test_config)

    database.init_app(app)
    secret_box.init_app(app)

    pm = get_plugin_manager(plugins)
    registry = ProviderRegistry()
    pm.hook.flux_recon_register_providers(register=registry.register)
    matchers = []
    pm.hook.flux_recon_register_matchers(register=matchers.append)
    app.extensions.update(
        plugin_manager=pm,
        providers=registry,
        engine=Engine(matchers),
        trusted_proxies=parse_networks(app.config["TRUSTED_PROXIES"]),
    )
    app.extensions["webhook_handler"] = handler = WebhookHandler(app)
    # Replays (REST, CLI, a worker) run the same pipeline without a request.
    app.extensions["webhook_pipeline"] = handler.pipeline

    api = Api(app)
    api_blueprints = register_blueprints(api)
    api.register_blueprint(webhooks_blp)
    api.register_blueprint(health_blp)
    app.register_blueprint(docs_assets.blp)
    rate_limit.init_app(app, [webhooks_blp], api_blueprints)
    # Cookie sessions exist only under /console/; the API and webhooks keep none.
    console.init_app(app)
    observability.init_app(app)
    return app
