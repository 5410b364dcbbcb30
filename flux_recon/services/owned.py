"""Looking up one of a tenant's rows by id: another tenant's row is not found, like a missing one."""

from __future__ import annotations

from flux_recon.services.errors import NotFound


def get_owned(model, object_id: int, noun: str, tenant_id: str, *, query=None, owner=None):
    """The row of ``model`` with this id that the tenant owns, or NotFound "<noun> <id> not found".

    ``query`` is where to look (default ``model.select()``), for joins, locks and extra
    conditions; ``owner`` the field naming the tenant (default ``model.tenant``).
    """
    query = model.select() if query is None else query
    owner = model.tenant if owner is None else owner
    row = query.where((model.id == object_id) & (owner == tenant_id)).first()
    if row is None:
        raise NotFound(f"{noun} {object_id} not found")
    return row
