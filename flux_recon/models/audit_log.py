"""Writing the append-only audit log (rows are only ever inserted)."""

from __future__ import annotations

from flux_recon.models import AuditEntry
from flux_recon.models.prepared import PreparedAppend

_insert = PreparedAppend(AuditEntry)


def record_audit(tenant_id: str, actor: str, action: str, object_type: str, object_id, details=None) -> None:
    _insert(
        tenant=tenant_id, actor=actor, action=action, object_type=object_type, object_id=str(object_id), details=details
    )
