"""Realistic Paystack webhook bodies, one per event form the adapter reads or ignores."""

from __future__ import annotations

CARD_REFERENCE = "INV-1001"
CUSTOMER = {
    "id": 181873746,
    "first_name": "Ada",
    "last_name": "Obi",
    "email": "Ada@Example.com",
    "customer_code": "CUS_1rkzaqsv4rrhqo6",
    "phone": "+2348012345678",
    "metadata": None,
    "risk_action": "default",
    "international_format_phone": None,
}


def sample_payloads() -> dict[str, dict]:
    """Fresh copies by name: the docs, the kit and ``send-test-webhook`` may change them."""
    return {
        "charge_success": _card_charge(),
        "charge_success_transfer": _transfer_charge(),
        "refund_processed": _refund("refund.processed", "processed"),
        "refund_pending": _refund("refund.pending", "pending"),
        "transfer_success": _transfer(),
    }


def _card_charge() -> dict:
    # A card payment through Paystack checkout, initialized with the merchant's order
    # reference; amount and fees in kobo.
    return {
        "event": "charge.success",
        "data": {
            "id": 4099260516,
            "domain": "live",
            "status": "success",
            "reference": CARD_REFERENCE,
            "amount": 1500000,
            "message": None,
            "gateway_response": "Successful",
            "paid_at": "2026-11-22T09:15:03.000Z",
            "created_at": "2026-11-22T09:14:41.000Z",
            "channel": "card",
            "currency": "NGN",
            "ip_address": "102.89.47.112",
            "metadata": {"order_id": CARD_REFERENCE},
            "fees_breakdown": None,
            "log": None,
            "fees": 32500,
            "fees_split": None,
            "authorization": {
                "authorization_code": "AUTH_8dfhjjdt",
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "exp_year": "2030",
                "channel": "card",
                "card_type": "visa ",
                "bank": "TEST BANK",
                "country_code": "NG",
                "brand": "visa",
                "reusable": True,
                "signature": "SIG_uSYN4fv1adlAuoij8QXh",
                "account_name": None,
                "receiver_bank_account_number": None,
                "receiver_bank": None,
            },
            "customer": dict(CUSTOMER),
            "plan": {},
            "subaccount": {},
            "split": {},
            "order_id": None,
            "paidAt": "2026-11-22T09:15:03.000Z",
            "requested_amount": 1500000,
            "pos_transaction_data": None,
            "source": {
                "type": "api",
                "source": "merchant_api",
                "entry_point": "transaction_initialize",
                "identifier": None,
            },
        },
    }


def _transfer_charge() -> dict:
    # A bank transfer into the customer's dedicated virtual account (DVA): Paystack makes
    # the reference; the account paid into is what names the customer.
    return {
        "event": "charge.success",
        "data": {
            "id": 4099311877,
            "domain": "live",
            "status": "success",
            "reference": "1795339812000v7ne3q2dd1kxz8r",
            "amount": "2000000",
            "message": None,
            "gateway_response": "Approved",
            "paid_at": "2026-11-22T10:30:12.000Z",
            "created_at": "2026-11-22T10:30:12.000Z",
            "channel": "dedicated_nuban",
            "currency": "NGN",
            "ip_address": None,
            "metadata": {"receiver_account_number": "9930000737", "receiver_bank": "Wema Bank"},
            "fees": 10000,
            "authorization": {
                "authorization_code": "AUTH_0ozsafcpdf",
                "bin": "008XXX",
                "last4": "X553",
                "exp_month": "11",
                "exp_year": "2026",
                "channel": "dedicated_nuban",
                "card_type": "transfer",
                "bank": "Guaranty Trust Bank",
                "country_code": "NG",
                "brand": "Managed Account",
                "reusable": False,
                "signature": None,
                "account_name": None,
                "sender_country": "NG",
                "sender_bank": "Guaranty Trust Bank",
                "sender_bank_account_number": "XXXXXX4553",
                "sender_name": "ADA OBI",
                "narration": "NIP: ADA OBI-0123454553/INV-1002",
                "receiver_bank_account_number": "9930000737",
                "receiver_bank": "Wema Bank",
            },
            "customer": dict(CUSTOMER),
            "plan": None,
            "split": {},
            "subaccount": {},
            "paidAt": "2026-11-22T10:30:12.000Z",
            "requested_amount": 2000000,
        },
    }


def _refund(event: str, status: str) -> dict:
    # The refund of the card charge above. Paystack names the transaction by its reference.
    return {
        "event": event,
        "data": {
            "status": status,
            "transaction_reference": CARD_REFERENCE,
            "refund_reference": "132013318360",
            "amount": 1500000,
            "currency": "NGN",
            "processor": "mpgs_zen",
            "customer": {"first_name": "Ada", "last_name": "Obi", "email": "ada@example.com"},
            "integration": 463433,
            "domain": "live",
        },
    }


def _transfer() -> dict:
    # A payout from the merchant's Paystack balance to a supplier: not a customer payment.
    return {
        "event": "transfer.success",
        "data": {
            "amount": 50000000,
            "currency": "NGN",
            "domain": "live",
            "failures": None,
            "id": 37272792,
            "integration": {"id": 463433, "is_live": True, "business_name": "Adaeze Stores"},
            "reason": "Supplier payment",
            "reference": "1jhbs3ozmen0k7y5efmw",
            "source": "balance",
            "source_details": None,
            "status": "success",
            "titan_code": None,
            "transfer_code": "TRF_wpl1dem4967avzm",
            "transferred_at": None,
            "recipient": {
                "active": True,
                "currency": "NGN",
                "description": "",
                "domain": "live",
                "email": None,
                "id": 8690817,
                "integration": 463433,
                "metadata": None,
                "name": "Ada Supplies Ltd",
                "recipient_code": "RCP_a8wkxiychzdzfgs",
                "type": "nuban",
                "is_deleted": False,
                "details": {"account_number": "0123456789", "account_name": None, "bank_code": "058"},
            },
            "session": {"provider": None, "id": None},
            "created_at": "2026-11-22T11:00:04.000Z",
            "updated_at": "2026-11-22T11:00:05.000Z",
        },
    }
