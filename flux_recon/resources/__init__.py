"""REST resources, one folder each (routes.py + schemas.py), registered on the Api."""

from __future__ import annotations

from importlib import import_module

MODULES = ("tenants", "providers", "integrations", "orders", "payments", "reports", "audit", "settings")


def register_blueprints(api) -> None:
    for name in MODULES:
        api.register_blueprint(import_module(f"{__name__}.{name}.routes").blp, url_prefix=f"/api/v1/{name}")
