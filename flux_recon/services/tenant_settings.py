"""A tenant's settings: reconciliation rules (strategies, customer window, tolerances) and its time zone."""

from __future__ import annotations

from collections.abc import Iterable

from flux_recon.models import Tenant
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rules import ReconciliationSettings, parse_time_zone, parse_tolerances
from flux_recon.services.errors import Invalid


def get_rules(tenant_id: str) -> ReconciliationSettings:
    """The tenant's reconciliation rules (the defaults where none were set)."""
    return tenant_settings(tenant_id)


def update_rules(tenant_id: str, actor: str, changes: dict, *, strategy_names: Iterable[str]) -> ReconciliationSettings:
    """Change only the rules in ``changes`` (``disabled_strategies``, ``customer_window_days``,
    ``tolerances`` as decimal strings per currency, ``time_zone`` an IANA name) and record the
    result in the audit log.

    ``strategy_names`` are the engine's strategies, the only ones that can be disabled.
    Rules changed meanwhile by someone else and not named in ``changes`` are kept.
    Raises Invalid naming the field for an unknown strategy, a bad tolerance or time zone. Applies to
    payments reconciled from now on.
    """
    updates: dict = {}
    if "disabled_strategies" in changes:
        known = set(strategy_names)
        unknown = sorted(set(changes["disabled_strategies"]) - known)
        if unknown:
            raise Invalid(
                f"unknown strategies: {', '.join(unknown)}",
                {"disabled_strategies": [f"must be among: {', '.join(sorted(known))}"]},
            )
        updates["disabled_strategies"] = sorted(set(changes["disabled_strategies"]))
    if "customer_window_days" in changes:
        updates["customer_window_days"] = changes["customer_window_days"]
    if "tolerances" in changes:
        try:
            updates["tolerances"] = parse_tolerances(changes["tolerances"])
        except ValueError as exc:
            raise Invalid(str(exc), {"tolerances": [str(exc)]}) from None
    if "time_zone" in changes:
        try:
            updates["time_zone"] = parse_time_zone(changes["time_zone"])
        except ValueError as exc:
            raise Invalid(str(exc), {"time_zone": [str(exc)]}) from None
    with write_transaction():
        # Read under the lock the write takes: a change to other fields committed meanwhile is kept.
        stored = locked(Tenant.select(Tenant.settings).where(Tenant.id == tenant_id)).scalar()
        current = {**ReconciliationSettings.from_json(stored).to_json(), **updates}
        Tenant.update(settings=current).where(Tenant.id == tenant_id).execute()
        record_audit(tenant_id, actor, "settings.changed", "tenant", tenant_id, current)
    return ReconciliationSettings.from_json(current)
