"""The generic provider's configuration (its integration options): marshmallow schemas, strictly checked when saved."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from flux_recon import MoneyError, OptionsError, PaymentMethod, normalize_currency

from .paths import check_path

MODES = ("none", "hmac", "token", "basic", "standard_webhooks")
ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")
SIGNED_CONTENT = ("body", "timestamp_and_body")
TIMESTAMP_UNITS = ("seconds", "milliseconds")
AMOUNT_UNITS = ("major", "minor")
TIME_FORMATS = ("iso8601", "epoch_seconds", "epoch_milliseconds")
STATUSES = ("succeeded", "failed", "pending")
KINDS = ("payment", "refund", "reversal")
DEFAULT_TOLERANCE = 300
MAX_TOLERANCE = 86400
# RFC 9110 token characters: what a header name may be made of.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}", re.ASCII)

REQUIRED = {"required": "is required", "null": "must not be null"}


def _text(**kwargs) -> ma.fields.String:
    messages = {**REQUIRED, "invalid": "must be a string"}
    return ma.fields.String(error_messages=messages, **kwargs)


def _choice(choices: tuple[str, ...], **kwargs) -> ma.fields.String:
    return _text(validate=ma.validate.OneOf(choices, error="must be one of: " + ", ".join(choices)), **kwargs)


def _check_path(value: str) -> None:
    problems = check_path(value)
    if problems:
        raise ma.ValidationError(problems)


def _path(**kwargs) -> ma.fields.String:
    return _text(validate=_check_path, **kwargs)


def _optional_path() -> ma.fields.String:
    return _path(load_default=None, allow_none=True)


def _check_header(value: str) -> None:
    if not HEADER_NAME.fullmatch(value):
        raise ma.ValidationError("must be an HTTP header name such as X-Signature (letters, digits and -)")


def _header(**kwargs) -> ma.fields.String:
    return _text(validate=_check_header, **kwargs)


def _tolerance(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(
            1, MAX_TOLERANCE, error=f"must be a whole number of seconds from 1 to {MAX_TOLERANCE}"
        ),
        error_messages={**REQUIRED, "invalid": "must be a whole number of seconds"},
        **kwargs,
    )


class _Strict(ma.Schema):
    error_messages = {  # noqa: RUF012 - marshmallow's own class attribute
        "unknown": "unknown setting (the generic provider's README lists every one)",
        "type": "must be a JSON object",
    }

    class Meta:
        unknown = ma.RAISE


class NoneSchema(_Strict):
    """``none``: the IP allow-list alone protects the URL."""


class HmacSchema(_Strict):
    header = _header(required=True)
    algorithm = _choice(ALGORITHMS, load_default="sha256")
    encoding = _choice(ENCODINGS, load_default="hex")
    prefix = _text(load_default="", validate=ma.validate.Length(max=50, error="must be at most 50 characters"))
    signed_content = _choice(SIGNED_CONTENT, load_default="body")
    timestamp_header = _header(load_default=None, allow_none=True)
    timestamp_unit = _choice(TIMESTAMP_UNITS, load_default=None, allow_none=True)
    separator = _text(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=10, error="must be at most 10 characters")
    )
    tolerance_seconds = _tolerance(load_default=None, allow_none=True)

    @ma.validates_schema(skip_on_field_errors=False)
    def check_timestamp(self, data, **kwargs):
        timestamped = ("timestamp_header", "timestamp_unit", "separator", "tolerance_seconds")
        if data.get("signed_content") == "timestamp_and_body":
            if data.get("timestamp_header") is None:
                raise ma.ValidationError(
                    {"timestamp_header": ["is required when signed_content is timestamp_and_body"]}
                )
            return
        errors = {
            name: ["applies only when signed_content is timestamp_and_body"]
            for name in timestamped
            if data.get(name) is not None
        }
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def defaults(self, data, **kwargs):
        if data["signed_content"] == "timestamp_and_body":
            data["timestamp_unit"] = data["timestamp_unit"] or "seconds"
            data["separator"] = "." if data["separator"] is None else data["separator"]
            data["tolerance_seconds"] = data["tolerance_seconds"] or DEFAULT_TOLERANCE
        else:
            for name in ("timestamp_header", "timestamp_unit", "separator", "tolerance_seconds"):
                data.pop(name)
        return data


class TokenSchema(_Strict):
    header = _header(required=True)
    prefix = _text(load_default="", validate=ma.validate.Length(max=50, error="must be at most 50 characters"))


class BasicSchema(_Strict):
    username = _text(
        required=True,
        validate=[
            ma.validate.Length(min=1, max=200, error="must be 1 to 200 characters"),
            ma.validate.Regexp(r"^[^:]*$", error="must not contain a colon (Basic auth splits on it)"),
        ],
    )


class StandardWebhooksSchema(_Strict):
    tolerance_seconds = _tolerance(load_default=DEFAULT_TOLERANCE)


VERIFICATION_SCHEMAS = {
    "none": NoneSchema,
    "hmac": HmacSchema,
    "token": TokenSchema,
    "basic": BasicSchema,
    "standard_webhooks": StandardWebhooksSchema,
}


def _check_currency(value: str) -> None:
    try:
        normalize_currency(value)
    except MoneyError as exc:
        raise ma.ValidationError(str(exc)) from None


class MappingSchema(_Strict):
    event_type = _path(required=True)
    external_id = _path(required=True)
    amount = _path(required=True)
    amount_unit = _choice(AMOUNT_UNITS, required=True)
    currency = _optional_path()
    currency_value = _text(load_default=None, allow_none=True, validate=_check_currency)
    status = _optional_path()
    status_values = ma.fields.Dict(
        keys=_text(validate=ma.validate.Length(min=1, max=100, error="must be 1 to 100 characters")),
        values=_choice(STATUSES),
        load_default=None,
        allow_none=True,
        error_messages={
            "invalid": "must be a JSON object mapping the platform's values to succeeded, failed or pending"
        },
    )
    fixed_status = _choice(STATUSES, load_default=None, allow_none=True)
    references = ma.fields.List(
        _path(),
        load_default=list,
        validate=ma.validate.Length(max=10, error="must list at most 10 paths"),
        error_messages={"invalid": "must be a list of dotted paths"},
    )
    occurred_at = _optional_path()
    occurred_at_format = _choice(TIME_FORMATS, load_default=None, allow_none=True)
    customer_email = _optional_path()
    customer_phone = _optional_path()
    customer_name = _optional_path()
    customer_id = _optional_path()
    destination_account = _optional_path()
    parent_id = _optional_path()
    method = _choice(tuple(PaymentMethod), load_default="other")

    @ma.validates_schema(skip_on_field_errors=False)
    def check_together(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        if (data.get("currency") is None) == (data.get("currency_value") is None):
            message = "give exactly one of currency (a path) or currency_value (a fixed ISO 4217 code)"
            errors["currency"] = [message]
        if data.get("status") is not None and not data.get("status_values"):
            errors["status_values"] = ["is required with status: map each value the platform sends to a status"]
        if data.get("status") is None and data.get("status_values") is not None:
            errors["status"] = ["is required with status_values: the path of the status in the payload"]
        # Without a status every listed event would be recorded alike (a payment.failed as
        # paid): a configuration must map the status or say what every listed event is.
        if data.get("status") is None and data.get("status_values") is None and data.get("fixed_status") is None:
            errors["status"] = [
                "is required: the status's path (with status_values), or fixed_status (succeeded, failed or "
                "pending) when every listed event has that status"
            ]
        if data.get("fixed_status") is not None and (data.get("status") or data.get("status_values")):
            errors["fixed_status"] = ["give status (with status_values) or fixed_status, not both"]
        seen: dict[str, str] = {}
        for value in data.get("status_values") or {}:
            folded = value.strip().casefold()
            if folded in seen:
                errors.setdefault("status_values", []).append(
                    f"{value!r} and {seen[folded]!r} are the same value (compared ignoring case and spaces)"
                )
            seen[folded] = value
        if data.get("occurred_at") is not None and data.get("occurred_at_format") is None:
            errors["occurred_at_format"] = ["is required with occurred_at: one of " + ", ".join(TIME_FORMATS)]
        if data.get("occurred_at") is None and data.get("occurred_at_format") is not None:
            errors["occurred_at"] = ["is required with occurred_at_format"]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def normalize(self, data, **kwargs):
        if data["currency_value"] is not None:
            data["currency_value"] = normalize_currency(data["currency_value"])
        return data


def _event_list() -> ma.fields.List:
    return ma.fields.List(
        _text(validate=ma.validate.Length(min=1, max=200, error="must be 1 to 200 characters")),
        load_default=list,
        validate=ma.validate.Length(max=100, error="must list at most 100 event types"),
        error_messages={"invalid": "must be a list of event types"},
    )


class EventsSchema(_Strict):
    payment = _event_list()
    refund = _event_list()
    reversal = _event_list()
    ignored = _event_list()

    @ma.validates_schema(skip_on_field_errors=False)
    def check_lists(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        owner: dict[str, str] = {}
        for kind in (*KINDS, "ignored"):
            for event in data.get(kind, []):
                if event in owner:
                    errors.setdefault(kind, []).append(f"{event!r} is listed under {owner[event]} already")
                owner.setdefault(event, kind)
        if not any(data.get(kind) for kind in KINDS):
            errors["payment"] = ["list at least one event type as a payment, refund or reversal"]
        if errors:
            raise ma.ValidationError(errors)


class ConfigurationSchema(_Strict):
    verification = ma.fields.Raw(required=True, error_messages=REQUIRED)
    mapping = ma.fields.Nested(MappingSchema, required=True, error_messages=REQUIRED)
    events = ma.fields.Nested(EventsSchema, required=True, error_messages=REQUIRED)


def validate(options: Any) -> dict[str, Any]:
    """The configuration as it is stored (defaults filled in, nothing irrelevant), or
    OptionsError naming every bad setting by its dotted name (``mapping.amount_unit``)."""
    if not isinstance(options, Mapping):
        raise OptionsError("options must be a JSON object", {"options": ["must be a JSON object"]})
    errors: dict[str, list[str]] = {}
    try:
        loaded = ConfigurationSchema().load(options)
    except ma.ValidationError as exc:
        _flatten(exc.messages, "", errors)
        loaded = None
    verification = options.get("verification")
    checked_verification = None
    if isinstance(verification, Mapping):
        checked_verification = _verification(verification, errors)
    elif verification is not None:
        errors["verification"] = ["must be a JSON object with a mode: " + ", ".join(MODES)]
    if errors:
        raise OptionsError("invalid generic provider configuration", dict(sorted(errors.items())))
    return {"verification": checked_verification, "mapping": loaded["mapping"], "events": loaded["events"]}


def _verification(verification: Mapping, errors: dict[str, list[str]]) -> dict | None:
    mode = verification.get("mode")
    if mode is None:
        errors["verification.mode"] = ["is required"]
        return None
    # A list or an object is not even hashable: it cannot be looked up among the modes.
    if not isinstance(mode, str) or mode not in VERIFICATION_SCHEMAS:
        errors["verification.mode"] = ["must be one of: " + ", ".join(MODES)]
        return None
    settings = {name: value for name, value in verification.items() if name != "mode"}
    try:
        return {"mode": mode, **VERIFICATION_SCHEMAS[mode]().load(settings)}
    except ma.ValidationError as exc:
        _flatten(exc.messages, "verification", errors)
        return None


def _flatten(messages: Any, prefix: str, errors: dict[str, list[str]]) -> None:
    """marshmallow's nested messages as ``{"a.b.0": [...]}``; a Dict's per-key messages
    name the key (``mapping.status_values.PAID``)."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            if key == "_schema":
                _flatten(inner, prefix, errors)
            elif key in ("key", "value") and prefix.startswith("mapping.status_values."):
                _flatten(inner, prefix, errors)
            else:
                _flatten(inner, f"{prefix}.{key}" if prefix else str(key), errors)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        errors.setdefault(prefix or "options", []).extend(messages)
    elif isinstance(messages, list):
        for inner in messages:
            _flatten(inner, prefix, errors)
    else:
        errors.setdefault(prefix or "options", []).append(str(messages))
