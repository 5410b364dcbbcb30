"""The event types a subscription can ask for, each with a description and an example body."""

from __future__ import annotations

_PAYMENT_EXAMPLE = {
    "id": 42,
    "provider": "core",
    "external_id": "FLX-TRX-0001",
    "kind": "payment",
    "status": "succeeded",
    "method": "bank_transfer",
    "amount": "15000.00",
    "currency": "NGN",
    "allocated": "15000.00",
    "refunded": "0.00",
    "reconciliation": "matched",
    "reconciliation_reason": "matched to order INV-1001 by reference",
    "references": ["INV-1001"],
    "occurred_at": "2026-11-22T09:15:03+00:00",
    "allocations": [{"id": 7, "order_id": 12, "amount": "15000.00", "currency": "NGN", "matched_by": "reference"}],
}
_ORDER_EXAMPLE = {
    "id": 12,
    "reference": "INV-1001",
    "amount": "15000.00",
    "currency": "NGN",
    "amount_paid": "15000.00",
    "outstanding": "0.00",
    "overpaid": "0.00",
    "status": "paid",
}

_SETTLEMENT_EXAMPLE = {
    "id": 7,
    "provider": "monnify",
    "integration_id": 3,
    "reference": "MFY-SETTLE-20261122-0001",
    "settled_at": "2026-11-23T09:00:00+00:00",
    "currency": "NGN",
    "gross": "45000.00",
    "fees": "675.00",
    "net": "44325.00",
    "status": "reconciled",
    "sources": ["webhook"],
    "line_count": 3,
    "breaks": [],
}

EVENT_TYPES: dict[str, dict] = {
    "payment.received": {
        "description": "A payment (or a change of its status) was recorded.",
        "example": _PAYMENT_EXAMPLE,
    },
    "payment.matched": {
        "description": "A payment was allocated to an order, by a strategy or by hand.",
        "example": _PAYMENT_EXAMPLE,
    },
    "payment.unmatched": {
        "description": "A payment matches no order, several orders, or was unmatched by hand.",
        "example": {**_PAYMENT_EXAMPLE, "reconciliation": "unmatched", "allocations": []},
    },
    "payment.reversed": {
        "description": "The provider reversed a payment; its allocations were released.",
        "example": {**_PAYMENT_EXAMPLE, "status": "reversed", "allocated": "0.00"},
    },
    "payment.refunded": {
        "description": "A payment was refunded, in full or in part.",
        "example": {**_PAYMENT_EXAMPLE, "refunded": "5000.00", "allocated": "10000.00"},
    },
    "order.partially_paid": {
        "description": "An order received part of its amount.",
        "example": {**_ORDER_EXAMPLE, "status": "partially_paid", "amount_paid": "5000.00", "outstanding": "10000.00"},
    },
    "order.paid": {"description": "An order is paid in full (within tolerance).", "example": _ORDER_EXAMPLE},
    "order.overpaid": {
        "description": "An order received more than its amount.",
        "example": {**_ORDER_EXAMPLE, "status": "overpaid", "amount_paid": "16000.00", "overpaid": "1000.00"},
    },
    "order.cancelled": {
        "description": "An order was cancelled.",
        "example": {**_ORDER_EXAMPLE, "status": "cancelled", "amount_paid": "0.00"},
    },
    "payment.settled": {
        "description": "A payment was found in a provider's settlement: the money reached the merchant's account.",
        "example": {**_PAYMENT_EXAMPLE},
    },
    "settlement.received": {
        "description": "A settlement (a provider's payout and the transactions it covers) was recorded or extended.",
        "example": _SETTLEMENT_EXAMPLE,
    },
    "settlement.break_found": {
        "description": "A settlement disagrees with the ledger: a line's amount, fee or net differs from its "
        "payment's, its lines do not add up to its totals, or a transaction appears in two settlements.",
        "example": {
            **_SETTLEMENT_EXAMPLE,
            "status": "with_breaks",
            "breaks": [
                {
                    "kind": "amount_differs",
                    "line_id": 31,
                    "payment_id": 42,
                    "transaction_id": "MNFY|76|20261122101503|000123",
                    "message": "the line's amount 15000.00 differs from the payment's 14000.00",
                    "line_value": "15000.00",
                    "payment_value": "14000.00",
                }
            ],
        },
    },
    "webhook.unrecognized": {
        "description": "A provider sent an authenticated webhook its plugin does not know (an event type or a "
        "shape it cannot read). It may be a payment, so it is kept in the inbox, never ignored: look at it "
        "(GET /api/v1/webhook-events/{webhook_event_id}) and replay it once the plugin reads it. Sent once per "
        "webhook received, not again when a replay is still unrecognized. Never carries the body or headers.",
        "example": {
            "webhook_event_id": 311,
            "provider": "opay",
            "integration_id": 3,
            "reason": "unknown Opay notification type 'MACQUIRING_REFUND'",
            "http_status": 200,
            "received_at": "2026-11-22T09:15:04.512000+00:00",
            "replay_of": None,
            "replayable": True,
            "replay": "/api/v1/webhook-events/311/replay",
        },
    },
}

# Sent only by POST /subscriptions/{id}/test; never subscribed to.
PING = "ping"
