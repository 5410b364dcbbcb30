"""An example platform's webhooks and the configuration that reads them (the README's example, the kit's samples)."""

from __future__ import annotations

import copy
from typing import Any

# An example platform whose webhook guide sends {"event", "data": {...}} "signed with the
# secret key from your dashboard". The header (X-Signature, hex HMAC-SHA256 of the raw body)
# and the unit of "amount" (naira, major units) are this example's choices: read your
# platform's guide and set them to what it says.
SEED_CONFIGURATION: dict[str, Any] = {
    "verification": {"mode": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex"},
    "mapping": {
        "event_type": "event",
        "external_id": "data.transaction_id",
        "amount": "data.amount",
        "amount_unit": "major",
        "currency": "data.currency",
        "status": "data.status",
        "status_values": {"success": "succeeded", "failed": "failed", "pending": "pending"},
        "references": ["data.reference"],
        "customer_email": "data.customer.email",
        "customer_name": "data.customer.name",
        "parent_id": "data.original_transaction_id",
    },
    "events": {
        "payment": ["payment.success", "payment.failed"],
        "refund": ["refund.processed"],
        "ignored": ["transfer.success"],
    },
}

_SAMPLES: dict[str, Any] = {
    "payment_success": {
        "event": "payment.success",
        "data": {
            "transaction_id": "TXN-20261122-0001",
            "reference": "INV-1001",
            "amount": "15000.00",
            "currency": "NGN",
            "status": "success",
            "customer": {"email": "ada@example.com", "name": "Ada Obi"},
        },
    },
    "payment_failed": {
        "event": "payment.failed",
        "data": {
            "transaction_id": "TXN-20261122-0002",
            "reference": "INV-1002",
            "amount": "8000.00",
            "currency": "NGN",
            "status": "failed",
            "customer": {"email": "bola@example.com", "name": "Bola Ade"},
        },
    },
    "refund_processed": {
        "event": "refund.processed",
        "data": {
            "transaction_id": "RFD-20261123-0001",
            "original_transaction_id": "TXN-20261122-0001",
            "amount": "5000.00",
            "currency": "NGN",
            "status": "success",
            "customer": {"email": "ada@example.com", "name": "Ada Obi"},
        },
    },
    "transfer_success": {
        "event": "transfer.success",
        "data": {"transaction_id": "TRF-20261124-0001", "amount": "250000.00", "currency": "NGN", "status": "success"},
    },
}


def seed_configuration() -> dict[str, Any]:
    return copy.deepcopy(SEED_CONFIGURATION)


def sample_payloads() -> dict[str, Any]:
    return copy.deepcopy(_SAMPLES)
