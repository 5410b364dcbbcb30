"""The request's tenant's row by id (a 404 otherwise), for routes not yet moved to a service."""

from __future__ import annotations

from flask import g

from flux_recon.services import owned


def get_owned(model, object_id: int, noun: str, *, query=None, owner=None, tenant_id: str | None = None):
    """``services.owned.get_owned`` for the tenant of this request unless ``tenant_id`` says otherwise."""
    return owned.get_owned(
        model, object_id, noun, g.tenant.id if tenant_id is None else tenant_id, query=query, owner=owner
    )
