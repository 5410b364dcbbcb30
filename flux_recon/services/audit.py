"""Reading a tenant's audit log (entries are written where the changes are made, never edited)."""

from __future__ import annotations

import peewee

from flux_recon.models import AuditEntry


def list_entries(
    tenant_id: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
) -> peewee.ModelSelect:
    """The tenant's audit entries, newest first, with the given fields equal: a query to page through."""
    query = AuditEntry.select().where(AuditEntry.tenant == tenant_id)
    for column, value in (
        (AuditEntry.object_type, object_type),
        (AuditEntry.object_id, object_id),
        (AuditEntry.action, action),
        (AuditEntry.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    return query.order_by(AuditEntry.id.desc())
