"""The webhook inbox: one row per request to a known integration, strangers' refusals sampled."""

from __future__ import annotations

from flux_recon.core.metrics import UNRECORDED, WEBHOOKS
from flux_recon.core.states import Verdict
from flux_recon.models import WebhookEvent
from flux_recon.models.prepared import PreparedInsert

# Headers worth keeping for an audit; signature-bearing ones are redacted (see redact()).
KEPT_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Request-Id")


_insert = PreparedInsert(WebhookEvent)

# Verdicts whose body is kept whole (the route already bounds it by MAX_CONTENT_LENGTH) when
# the request passed authentication: such a webhook is acknowledged or refused for good, so
# a replay of the inbox's copy, once the plugin reads it, is the only way its money is recorded.
WHOLE_BODY_VERDICTS = frozenset({Verdict.UNRECOGNIZED, Verdict.INVALID_PAYLOAD})

UNRECOGNIZED_EVENT = "webhook.unrecognized"
# Where a merchant replays a stored webhook once its plugin reads the format.
REPLAY_PATH = "/api/v1/webhook-events/{id}/replay"


def redact(value: str) -> str:
    """Enough of a signature to tell two apart in an audit, never enough to reuse."""
    return value[:6] + "…" if len(value) > 6 else "…"


def selected_headers(headers, sensitive: tuple[str, ...]) -> dict[str, str]:
    kept = {name: headers.get(name) for name in KEPT_HEADERS if headers.get(name) is not None}
    for name in sensitive:
        value = headers.get(name)
        if value is not None:
            kept[name] = redact(value)
    return kept


def record(
    *,
    integration,
    client_ip,
    verdict: str,
    http_status: int,
    reason: str | None,
    headers: dict,
    body: bytes | None,
    body_limit: int,
    credential_id=None,
    payment_id=None,
    authenticated: bool = False,
    replay_of: int | None = None,
) -> WebhookEvent:
    body = body or b""
    size = len(body)
    # Cut only past the limit, so the usual small accepted webhook costs one comparison.
    truncated = size > body_limit and not (authenticated and verdict in WHOLE_BODY_VERDICTS)
    WEBHOOKS.labels(integration.provider, verdict).inc()
    return _insert(
        tenant=integration.tenant_id,
        integration=integration.id,
        provider=integration.provider,
        source_ip=str(client_ip),
        verdict=verdict,
        reason=reason,
        http_status=http_status,
        headers=headers,
        body=body[:body_limit] if truncated else body,
        body_size=size,
        body_truncated=truncated,
        credential_id=credential_id,
        payment=payment_id,
        authenticated=authenticated,
        replay_of=replay_of,
    )


def unrecognized_announced(replay_of: int | None) -> bool:
    """Whether the webhook a replay goes back to was already announced as unrecognized: by
    the webhook as received, an earlier replay, or a replay of one. A first arrival never was."""
    if replay_of is None:
        return False
    chain, current = [], replay_of
    while current is not None and current not in chain:
        chain.append(current)
        current = WebhookEvent.select(WebhookEvent.replay_of).where(WebhookEvent.id == current).scalar()
    return (
        WebhookEvent.select()
        .where(
            (WebhookEvent.verdict == Verdict.UNRECOGNIZED)
            & (WebhookEvent.id.in_(chain) | WebhookEvent.replay_of.in_(chain))
        )
        .exists()
    )


def unrecognized_event(record: WebhookEvent) -> dict:
    """The ``webhook.unrecognized`` domain event of an inbox record, with the document
    subscribers receive. It names the record and why; it never carries the body or headers,
    which may hold a signature or the payer's details (they stay in the inbox, behind the API)."""
    replayable = bool(record.authenticated and record.body is not None and not record.body_truncated)
    document = {
        "webhook_event_id": record.id,
        "provider": record.provider,
        "integration_id": record.integration_id,
        "reason": record.reason,
        "http_status": record.http_status,
        "received_at": record.received_at.isoformat(),
        "replay_of": record.replay_of,
        "replayable": replayable,
        "replay": REPLAY_PATH.format(id=record.id) if replayable else None,
    }
    payload = {"webhook_event_id": record.id, "provider": record.provider, "integration_id": record.integration_id}
    return {"event_type": UNRECOGNIZED_EVENT, "tenant_id": record.tenant_id, "payload": payload, "document": document}


def count_unrecorded(integration, verdict: str) -> None:
    """A refusal the inbox does not keep (beyond WEBHOOK_INBOX_REFUSED_SAMPLE_*): counted only."""
    WEBHOOKS.labels(integration.provider, verdict).inc()
    UNRECORDED.labels(integration.provider, verdict).inc()
