"""Settlements from a provider's webhooks and API in the plugin API: SettlementNotice, SettlementApi, its errors."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from flux_recon.providers.notice import PaymentNotice
from flux_recon.providers.settlements import SettlementLineRecord, SettlementRecord

# An operator's opt-in (environment, never a tenant's option): a provider API base URL may be
# http to a loopback address (a local proxy, a test server). Off, a tenant could make this
# server call its own local ports with the integration's API secrets.
LOOPBACK_SETTING = "FLUX_RECON_PROVIDER_API_LOOPBACK"


@dataclass(frozen=True)
class SettlementNotice:
    """What ``Provider.parse`` returns for a settlement webhook: the payouts it announces.

    Each ``SettlementRecord`` may carry its ``lines``; one without lines records the
    settlement's header (``awaiting_lines``) and its lines come later (an API pull, a
    statement). The pipeline records them in the webhook's own transaction: the same
    settlement sent again is a ``duplicate``.
    """

    records: tuple[SettlementRecord, ...]

    def __post_init__(self):
        records = tuple(self.records)
        if not records or not all(isinstance(r, SettlementRecord) for r in records):
            raise TypeError("SettlementNotice.records must be one or more SettlementRecords")
        object.__setattr__(self, "records", records)


class ProviderApiError(Exception):
    """A provider's API did not give what was asked (an answer that is not the documented
    shape, a 4xx other than 401/403). ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class ProviderAuthRefused(ProviderApiError):
    """The provider refused the integration's API credentials (HTTP 401 or 403): pulls stop
    until the merchant changes them; retrying the same keys cannot help."""


class ProviderUnavailable(ProviderApiError):
    """No usable answer after the retries: no connection, a timeout, 429 or 5xx."""


class ApiSession(Protocol):
    """The HTTP client a ``SettlementApi`` is handed (the core builds it: the base URL is
    checked, non-loopback hosts go through the SSRF guard, every call has timeouts and is
    retried with backoff on connection errors, 429 and 5xx). Paths are joined to the base URL.

    ``get_json``/``post_json`` return the decoded JSON (numbers as ``Decimal``/``int``) of a
    2xx answer; 401/403 raise ``ProviderAuthRefused``, other failures ``ProviderUnavailable``
    or ``ProviderApiError``.
    """

    base_url: str

    def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any: ...  # noqa: E501

    def post_json(self, path: str, *, body: Any = None, headers: Mapping[str, str] | None = None) -> Any: ...


class SettlementApi:
    """A provider's API for settlements, declared on the provider as ``settlement_api = MyApi()``.

    - ``credentials``: the names of the provider's (supplied) credential fields the API needs;
      an integration is pulled only once all are set;
    - ``base_url_option``: the integration option holding the API's base URL (declare it in
      ``option_fields`` with the live URL as its default);
    - ``fetch_settlements(session, credentials, options, since, until, *, awaiting_lines)``:
      the settlements paid out from ``since`` to ``until`` (tz-aware UTC), with their lines;
      ``awaiting_lines`` names settlements already known without lines (from a webhook),
      whose lines the API should fetch too. Yield ``SettlementRecord``s (lines inside them,
      or as ``SettlementLineRecord``s after their header);
    - ``fetch_transaction(session, credentials, options, transaction_id)``: one transaction's
      current state as a ``PaymentNotice`` (its ``external_id`` the id webhooks use), or None
      if the provider does not know it.

    ``credentials`` is a mapping of credential name to secret. Raise ``ProviderApiError`` for
    an answer you cannot read; the session raises the rest.
    """

    credentials: ClassVar[tuple[str, ...]] = ()
    base_url_option: ClassVar[str] = "api_base_url"

    def fetch_settlements(
        self,
        session: ApiSession,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
        since: dt.datetime,
        until: dt.datetime,
        *,
        awaiting_lines: tuple[str, ...] = (),
    ) -> Iterable[SettlementRecord | SettlementLineRecord]:
        raise NotImplementedError

    def fetch_transaction(
        self, session: ApiSession, credentials: Mapping[str, str], options: Mapping[str, Any], transaction_id: str
    ) -> PaymentNotice | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"credentials": list(self.credentials), "base_url_option": self.base_url_option}


def loopback_allowed() -> bool:
    return os.environ.get(LOOPBACK_SETTING, "").strip().lower() in ("1", "true", "yes")


def is_loopback_host(hostname: str | None) -> bool:
    try:
        return ipaddress.ip_address((hostname or "").strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere, so it goes through the SSRF guard


def api_base_url_problems(url: Any) -> list[str]:
    """Why ``url`` cannot be a provider API's base URL (none when it can): https with a host,
    or, where the operator set FLUX_RECON_PROVIDER_API_LOOPBACK=1, http(s) to a loopback
    address. For a provider's ``validate_options``; no I/O."""
    if not isinstance(url, str) or not url.strip():
        return ["must be a URL such as https://api.example.com"]
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - read so a bad port is refused here, not at the first pull
    except ValueError as exc:
        return [f"cannot be read as a URL: {exc}"]
    problems = []
    loopback = is_loopback_host(parts.hostname)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        problems.append("must be https://host/...")
    elif parts.scheme == "http" and not loopback:
        problems.append("must use https: the requests carry the integration's API secrets")
    elif loopback and not loopback_allowed():
        problems.append(f"must not be a loopback address unless the operator sets {LOOPBACK_SETTING}=1")
    if parts.username or parts.password:
        problems.append("must not carry credentials")
    if parts.query or parts.fragment:
        problems.append("must be a base URL, without a query or fragment")
    return problems
