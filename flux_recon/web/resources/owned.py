"""Looking up one of the tenant's rows by id: another tenant's row is a 404, like a missing one."""

from __future__ import annotations

from flask import g
from flask_smorest import abort


def get_owned(model, object_id: int, noun: str, *, query=None, owner=None, tenant_id: str | None = None):
    """The row of ``model`` with this id that the tenant owns, or 404 "<noun> <id> not found".

    ``query`` is where to look (default ``model.select()``), for joins, locks and extra
    conditions; ``owner`` the field naming the tenant (default ``model.tenant``);
    ``tenant_id`` the tenant (default the request's).
    """
    query = model.select() if query is None else query
    owner = model.tenant if owner is None else owner
    tenant_id = g.tenant.id if tenant_id is None else tenant_id
    row = query.where((model.id == object_id) & (owner == tenant_id)).first()
    if row is None:
        abort(404, message=f"{noun} {object_id} not found")
    return row
