"""Settlement pulls: an integration's provider API asked for its settlements, on a schedule or once; their state."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from prometheus_client import Counter

from flux_recon.models import Credential, Integration, utcnow
from flux_recon.models.settlement import Settlement, SettlementStatus
from flux_recon.models.settlement_pull import PullStatus, SettlementPull
from flux_recon.models.transactions import write_transaction
from flux_recon.money import from_minor
from flux_recon.outbound.provider_api import HttpSession
from flux_recon.providers.settlement_api import ProviderApiError, ProviderAuthRefused, ProviderUnavailable
from flux_recon.providers.settlements import SettlementLineRecord, SettlementRecord
from flux_recon.services.errors import Invalid
from flux_recon.services.owned import get_owned
from flux_recon.services.settlements import StatementRefused, record_settlements

log = logging.getLogger(__name__)

PULLS = Counter(
    "flux_recon_settlement_pulls", "Settlement pulls from provider APIs, by provider and result", ["provider", "result"]
)  # noqa: E501
# Each window starts this much before the end of the last one: a settlement the provider
# published late (or dated before it was visible) is still seen. Recording is idempotent.
OVERLAP = dt.timedelta(hours=24)
FIRST_WINDOW = dt.timedelta(days=7)
BACKOFF = dt.timedelta(minutes=5)  # after the first failure, doubled per failure
MAX_BACKOFF = dt.timedelta(hours=6)
MAX_ERROR = 500


@dataclass
class PullResult:
    integration_id: int
    status: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    summary: dict | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "integration_id": self.integration_id,
            "status": self.status,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "summary": self.summary,
            "error": self.error,
        }


def pullable(provider) -> bool:
    return getattr(provider, "settlement_api", None) is not None


def api_credentials(integration: Integration, provider, secret_box) -> dict[str, str] | None:
    """The secrets the provider's API needs, decrypted; None unless every one is set."""
    names = tuple(provider.settlement_api.credentials)
    rows = Credential.select().where(
        (Credential.integration == integration.id) & Credential.revoked_at.is_null() & Credential.name.in_(names)
    )
    found = {row.name: secret_box.decrypt(row.secret_encrypted) for row in rows}
    return found if all(found.get(name) for name in names) else None


def pull_integration(
    tenant_id: str,
    integration_id: int,
    *,
    providers,
    engine,
    plugin_manager,
    secret_box,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
    session_factory=HttpSession,
) -> PullResult:
    """Pull one integration's settlements from its provider's API and record them
    (source ``api``). The window is ``since``..``until``, by default from the end of the
    last successful pull (less OVERLAP; FIRST_WINDOW back for the first) to now. Invalid if
    the provider has no settlement API or the integration lacks its credentials. A refusal
    of the credentials (401/403) marks the pull ``credentials_refused`` (not retried by the
    schedule until they change); any other failure ``failing``, retried with backoff."""
    integration = get_owned(Integration, integration_id, "integration", tenant_id)
    provider = providers.get(integration.provider)
    if provider is None or not pullable(provider):
        raise Invalid(f"provider {integration.provider} has no settlement API to pull from")
    credentials = api_credentials(integration, provider, secret_box)
    if credentials is None:
        names = ", ".join(provider.settlement_api.credentials)
        raise Invalid(f"set the integration's API credentials first ({names})")
    now = now or utcnow()
    state = SettlementPull.get_or_none(SettlementPull.integration == integration.id)
    if until is None:
        until = now
    if since is None:
        since = state.covered_until - OVERLAP if state and state.covered_until else until - FIRST_WINDOW
    if since >= until:
        raise Invalid("since must be before until", {"since": ["must be before until"]})
    options = provider.resolve_options(integration.options)
    api = provider.settlement_api
    base_url = options.get(api.base_url_option)
    awaiting = _awaiting_lines(tenant_id, integration)
    result = PullResult(integration.id, PullStatus.OK, since, until)
    try:
        with session_factory(base_url) as session:
            # Read whole before the write transaction: no database lock is held on the network.
            items = list(api.fetch_settlements(session, credentials, options, since, until, awaiting_lines=awaiting))
        summary = record_settlements(
            tenant_id,
            integration,
            _with_known_headers(tenant_id, integration, items),
            source="api",
            engine=engine,
            plugin_manager=plugin_manager,
            actor=f"settlement-pull:{integration.provider}",
        )
        result.summary = summary.as_dict()
    except ProviderAuthRefused as exc:
        result.status, result.error = PullStatus.CREDENTIALS_REFUSED, exc.message
    except (ProviderUnavailable, ProviderApiError) as exc:
        result.status, result.error = PullStatus.FAILING, exc.message
    except StatementRefused as exc:
        result.status = PullStatus.FAILING
        result.error = f"the provider's answer was refused: {exc.message} {exc.fields}"
    except Exception as exc:  # a plugin's bug: kept as the pull's error, never a crashed worker
        log.exception("settlement pull of integration %s failed", integration.id)
        result.status, result.error = PullStatus.FAILING, f"the plugin failed: {type(exc).__name__}"
    _save_state(integration, result, now)
    PULLS.labels(integration.provider, str(result.status)).inc()
    return result


def _with_known_headers(tenant_id: str, integration: Integration, items: list) -> list:
    """Lines of a settlement already recorded (``awaiting_lines``) may come without their
    header: the recorded settlement's own is put before them."""
    named = {item.reference for item in items if isinstance(item, SettlementRecord)}
    lines = [item for item in items if isinstance(item, SettlementLineRecord) and item.settlement_reference]
    wanted = {line.settlement_reference for line in lines} - named
    headers = []
    for settlement in Settlement.select().where(
        (Settlement.tenant == tenant_id)
        & (Settlement.provider == integration.provider)
        & Settlement.reference.in_(sorted(wanted))
    ):
        own = None if settlement.totals_from_lines else settlement
        headers.append(
            SettlementRecord(
                reference=settlement.reference,
                settled_at=settlement.settled_at,
                currency=settlement.currency,
                gross=own and from_minor(own.gross_minor, own.currency),
                fees=own and from_minor(own.fees_minor, own.currency),
                net=own and from_minor(own.net_minor, own.currency),
            )
        )
    return headers + items


def _awaiting_lines(tenant_id: str, integration: Integration) -> tuple[str, ...]:
    query = (
        Settlement.select(Settlement.reference)
        .where(
            (Settlement.tenant == tenant_id)
            & (Settlement.provider == integration.provider)
            & (Settlement.status == SettlementStatus.AWAITING_LINES)
        )
        .order_by(Settlement.settled_at.desc())
        .limit(200)
    )
    return tuple(row.reference for row in query)


def _save_state(integration: Integration, result: PullResult, now: dt.datetime) -> None:
    with write_transaction():
        SettlementPull.insert(integration=integration.id, tenant=integration.tenant_id, updated_at=now)\
            .on_conflict_ignore().execute()  # fmt: skip
        state = SettlementPull.get(SettlementPull.integration == integration.id)
        state.last_attempt_at = now
        state.updated_at = now
        if result.status == PullStatus.OK:
            state.status = PullStatus.OK
            state.last_success_at = now
            state.covered_until = max(filter(None, (state.covered_until, result.until)))
            state.last_error = state.failing_since = state.next_attempt_at = state.refused_auth_version = None
            state.failures = 0
        else:
            state.status = result.status
            state.last_error = (result.error or "")[:MAX_ERROR]
            state.failing_since = state.failing_since or now
            state.failures += 1
            state.next_attempt_at = now + min(MAX_BACKOFF, BACKOFF * (2 ** (state.failures - 1)))
            if result.status == PullStatus.CREDENTIALS_REFUSED:
                state.refused_auth_version = integration.auth_version
        state.save()


def pull_state(tenant_id: str, integration_id: int, *, providers=None, secret_box=None) -> dict:
    """An integration's pull state, as the API shows it."""
    integration = get_owned(Integration, integration_id, "integration", tenant_id)
    state = SettlementPull.get_or_none(SettlementPull.integration == integration.id)
    provider = providers.get(integration.provider) if providers is not None else None
    document = {
        "integration_id": integration.id,
        "provider": integration.provider,
        "supported": bool(provider and pullable(provider)),
        "credentials_set": bool(
            provider and pullable(provider) and secret_box and api_credentials(integration, provider, secret_box)
        ),
        "status": None,
        "last_attempt_at": None,
        "last_success_at": None,
        "covered_until": None,
        "last_error": None,
        "failing_since": None,
        "failures": 0,
        "next_attempt_at": None,
    }
    if state is not None:
        document.update(
            status=str(state.status),
            last_attempt_at=state.last_attempt_at,
            last_success_at=state.last_success_at,
            covered_until=state.covered_until,
            last_error=state.last_error,
            failing_since=state.failing_since,
            failures=state.failures,
            next_attempt_at=state.next_attempt_at,
        )
    return document


def due_integrations(providers, secret_box, *, every: dt.timedelta, now: dt.datetime) -> list[Integration]:
    """Enabled integrations whose provider has a settlement API and whose API credentials are
    set, and whose pull is due: never pulled, or last attempted ``every`` ago and past any
    backoff; one whose credentials were refused only once they have changed."""
    names = [provider.name for provider in providers if pullable(provider)]
    if not names:
        return []
    states = {row.integration_id: row for row in SettlementPull.select()}
    due = []
    for integration in Integration.select().where(Integration.disabled_at.is_null() & Integration.provider.in_(names)):
        state = states.get(integration.id)
        if state is not None:
            if state.status == PullStatus.CREDENTIALS_REFUSED:
                if state.refused_auth_version == integration.auth_version:
                    continue  # the same keys would be refused again
            elif state.next_attempt_at is not None and state.next_attempt_at > now:
                continue
            elif state.status == PullStatus.OK and state.last_attempt_at and state.last_attempt_at + every > now:
                continue
        if api_credentials(integration, providers.get(integration.provider), secret_box) is None:
            continue
        due.append(integration)
    return due


def pull_due(
    providers, engine, plugin_manager, secret_box, *, every: dt.timedelta, now=None, stop=None
) -> list[PullResult]:  # noqa: E501
    """One round of the schedule: pull every due integration, one after another."""
    now = now or utcnow()
    results = []
    for integration in due_integrations(providers, secret_box, every=every, now=now):
        if stop is not None and stop.is_set():
            break
        try:
            results.append(
                pull_integration(
                    integration.tenant_id,
                    integration.id,
                    providers=providers,
                    engine=engine,
                    plugin_manager=plugin_manager,
                    secret_box=secret_box,
                    now=now,
                )
            )
        except Invalid as exc:  # its credentials went away meanwhile
            log.info("settlement pull of integration %s skipped: %s", integration.id, exc.message)
    return results
