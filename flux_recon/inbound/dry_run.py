"""A webhook tried against an integration: its auth checks (not the allow-list) and parse, nothing recorded."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from flux_recon.core.states import Verdict
from flux_recon.inbound.auth_cache import AuthCache
from flux_recon.inbound.pipeline import (
    Rejection,
    WebhookPipeline,
    _case_insensitive,
    _mimetype,
    _parse,
    _require_json,
)
from flux_recon.money import MoneyError, format_minor, to_minor
from flux_recon.providers import Ignored, IpAllowlist, PaymentNotice, Unrecognized, WebhookRequest
from flux_recon.providers.settlement_api import SettlementNotice
from flux_recon.providers.settlements import SettlementRecord
from flux_recon.reconciliation import InvalidNotice
from flux_recon.reconciliation.records import exact

# The address a dry run "comes from": it is no sender's, and the allow-list is not checked.
DRY_RUN_ADDRESS = ipaddress.ip_address("0.0.0.0")  # noqa: S104 - an address shown, never bound
SKIPPED_CHECKS = ("ip_allowlist",)


def dry_run(
    provider,
    integration,
    *,
    body: bytes,
    headers: Mapping[str, str],
    secret_box,
    options: Mapping[str, Any] | None = None,
) -> dict:
    """What the webhook URL of ``integration`` would answer to ``body`` and ``headers``, by
    the same steps the pipeline takes: the provider's auth checks except the IP allow-list,
    the JSON content type (assumed when ``headers`` name none), ``parse`` and the engine's
    own checks of each notice. ``options`` (already validated) replace the saved ones.

    Reads the integration's credentials and nothing else; writes nothing: no inbox row, no
    payment, no audit entry, no event. A notice's ``verdict`` is ``accepted`` where the real
    webhook would be ``accepted`` or ``duplicate`` (whether it was received before is not looked up).
    A settlement webhook's payouts are summarised (outcome ``settlement``), not recorded.
    """
    resolved = provider.resolve_options(integration.options if options is None else options)
    headers = _case_insensitive(headers)
    webhook = WebhookRequest(body=body, headers=headers, options=resolved)
    context = AuthCache(secret_box).context(integration, DRY_RUN_ADDRESS, resolved)
    # The allow-list is the one check a dry run cannot make: the request comes from the merchant.
    without_allowlist = SimpleNamespace(
        name=provider.name, auth=tuple(check for check in provider.auth if not isinstance(check, IpAllowlist))
    )
    try:
        WebhookPipeline._authenticate(without_allowlist, webhook, context)
        if headers.get("Content-Type") is not None:
            _require_json(_mimetype(headers))
        result = _parse(provider, webhook)
        if isinstance(result, Unrecognized):
            return _answer("unrecognized", Verdict.UNRECOGNIZED, provider.unrecognized_status, result.reason)
        if isinstance(result, Ignored):
            return _answer("ignored", Verdict.IGNORED, 200, result.reason)
        if isinstance(result, SettlementNotice):
            # Whether it is recorded whole (its lines matched, a resend a duplicate) is the
            # recorder's to say, and it writes: the dry run shows what the webhook announces.
            settlements = [settlement_view(record) for record in result.records]
            return _answer("settlement", Verdict.ACCEPTED, 200, None, settlements=settlements)
        notices = [_checked(notice, integration) for notice in result]
    except Rejection as rejection:
        return _answer("refused", rejection.verdict, rejection.status, rejection.message, rejection.errors)
    return _answer("notices", Verdict.ACCEPTED, 200, None, notices=[notice_view(n) for n in notices])


def _checked(notice: PaymentNotice, integration) -> PaymentNotice:
    """The engine's checks before it records anything (the pipeline's 422s after parse)."""
    if notice.tenant_hint is not None and notice.tenant_hint != integration.tenant_id:
        raise Rejection(
            422,
            Verdict.INVALID_PAYLOAD,
            f"tenantId {notice.tenant_hint!r} is not the tenant of this integration",
            {"tenantId": ["does not match the integration's tenant"]},
        )
    try:
        checked, _ = exact(notice)
    except InvalidNotice as exc:
        raise Rejection(422, Verdict.INVALID_PAYLOAD, exc.message, {exc.field: [exc.message]}) from None
    return checked


def _answer(outcome, verdict, status, message, errors=None, notices=(), settlements=()) -> dict:
    return {
        "outcome": outcome,
        "verdict": str(verdict),
        "http_status": status,
        "message": message,
        "errors": errors or {},
        "notices": list(notices),
        "settlements": list(settlements),
        "skipped_checks": list(SKIPPED_CHECKS),
        "recorded": False,
    }


def _money(amount, currency: str) -> str | None:
    if amount is None:
        return None
    try:
        return format_minor(to_minor(amount, currency), currency)
    except MoneyError:
        return str(amount)


def settlement_view(record: SettlementRecord) -> dict:
    """A payout a settlement webhook announces: its totals as decimal strings (None where the
    webhook states none: the sums of its lines are then taken), and how many lines it lists."""
    return {
        "reference": record.reference,
        "currency": record.currency,
        "settled_at": record.settled_at.isoformat(),
        "gross": _money(record.gross, record.currency),
        "fees": _money(record.fees, record.currency),
        "net": _money(record.net, record.currency),
        "destination_account": record.destination_account,
        "lines": len(record.lines),
    }


def notice_view(notice: PaymentNotice) -> dict:
    """A notice as the API shows it: amounts as decimal strings in the currency's places."""
    payer = notice.payer
    return {
        "kind": str(notice.kind),
        "status": str(notice.status),
        "external_id": notice.external_id,
        "amount": _money(notice.amount, notice.currency),
        "currency": notice.currency,
        "method": str(notice.method),
        "references": list(notice.references),
        "occurred_at": notice.occurred_at.isoformat(),
        "payer": {
            "name": payer.name,
            "email": payer.email,
            "phone": payer.phone,
            "customer_id": payer.customer_id,
            "account_number": payer.account_number,
            "bank": payer.bank,
        },
        "destination_account": notice.destination_account,
        "parent_external_id": notice.parent_external_id,
        "fee": _money(notice.fee, notice.currency),
        "settlement_amount": _money(notice.settlement_amount, notice.currency),
    }
