"""Schemas of the integrations resource (and its allow-list)."""

import base64

import marshmallow as ma

from flux_recon.services.integrations import EMPTY_ALLOWLIST_NOTE, normalize_network
from flux_recon.web.resources.credentials.schemas import (
    CredentialSchema,
    CredentialWithSecretSchema,
    SuppliedSecretSchema,
)


class IntegrationCreateSchema(ma.Schema):
    provider = ma.fields.String(
        required=True, metadata={"example": "core", "description": "a provider name from GET /providers"}
    )
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=None,
        metadata={"description": "the provider's options (GET /providers lists them); omitted ones take defaults"},
    )


class IntegrationOptionsSchema(ma.Schema):
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        required=True,
        metadata={"description": "every option to keep (one left out returns to its default)"},
    )


class AllowlistEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    cidr = ma.fields.String(metadata={"example": "35.242.133.146/32"})
    label = ma.fields.String()
    created_at = ma.fields.DateTime()


class AllowlistEntryCreateSchema(ma.Schema):
    cidr = ma.fields.String(
        required=True, metadata={"example": "203.0.113.10/32", "description": "an IPv4/IPv6 address or CIDR network"}
    )
    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))

    @ma.validates("cidr")
    def check_cidr(self, value, **kwargs):
        try:
            normalize_network(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None

    @ma.post_load
    def normalize(self, data, **kwargs):
        data["cidr"] = normalize_network(data["cidr"])
        return data


class AllowlistSchema(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(AllowlistEntrySchema))
    note = ma.fields.String(allow_none=True, metadata={"example": EMPTY_ALLOWLIST_NOTE})


class IntegrationSchema(ma.Schema):
    id = ma.fields.Integer()
    provider = ma.fields.String()
    tenant_id = ma.fields.String(metadata={"description": "your tenant id (the core payload's tenantId)"})
    webhook_url = ma.fields.String(metadata={"description": "give this URL to the provider"})
    enabled = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    credentials = ma.fields.List(ma.fields.Nested(CredentialSchema))
    secrets = ma.fields.List(
        ma.fields.Nested(SuppliedSecretSchema),
        metadata={
            "description": "secrets you copy from the provider's dashboard (set them with PUT .../secrets/{name})"
        },
    )
    allowlist = ma.fields.Nested(AllowlistSchema)
    options = ma.fields.Dict(
        keys=ma.fields.String(), metadata={"description": "the provider's options, defaults filled in"}
    )


class IntegrationCreatedSchema(IntegrationSchema):
    credentials = ma.fields.List(ma.fields.Nested(CredentialWithSecretSchema))


class DryRunSchema(ma.Schema):
    body = ma.fields.String(
        load_default=None,
        metadata={
            "description": "the raw request body exactly as the platform sends it, as text (UTF-8); "
            "signatures are checked on these bytes, so keep every space",
            "example": '{"event": "payment.success", "data": {"transaction_id": "TXN-1", "amount": "15000.00"}}',
        },
    )
    body_base64 = ma.fields.String(
        load_default=None,
        metadata={"description": "instead of body: the raw bytes in Base64, for a body that is not UTF-8 text"},
    )
    headers = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=200)),
        values=ma.fields.String(validate=ma.validate.Length(max=8192)),
        load_default=dict,
        validate=ma.validate.Length(max=100),
        metadata={
            "description": "the request headers (names in any case). Without Content-Type, application/json is assumed",
            "example": {"X-Signature": "6f1c...e2"},
        },
    )
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=None,
        metadata={
            "description": "provider options to try instead of the saved ones (checked as PUT .../options checks "
            "them, and not saved)"
        },
    )

    @ma.validates_schema
    def one_body(self, data, **kwargs):
        if (data.get("body") is None) == (data.get("body_base64") is None):
            raise ma.ValidationError("give exactly one of body or body_base64", "body")

    @ma.post_load
    def raw_bytes(self, data, **kwargs):
        try:
            if data["body"] is not None:
                data["raw"] = data["body"].encode("utf-8")
            else:
                data["raw"] = base64.b64decode(data["body_base64"], validate=True)
        except UnicodeEncodeError:
            raise ma.ValidationError("must be text that UTF-8 can encode", "body") from None
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise ma.ValidationError("must be Base64", "body_base64") from None
        return data


class DryRunPayerSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    customer_id = ma.fields.String(allow_none=True)
    account_number = ma.fields.String(allow_none=True)
    bank = ma.fields.String(allow_none=True)


class DryRunNoticeSchema(ma.Schema):
    kind = ma.fields.String(metadata={"example": "payment", "description": "payment, refund or reversal"})
    status = ma.fields.String(metadata={"example": "succeeded", "description": "succeeded, failed or pending"})
    external_id = ma.fields.String(metadata={"example": "TXN-20261122-0001"})
    amount = ma.fields.String(metadata={"example": "15000.00", "description": "a decimal string, never a float"})
    currency = ma.fields.String(metadata={"example": "NGN"})
    method = ma.fields.String(metadata={"example": "other"})
    references = ma.fields.List(ma.fields.String(), metadata={"example": ["INV-1001"]})
    occurred_at = ma.fields.String(metadata={"example": "2026-11-22T09:15:03+00:00"})
    payer = ma.fields.Nested(DryRunPayerSchema)
    destination_account = ma.fields.String(allow_none=True)
    parent_external_id = ma.fields.String(allow_none=True)
    fee = ma.fields.String(allow_none=True)
    settlement_amount = ma.fields.String(allow_none=True)


class DryRunSettlementSchema(ma.Schema):
    reference = ma.fields.String(metadata={"example": "LB8HG1PNZT4ATJGZXQBY"})
    currency = ma.fields.String(metadata={"example": "NGN"})
    settled_at = ma.fields.String(metadata={"example": "2026-11-22T21:00:00+00:00"})
    gross = ma.fields.String(allow_none=True, metadata={"description": "a decimal string; null: the lines' sum"})
    fees = ma.fields.String(allow_none=True, metadata={"description": "a decimal string; null: the lines' sum"})
    net = ma.fields.String(allow_none=True, metadata={"example": "19950.00", "description": "a decimal string"})
    destination_account = ma.fields.String(allow_none=True)
    lines = ma.fields.Integer(metadata={"example": 1, "description": "the transactions the webhook lists"})


class DryRunResultSchema(ma.Schema):
    outcome = ma.fields.String(
        metadata={"example": "notices", "description": "notices, settlement, ignored, unrecognized or refused"}
    )
    verdict = ma.fields.String(
        metadata={
            "example": "accepted",
            "description": "the inbox verdict the real webhook would get (accepted stands for accepted or "
            "duplicate: whether it arrived before is not looked up)",
        }
    )
    http_status = ma.fields.Integer(metadata={"example": 200, "description": "what the webhook URL would answer"})
    message = ma.fields.String(allow_none=True, metadata={"description": "why it is refused, ignored or unrecognized"})
    errors = ma.fields.Dict(
        metadata={"description": 'field-level messages by payload path, e.g. {"data.amount": ["is required"]}'}
    )
    notices = ma.fields.List(ma.fields.Nested(DryRunNoticeSchema))
    settlements = ma.fields.List(
        ma.fields.Nested(DryRunSettlementSchema),
        metadata={"description": "outcome settlement: the payouts the webhook announces"},
    )
    skipped_checks = ma.fields.List(
        ma.fields.String(),
        metadata={"example": ["ip_allowlist"], "description": "checks a dry run does not make: the IP allow-list"},
    )
    recorded = ma.fields.Boolean(metadata={"example": False, "description": "always false: nothing is written"})
