"""One webhook, start to finish: integration -> auth -> parse -> engine, all recorded; no web framework needed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from urllib3 import HTTPHeaderDict

from flux_recon.core.domain_events import announce
from flux_recon.core.metrics import RECONCILIATIONS
from flux_recon.core.states import Verdict
from flux_recon.inbound import inbox
from flux_recon.inbound.auth_cache import AuthCache, find_integration
from flux_recon.models import Integration, WebhookEvent
from flux_recon.outbound.outbox import publishing
from flux_recon.providers import (
    AuthFailure,
    AuthUnavailable,
    Ignored,
    MalformedBody,
    PayloadError,
    PaymentNotice,
    Unrecognized,
    WebhookRequest,
)
from flux_recon.providers.settlement_api import SettlementNotice
from flux_recon.reconciliation import InvalidNotice, ReconciliationSettings

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)


@dataclass
class Rejection(Exception):
    """A refused webhook: its HTTP answer and its inbox verdict."""

    status: int
    verdict: str
    message: str
    errors: dict | None = None


@dataclass
class Arrival:
    """One webhook as the inbox will record it: where from, what, verified by which credential."""

    integration: Integration
    client_ip: object
    headers: dict
    body: bytes | None = None
    credential_id: int | None = None
    authenticated: bool = False
    replay_of: int | None = None


class _Answered(Rejection):
    """A refusal already recorded in the inbox (its verdict is written once)."""


def _admit_all(token: str) -> None:
    return None


def _keep_every_refusal(integration_id: int, client_ip) -> bool:
    return True


@dataclass
class SettlementOutcome:
    """What recording a settlement webhook did: ``accepted`` (a settlement new or extended) or
    ``duplicate`` (all of it known already), the settlements, and the events to announce to
    plugins after the commit (already in the outbox)."""

    status: str
    settlement_ids: list[int]
    summary: dict
    events: list[dict]
    note: str | None = None


class WebhookPipeline:
    """Receives webhooks (from the HTTP route, as plain values) and replays stored ones
    through the same steps, for one set of providers, engine and plugins.

    ``settings`` is read at each use (``WEBHOOK_INBOX_BODY_LIMIT``). ``record_settlements``
    records a ``SettlementNotice`` inside the webhook's transaction (the domain layer's
    ``services.settlement_webhooks.record_webhook_settlements``, passed in because this layer
    is below it): ``(tenant_id=, integration=, records=, actor=) -> SettlementOutcome``,
    raising PayloadError for records it refuses. Without it a settlement webhook is kept as
    unrecognized. Two policies come from the caller: ``admit(token)``, called once a webhook
    has passed its auth checks, spends the integration's rate limit and may raise to refuse
    it (such a refusal passes through unrecorded); ``keep_refusal(integration_id, client_ip)``
    says whether a request from an address off the allow-list is kept in the inbox or only
    counted.
    """

    def __init__(
        self,
        *,
        providers,
        engine,
        plugin_manager,
        secret_box,
        settings: Mapping,
        admit: Callable[[str], None] = _admit_all,
        keep_refusal: Callable[[int, object], bool] = _keep_every_refusal,
        record_settlements: Callable[..., SettlementOutcome] | None = None,
    ):
        self.providers = providers
        self.engine = engine
        self.plugin_manager = plugin_manager
        self.settings = settings
        self.admit = admit
        self.keep_refusal = keep_refusal
        self.record_settlements = record_settlements
        self.auth_cache = AuthCache(secret_box)

    def handle(
        self,
        provider_name: str,
        token: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        client_ip,
        body_refusal: str | None = None,
    ) -> dict:
        """One webhook to ``/webhooks/<provider_name>/<token>``: its result, or Rejection.

        ``headers`` are looked up regardless of case; ``client_ip`` is the sender's address
        as the caller worked it out. ``body_refusal`` is why the caller could not read the
        body (too large): it is refused with 413 once the integration is known, and recorded.
        """
        integration = find_integration(provider_name, token)
        provider = self.providers.get(provider_name)
        if integration is None or provider is None:
            # No integration to record it under: answered, never stored.
            raise Rejection(404, "unknown_integration", "no enabled integration at this webhook URL")

        headers = _case_insensitive(headers)
        arrival = Arrival(integration, client_ip, inbox.selected_headers(headers, provider.sensitive_headers()))
        try:
            if body_refusal is not None:
                raise Rejection(413, Verdict.INVALID_PAYLOAD, body_refusal)
            arrival.body = body
            options = provider.resolve_options(integration.options)
            webhook = WebhookRequest(body=body, headers=headers, options=options)
            credential = self._authenticate(provider, webhook, self.auth_cache.context(integration, client_ip, options))
            arrival.credential_id = credential.id if credential else None
            arrival.authenticated = True
            self.admit(token)
            _require_json(_mimetype(headers))
            return self.process(provider, webhook, arrival)
        except _Answered:
            raise
        except Rejection as rejection:
            # A stranger off the allow-list is kept in the inbox only as a sample; the
            # rest of its refusals are counted, not stored.
            if rejection.verdict == Verdict.REJECTED_ADDRESS and not self.keep_refusal(integration.id, client_ip):
                inbox.count_unrecorded(integration, rejection.verdict)
            else:
                self._record(arrival, rejection.verdict, rejection.status, rejection.message)
            raise

    def replay(self, event: WebhookEvent) -> tuple[WebhookEvent, dict]:
        """Parse and reconcile a stored, authenticated webhook again. The engine's
        idempotency means a payment already recorded is a duplicate, never counted twice.
        Returns the inbox record of the replay and its result."""
        provider = self.providers.get(event.provider)
        arrival = Arrival(
            event.integration, "replay", event.headers or {}, bytes(event.body), event.credential_id, True, event.id
        )
        try:
            if provider is None:
                raise Rejection(
                    422, Verdict.INVALID_PAYLOAD, f"provider {event.provider!r} is not loaded on this server"
                )
            options = provider.resolve_options(event.integration.options)
            webhook = WebhookRequest(body=arrival.body, headers=arrival.headers, options=options)
            result = self.process(provider, webhook, arrival)
        except _Answered as answered:
            result = {"status": answered.verdict, "reason": answered.message, "errors": {}}
        except Rejection as rejection:
            self._record(arrival, rejection.verdict, rejection.status, rejection.message)
            result = {"status": rejection.verdict, "reason": rejection.message, "errors": rejection.errors or {}}
        record = WebhookEvent.select().where(WebhookEvent.replay_of == event.id).order_by(WebhookEvent.id.desc()).get()
        return record, result

    def process(self, provider, webhook: WebhookRequest, arrival: Arrival) -> dict:
        """Parse an authenticated webhook and record what it carries; raises Rejection."""
        notices = _parse(provider, webhook)
        if isinstance(notices, Unrecognized):
            return self._unrecognized(provider, arrival, notices.reason)
        if isinstance(notices, Ignored):
            self._record(arrival, Verdict.IGNORED, 200, notices.reason)
            return {
                "status": Verdict.IGNORED,
                "reason": notices.reason,
                "payment_id": None,
                "reconciliation": None,
                "payments": [],
            }
        if isinstance(notices, SettlementNotice):
            if self.record_settlements is None:
                return self._unrecognized(provider, arrival, "a settlement webhook, and this server records none")
            return self._accept_settlements(arrival, notices)
        return self._accept(arrival, notices)

    def _accept_settlements(self, arrival: Arrival, notice: SettlementNotice) -> dict:
        """Record the settlements a webhook announces in the transaction that records the
        webhook: the same settlement sent again is a duplicate, and a line whose payment's
        webhook never came recovers that payment (reconciled like any payment)."""
        integration = arrival.integration
        try:
            with publishing(self.plugin_manager):
                outcome = self.record_settlements(
                    tenant_id=integration.tenant_id,
                    integration=integration,
                    records=notice.records,
                    actor=f"webhook:{integration.provider}",
                )
                self._record(arrival, outcome.status, 200, outcome.note)
        except PayloadError as exc:
            raise Rejection(422, Verdict.INVALID_PAYLOAD, exc.message, exc.errors or None) from None
        announce(self.plugin_manager, outcome.events)
        return {
            "status": outcome.status,
            "payment_id": None,
            "reconciliation": None,
            "payments": [],
            "settlement_ids": outcome.settlement_ids,
            "settlement": outcome.summary,
        }

    def _unrecognized(self, provider, arrival: Arrival, reason: str) -> dict:
        """Keep a webhook its plugin cannot read, and tell the merchant (``webhook.unrecognized``)
        in the same transaction: it may be a payment. A replay that is again unrecognized is
        not announced again; the one who replays it sees the answer."""
        status = provider.unrecognized_status
        with publishing(self.plugin_manager) as events:
            announced = inbox.unrecognized_announced(arrival.replay_of)
            record = self._record(arrival, Verdict.UNRECOGNIZED, status, reason)
            if not announced:
                events.append(inbox.unrecognized_event(record))
        if status >= 400:
            raise _Answered(status, Verdict.UNRECOGNIZED, reason)
        return {
            "status": Verdict.UNRECOGNIZED,
            "reason": reason,
            "payment_id": None,
            "reconciliation": None,
            "payments": [],
        }

    @staticmethod
    def _authenticate(provider, webhook, context):
        credential = None
        for check in provider.auth:
            try:
                verified = check.verify(webhook, context)
            except AuthFailure as failure:
                raise Rejection(failure.status, failure.verdict, failure.message) from None
            except AuthUnavailable as exc:
                raise Rejection(503, Verdict.VERIFICATION_UNAVAILABLE, exc.message) from None
            except MalformedBody as exc:
                # A body-field signature needs the JSON first.
                raise Rejection(400, Verdict.INVALID_PAYLOAD, str(exc)) from None
            except Exception:
                # A plugin's own check failing on odd input refuses the request; never a 500.
                log.exception("auth check %s of provider %s failed", type(check).__name__, provider.name)
                raise Rejection(401, Verdict.REJECTED_SIGNATURE, "the request could not be verified") from None
            credential = verified or credential
        return credential

    def _accept(self, arrival: Arrival, notices: list[PaymentNotice]) -> dict:
        integration = arrival.integration
        tenant_id = integration.tenant_id
        # Read with the integration (find_integration joins them): no query of its own.
        settings = ReconciliationSettings.from_json(integration.tenant.settings)
        for notice in notices:
            if notice.tenant_hint is not None and notice.tenant_hint != tenant_id:
                raise Rejection(
                    422,
                    Verdict.INVALID_PAYLOAD,
                    f"tenantId {notice.tenant_hint!r} is not the tenant of this integration",
                    {"tenantId": ["does not match the integration's tenant"]},
                )
        try:
            # The payment, its reconciliation, the inbox record and the outbound events
            # commit together; plugins hear of the events only after that.
            with publishing(self.plugin_manager, tenant_id=tenant_id) as events:
                outcomes = [
                    self.engine.record(
                        tenant_id=tenant_id,
                        provider=integration.provider,
                        notice=notice,
                        integration_id=integration.id,
                        settings=settings,
                    )
                    for notice in notices
                ]
                status = Verdict.ACCEPTED if any(o.status == Verdict.ACCEPTED for o in outcomes) else Verdict.DUPLICATE
                notes = "; ".join(o.note for o in outcomes if o.note) or None
                self._record(arrival, status, 200, notes, payment_id=outcomes[0].payment.id)
                events += [event for outcome in outcomes for event in outcome.events]
        except InvalidNotice as exc:
            raise Rejection(422, Verdict.INVALID_PAYLOAD, exc.message, {exc.field: [exc.message]}) from None
        for outcome in outcomes:
            RECONCILIATIONS.labels(outcome.status, outcome.reconciliation).inc()
        payments = [
            {"payment_id": o.payment.id, "status": o.status, "reconciliation": o.reconciliation} for o in outcomes
        ]
        return {
            "status": status,
            "payment_id": payments[0]["payment_id"],
            "reconciliation": payments[0]["reconciliation"],
            "payments": payments,
        }

    def _record(self, arrival: Arrival, verdict, http_status, reason, payment_id=None) -> WebhookEvent:
        return inbox.record(
            integration=arrival.integration,
            client_ip=arrival.client_ip,
            verdict=verdict,
            http_status=http_status,
            reason=reason,
            headers=arrival.headers,
            body=arrival.body,
            body_limit=self.settings["WEBHOOK_INBOX_BODY_LIMIT"],
            credential_id=arrival.credential_id,
            payment_id=payment_id,
            authenticated=arrival.authenticated,
            replay_of=arrival.replay_of,
        )


def _case_insensitive(headers: Mapping[str, str]) -> Mapping[str, str]:
    """HTTP header names ignore case: a plain dict is wrapped so lookups do too. A web
    framework's headers (they have ``getlist``) already do, and are used as they are."""
    return headers if hasattr(headers, "getlist") else HTTPHeaderDict(headers)


def _mimetype(headers: Mapping[str, str]) -> str:
    """The Content-Type without its parameters, lower-cased (as werkzeug's ``mimetype``)."""
    return (headers.get("Content-Type") or "").partition(";")[0].strip(" \t").lower()


def _require_json(mimetype: str) -> None:
    if mimetype not in JSON_TYPES and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise Rejection(
            415, Verdict.INVALID_PAYLOAD, f"Content-Type must be application/json, got {mimetype or 'none'}"
        )


def _parse(provider, webhook: WebhookRequest) -> list[PaymentNotice] | SettlementNotice | Ignored | Unrecognized:
    try:
        webhook.payload  # noqa: B018 - parse once here so malformed JSON is a 400, not a 422
        result = provider.parse(webhook)
    except MalformedBody as exc:
        raise Rejection(400, Verdict.INVALID_PAYLOAD, str(exc)) from None
    except PayloadError as exc:
        raise Rejection(422, Verdict.INVALID_PAYLOAD, exc.message, exc.errors or None) from None
    except Exception:
        # An adapter bug on odd input must still not be a 500 to the provider.
        log.exception("provider %s failed to parse a payload", provider.name)
        raise Rejection(422, Verdict.INVALID_PAYLOAD, "the provider adapter could not read this payload") from None
    if isinstance(result, (Ignored, Unrecognized, SettlementNotice)):
        return result
    if not isinstance(result, (list, tuple)) or not all(isinstance(n, PaymentNotice) for n in result):
        log.error("provider %s returned %r from parse()", provider.name, type(result))
        raise Rejection(422, Verdict.INVALID_PAYLOAD, "the provider adapter could not read this payload")
    if not result:
        # Only Ignored says "no money here" on purpose; an empty answer may be a format the
        # adapter missed, so it is kept, announced and replayable like any unrecognized one.
        return Unrecognized("the provider adapter found no payment in this webhook and did not say why")
    return list(result)
