"""A payment and an order as every subscriber receives them (the body of each signed event)."""

from __future__ import annotations

import datetime as dt

from flux_recon.models import Allocation, Payment, SalesOrder
from flux_recon.money import format_minor

# Field names and their order are part of what receivers verify and parse: they change here
# on purpose (and in the catalog's examples), never as a side effect of the REST API.


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def allocation_document(allocation: Allocation) -> dict:
    return {
        "id": allocation.id,
        "order_id": allocation.order_id,
        "amount": _money(allocation.amount_minor, allocation.currency),
        "currency": _text(allocation.currency),
        "matched_by": _text(allocation.matched_by),
        "created_by": _text(allocation.created_by),
        "created_at": _time(allocation.created_at),
        "released_at": _time(allocation.released_at),
    }


def payment_document(payment: Payment) -> dict:
    currency = payment.currency
    return {
        "id": payment.id,
        "provider": _text(payment.provider),
        "external_id": _text(payment.external_id),
        "kind": _text(payment.kind),
        "status": _text(payment.status),
        "method": _text(payment.method),
        "amount": _money(payment.amount_minor, currency),
        "currency": _text(currency),
        "allocated": _money(payment.allocated_minor, currency),
        "refunded": _money(payment.refunded_minor, currency),
        "fee": _money(payment.fee_minor, currency),
        "settlement_amount": _money(payment.settlement_minor, currency),
        "settlement_state": _text(payment.settlement_state),
        "settlement_line_id": payment.settlement_line_id,
        "recovered_from": _text(payment.recovered_from),
        "reconciliation": _text(payment.reconciliation),
        "reconciliation_reason": _text(payment.reconciliation_reason),
        "candidates": None if payment.candidates is None else [int(order_id) for order_id in payment.candidates],
        "references": None if payment.references is None else [str(reference) for reference in payment.references],
        "destination_account": _text(payment.destination_account),
        "parent_external_id": _text(payment.parent_external_id),
        "payer": {
            "name": _text(payment.payer_name),
            "email": _text(payment.payer_email),
            "phone": _text(payment.payer_phone),
            "customer_id": _text(payment.payer_customer_id),
            "account_number": _text(payment.payer_account_number),
            "bank": _text(payment.payer_bank),
        },
        "occurred_at": _time(payment.occurred_at),
        "received_at": _time(payment.received_at),
        "allocations": [allocation_document(allocation) for allocation in payment.allocations],
    }


def order_document(order: SalesOrder) -> dict:
    currency = order.currency
    return {
        "id": order.id,
        "reference": _text(order.reference),
        "payment_reference": _text(order.payment_reference),
        "virtual_account": _text(order.virtual_account),
        "amount": _money(order.amount_minor, currency),
        "currency": _text(currency),
        "amount_paid": _money(order.amount_paid_minor, currency),
        "outstanding": _money(order.outstanding_minor, currency),
        "overpaid": _money(order.overpaid_minor, currency),
        "status": _text(order.status),
        "description": _text(order.description),
        "customer": {
            "id": _text(order.customer_id),
            "name": _text(order.customer_name),
            "email": _text(order.customer_email),
            "phone": _text(order.customer_phone),
        },
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "cancelled_at": _time(order.cancelled_at),
    }
