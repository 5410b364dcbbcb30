"""The generic provider: what a webhook means is read from the integration's configuration, not from code."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flux_recon import (
    CredentialField,
    Fields,
    Ignored,
    IpAllowlist,
    MoneyError,
    NoticeKind,
    NoticeStatus,
    Payer,
    PayloadError,
    PaymentNotice,
    Provider,
    Unrecognized,
    WebhookRequest,
    encode_json,
    from_minor,
    utc_time,
)

from . import config as configuration
from .paths import reader
from .samples import sample_payloads, seed_configuration
from .verification import ConfiguredVerification

MAX_ID = 180  # the engine's limit on a transaction id
WHOLE = re.compile(r"[0-9]{1,20}", re.ASCII)


class GenericProvider(Provider):
    name = "generic"
    title = "Generic webhook (no code)"
    description = (
        "Any platform that posts JSON webhooks, configured per integration through its options: how requests "
        "are verified after the IP allow-list (none, HMAC of the body or of a timestamp and the body, a shared "
        "token, Basic auth, or Standard Webhooks), where each field of a payment is in the payload (dotted "
        "paths), and which event types are payments, refunds, reversals or carry no money. The secret is the "
        "supplied credential 'secret'. Try a configuration with POST /api/v1/integrations/{id}/dry-run."
    )
    auth = (IpAllowlist(), ConfiguredVerification())
    credentials = (
        CredentialField(
            "secret",
            "Signing secret, shared token or Basic-auth password",
            required=False,
            description=(
                "From the platform's dashboard: the HMAC key, the token, the Basic-auth password or the Standard "
                "Webhooks key (whsec_...), per verification.mode; not needed with mode none"
            ),
        ),
    )
    # Known per integration only: each configuration lists its own (its "events" option).
    event_types: Mapping[str, str] = {}

    def __init__(self, clock=time.time):
        # The time of receipt, for a configuration that maps no occurred_at.
        self.clock = clock

    @classmethod
    def validate_options(cls, options: Any) -> dict[str, Any]:
        return configuration.validate(options)

    @classmethod
    def resolve_options(cls, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        # Stored options were validated, defaults included, when saved.
        return dict(stored or {})

    @classmethod
    def sample_payloads(cls) -> dict[str, Any]:
        return sample_payloads()

    @classmethod
    def sample_configuration(cls) -> dict[str, Any]:
        """The configuration that reads ``sample_payloads`` (the README's example platform)."""
        return configuration.validate(seed_configuration())

    @classmethod
    def sign(cls, payload: Any, secrets: Mapping[str, str], options: Mapping[str, Any] | None = None) -> WebhookRequest:
        """The webhook as a platform configured by ``options`` (default: the sample
        configuration) sends it to an integration holding ``secrets`` (``{"secret": ...}``)."""
        body = payload if isinstance(payload, bytes) else encode_json(payload)
        options = cls.sample_configuration() if options is None else cls.resolve_options(options)
        webhook = WebhookRequest(body=body, headers={"Content-Type": "application/json"}, options=options)
        credentials = cls.credential_values(secrets)
        for check in cls.auth:
            sign = getattr(check, "sign", None)
            if callable(sign):
                webhook = sign(webhook, credentials)
        return webhook

    def parse(self, webhook: WebhookRequest) -> list[PaymentNotice] | Ignored | Unrecognized:
        options = webhook.options
        if not isinstance(options, Mapping) or "mapping" not in options or "events" not in options:
            raise PayloadError(
                "this integration has no configuration: set its options (PUT /api/v1/integrations/{id}/options)",
                {"options": ["the generic provider needs a verification, a mapping and events"]},
            )
        mapping, events = options["mapping"], options["events"]
        payload = webhook.payload

        event_errors: dict[str, list[str]] = {}
        found, name = reader(payload, mapping["event_type"], event_errors)
        event = found.text(name)
        if event is None:
            where = mapping["event_type"]
            why = "; ".join(f"{k}: {', '.join(v)}" for k, v in event_errors.items()) or f"no event type at {where}"
            return Unrecognized(f"no readable event type ({why})")
        kind = next((k for k in configuration.KINDS if event in events.get(k, ())), None)
        if kind is None:
            if event in events.get("ignored", ()):
                return Ignored(f"event type {event!r} is listed as carrying no payment (events.ignored)")
            return Unrecognized(f"event type {event!r} is not listed in this integration's events")
        try:
            return [self._notice(payload, mapping, NoticeKind(kind), event)]
        except _UnknownStatus as unknown:
            # Kept, announced and replayable: once the merchant maps the value, a replay records it.
            return Unrecognized(
                f"{mapping['status']} {unknown.value[:60]!r} is not in this integration's status_values "
                f"(known: {', '.join(mapping['status_values'])}): map it in mapping.status_values, then replay"
            )

    def _notice(self, payload: Any, mapping: Mapping[str, Any], kind: NoticeKind, event: str) -> PaymentNotice:
        errors: dict[str, list[str]] = {}

        def read(key: str) -> tuple[Fields, str]:
            return reader(payload, mapping[key], errors)

        if mapping.get("currency"):
            currency = _call(read("currency"), "currency")
        else:
            currency = mapping["currency_value"]
        fields, name = read("amount")
        if mapping["amount_unit"] == "minor":
            amount = _minor_amount(fields, name, currency)
        else:
            amount = fields.amount(name, currency)
        external_id = _call(read("external_id"), "text", required=True, max_length=MAX_ID)
        if mapping.get("status"):
            status = _status(*read("status"), mapping["status_values"])
        else:
            # fixed_status; a configuration saved before it existed (neither set) is read as
            # it always was, every listed event succeeded, until it is saved again.
            status = NoticeStatus(mapping.get("fixed_status") or NoticeStatus.SUCCEEDED)
        references = []
        for path in mapping.get("references") or ():
            fields, name = reader(payload, path, errors)
            value = fields.text(name)
            if value and value not in references:
                references.append(value)
        occurred_at = None
        if mapping.get("occurred_at"):
            occurred_at = _time(*read("occurred_at"), mapping["occurred_at_format"])
        optional = {
            key: _call(read(key), "text") if mapping.get(key) else None
            for key in (
                "customer_email",
                "customer_phone",
                "customer_name",
                "customer_id",
                "destination_account",
            )
        }
        parent = _call(read("parent_id"), "text", max_length=MAX_ID) if mapping.get("parent_id") else None
        if errors:
            raise PayloadError(f"the {event!r} payload does not fit this integration's mapping", errors)
        return PaymentNotice(
            external_id=external_id,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at or dt.datetime.fromtimestamp(self.clock(), dt.UTC),
            kind=kind,
            status=status,
            method=mapping.get("method") or "other",
            references=tuple(references),
            payer=Payer(
                name=optional["customer_name"],
                email=optional["customer_email"],
                phone=optional["customer_phone"],
                customer_id=optional["customer_id"],
            ),
            destination_account=optional["destination_account"],
            parent_external_id=parent,
            raw=payload,
        )


def _call(located: tuple[Fields, str], reader_name: str, **kwargs):
    fields, name = located
    return getattr(fields, reader_name)(name, **kwargs)


def _minor_amount(fields: Fields, name: str, currency: str | None) -> Decimal | None:
    """A whole number of minor units (kobo, cents), as a JSON integer or a string of digits."""
    if not fields.present(name):
        fields.error(name, "is required")
        return None
    value = fields.data[name]
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        fields.error(name, "must be a whole number of minor units (amount_unit is minor), e.g. 1500000 for 15000.00")
        return None
    if value <= 0:
        fields.error(name, "must be greater than zero")
        return None
    if currency is None:
        return None
    try:
        return from_minor(value, currency)
    except MoneyError as exc:
        fields.error(name, str(exc))
        return None


class _UnknownStatus(Exception):
    """A status value the configuration does not map: the webhook is Unrecognized, not refused."""

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


def _status(fields: Fields, name: str, values: Mapping[str, str]) -> NoticeStatus | None:
    """The mapped status; a missing, empty or non-text status is a field error (422), and a
    value not in ``values`` raises _UnknownStatus (the platform may have added it: it may be money)."""
    value = fields.text(name, required=True)
    if value is None:
        return None
    if not value:
        fields.error(name, "must not be empty")
        return None
    by_folded = {key.strip().casefold(): status for key, status in values.items()}
    status = by_folded.get(value.casefold())
    if status is None:
        raise _UnknownStatus(value)
    return NoticeStatus(status)


def _time(fields: Fields, name: str, form: str) -> dt.datetime | None:
    if form == "iso8601":
        return fields.time(name)
    if not fields.present(name):
        fields.error(name, "is required")
        return None
    value = fields.data[name]
    unit = "milliseconds" if form == "epoch_milliseconds" else "seconds"
    if isinstance(value, str) and WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value > 10**15:
        fields.error(name, f"must be a Unix time in whole {unit} ({form})")
        return None
    since_epoch = dt.timedelta(milliseconds=value) if unit == "milliseconds" else dt.timedelta(seconds=value)
    try:
        return utc_time(dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + since_epoch)
    except (OverflowError, ValueError) as exc:
        fields.error(name, str(exc) if isinstance(exc, ValueError) else f"must be a Unix time in {unit}")
        return None
