"""flux-recon: provider webhooks verified, recorded and reconciled with sales orders.

``create_app`` builds the service; the names re-exported here are the public plugin API.
"""

from __future__ import annotations

from flux_recon.hookspecs import hookimpl
from flux_recon.money import MoneyError, from_minor, normalize_currency, parse_decimal, to_minor
from flux_recon.providers import (
    AuthCheck,
    AuthContext,
    AuthFailure,
    AuthUnavailable,
    BodyFieldSignature,
    CredentialField,
    CredentialValue,
    Fields,
    HeaderHmac,
    Ignored,
    IpAllowlist,
    MalformedBody,
    NoticeKind,
    NoticeStatus,
    OptionField,
    OptionsError,
    Payer,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
    Unrecognized,
    WebhookRequest,
    encode_json,
    secret_of,
    utc_time,
)
from flux_recon.providers.settlement_api import (
    ApiSession,
    ProviderApiError,
    ProviderAuthRefused,
    ProviderUnavailable,
    SettlementApi,
    SettlementNotice,
    api_base_url_problems,
)
from flux_recon.providers.settlements import (
    RowReader,
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
    StatementError,
    StatementFormat,
    csv_rows,
    parse_time,
)
from flux_recon.reconciliation import Matcher

__all__ = [
    "ApiSession",
    "AuthCheck",
    "AuthContext",
    "AuthFailure",
    "AuthUnavailable",
    "BodyFieldSignature",
    "CredentialField",
    "CredentialValue",
    "Fields",
    "HeaderHmac",
    "Ignored",
    "IpAllowlist",
    "MalformedBody",
    "Matcher",
    "MoneyError",
    "NoticeKind",
    "NoticeStatus",
    "OptionField",
    "OptionsError",
    "Payer",
    "PaymentMethod",
    "PaymentNotice",
    "PayloadError",
    "Provider",
    "ProviderApiError",
    "ProviderAuthRefused",
    "ProviderUnavailable",
    "RowReader",
    "SettlementApi",
    "SettlementLineRecord",
    "SettlementNotice",
    "SettlementRecord",
    "StatementContext",
    "StatementError",
    "StatementFormat",
    "Unrecognized",
    "WebhookRequest",
    "api_base_url_problems",
    "create_app",
    "csv_rows",
    "encode_json",
    "from_minor",
    "hookimpl",
    "normalize_currency",
    "parse_decimal",
    "parse_time",
    "secret_of",
    "to_minor",
    "utc_time",
]


def create_app(test_config: dict | None = None, *, plugins: list | None = None):
    """Build the web app (settings, database, plugins, providers, engine, REST API and the
    webhook endpoint): see ``flux_recon.web.app.create_app``."""
    from flux_recon.web.app import create_app as build

    return build(test_config, plugins=plugins)
