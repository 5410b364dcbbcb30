"""The merchant console under /console/: server-rendered pages over the same domain operations as the REST API."""

from __future__ import annotations

from importlib import import_module

from flux_recon.web.console.blueprint import bp

# One module of views per section; each adds its routes to ``bp``.
VIEW_MODULES = (
    "dashboard",
    "account",
    "people",
    "integrations",
    "webhooks",
    "inbox",
    "orders",
    "payments",
    "queue",
    "settlements",
    "reports",
    "auth",
)


def init_app(app) -> None:
    """Register the console: its cookie sessions, CSRF protection, headers and pages."""
    from flux_recon.web.console import guard, templating

    for name in VIEW_MODULES:
        import_module(f"{__name__}.views.{name}")
    guard.init_app(app)
    templating.init_app(app)
    app.register_blueprint(bp)
    guard.limit_sign_in(app)
