"""REST resources, one folder each (routes.py + schemas.py), registered on the Api."""

from __future__ import annotations

from importlib import import_module

MODULES = (
    "tenants",
    "providers",
    "integrations",
    "credentials",
    "orders",
    "payments",
    "inbox",
    "reports",
    "reconciliation_runs",
    "exceptions",
    "suggestions",
    "exports",
    "audit",
    "settings",
    "subscriptions",
    "settlements",
    "settlement_reports",
    "settlement_pulls",
)


def register_blueprints(api) -> list:
    """Each routes module's ``blp`` under ``/api/v1/<name>`` (or its own ``URL_PREFIX``)."""
    blueprints = []
    for name in MODULES:
        module = import_module(f"{__name__}.{name}.routes")
        api.register_blueprint(module.blp, url_prefix=getattr(module, "URL_PREFIX", f"/api/v1/{name}"))
        blueprints.append(module.blp)
    return blueprints
