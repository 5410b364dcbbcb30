"""Realistic Monnify webhook bodies, one per event form the adapter reads or ignores."""

from __future__ import annotations

CARD_TRANSACTION_REFERENCE = "MNFY|85|20261122101503|000431"


def sample_payloads() -> dict[str, dict]:
    """Fresh copies by name: the docs, the tests and ``send-test-webhook`` may change them."""
    return {
        "card_payment": _card_payment(),
        "reserved_account_transfer": _reserved_account_transfer(),
        "offline_cash_payment": _offline_cash_payment(),
        "refund": _refund(),
        "rejected_payment": _rejected_payment(),
        "disbursement": _disbursement(),
        "settlement": _settlement(),
        "settlement_header_only": _settlement_header_only(),
        "legacy_transfer": _legacy_transfer(),
    }


def _card_payment() -> dict:
    # Checkout (Web SDK) card payment: the merchant's own reference is the paymentReference.
    return {
        "eventType": "SUCCESSFUL_TRANSACTION",
        "eventData": {
            "product": {"reference": "INV-1001", "type": "WEB_SDK"},
            "transactionReference": CARD_TRANSACTION_REFERENCE,
            "paymentReference": "INV-1001",
            "paidOn": "2026-11-22 10:15:03.482",
            "paymentDescription": "Order INV-1001",
            "metaData": {"orderId": "INV-1001", "channel": "web"},
            "paymentSourceInformation": [],
            "destinationAccountInformation": {},
            "amountPaid": 15000,
            "totalPayable": 15000,
            "cardDetails": {
                "cardType": "Verve",
                "last4": "4081",
                "expMonth": "09",
                "expYear": "28",
                "bin": "506099",
                "bankCode": "058",
                "bankName": "Guaranty Trust Bank",
                "reusable": False,
            },
            "paymentMethod": "CARD",
            "currency": "NGN",
            "settlementAmount": "14775.00",
            "paymentStatus": "PAID",
            "customer": {"name": "Ada Obi", "email": "Ada@Example.com"},
        },
    }


def _reserved_account_transfer() -> dict:
    # A transfer into a customer's reserved account: paymentReference is Monnify's own,
    # product.reference is the account reference the merchant chose when reserving it.
    return {
        "eventType": "SUCCESSFUL_TRANSACTION",
        "eventData": {
            "product": {"reference": "CUST-C77", "type": "RESERVED_ACCOUNT"},
            "transactionReference": "MNFY|04|20261122091842|000170",
            "paymentReference": "MNFY|04|20261122091842|000170",
            "paidOn": "2026-11-22 09:18:42.615",
            "paymentDescription": "Ada Obi",
            "metaData": {},
            "paymentSourceInformation": [
                {
                    "bankCode": "058",
                    "amountPaid": 20000,
                    "accountName": "ADA OBI",
                    "sessionId": "000015261122091842000170293817",
                    "accountNumber": "0123456789",
                }
            ],
            "destinationAccountInformation": {
                "bankCode": "035",
                "bankName": "Wema bank",
                "accountNumber": "7023576853",
            },
            "amountPaid": "20000.00",
            "totalPayable": "20000.00",
            "cardDetails": {},
            "paymentMethod": "ACCOUNT_TRANSFER",
            "currency": "NGN",
            "settlementAmount": "19950.00",
            "paymentStatus": "PAID",
            "customer": {"name": "Ada Obi", "email": "ada@example.com"},
        },
    }


def _offline_cash_payment() -> dict:
    # Monnify's own example: cash at a Moniepoint agent, the day-first timestamp, and
    # paymentSourceInformation as an (empty) object rather than a list.
    return {
        "eventData": {
            "product": {"reference": "111222333", "type": "OFFLINE_PAYMENT_AGENT"},
            "transactionReference": "MNFY|76|20211117154810|000001",
            "paymentReference": "0.01462001097368737",
            "paidOn": "17/11/2021 3:48:10 PM",
            "paymentDescription": "Mockaroo Jesse",
            "metaData": {},
            "destinationAccountInformation": {},
            "paymentSourceInformation": {},
            "amountPaid": 78000,
            "totalPayable": 78000,
            "offlineProductInformation": {"code": "41470", "type": "DYNAMIC"},
            "cardDetails": {},
            "paymentMethod": "CASH",
            "currency": "NGN",
            "settlementAmount": 77600,
            "paymentStatus": "PAID",
            "customer": {"name": "Mockaroo Jesse", "email": "111222333@ZZAMZ4WT4Y3E.monnify"},
        },
        "eventType": "SUCCESSFUL_TRANSACTION",
    }


def _refund() -> dict:
    # The whole card payment above, sent back to the customer.
    return {
        "eventType": "SUCCESSFUL_REFUND",
        "eventData": {
            "merchantReason": "order cancelled by the customer",
            "transactionReference": CARD_TRANSACTION_REFERENCE,
            "completedOn": "22/11/2026 2:10:37 PM",
            "refundStatus": "COMPLETED",
            "customerNote": "cancelled",
            "createdOn": "22/11/2026 2:10:05 PM",
            "refundReference": "RFD-INV-1001-01",
            "refundAmount": 15000,
        },
    }


def _rejected_payment() -> dict:
    # An underpayment Monnify refused and returned: 12,000 sent where 15,000 was due.
    return {
        "eventType": "REJECTED_PAYMENT",
        "eventData": {
            "metaData": '{"orderId":"INV-1002"}',
            "product": {"reference": "INV-1002", "type": "WEB_SDK"},
            "amount": 15000,
            "paymentSourceInformation": {
                "bankCode": "50515",
                "amountPaid": 12000,
                "accountName": "CHIDI EZE",
                "sessionId": "090405261122110240003067844645",
                "accountNumber": "5141901487",
            },
            "transactionReference": "MNFY|85|20261122110240|041855",
            "created_on": "2026-11-22 11:02:41.0",
            "paymentReference": "INV-1002",
            "paymentRejectionInformation": {
                "bankCode": "035",
                "destinationAccountNumber": "7023576999",
                "bankName": "Wema bank",
                "rejectionReason": "UNDER_PAYMENT",
                "expectedAmount": 15000,
            },
            "paymentDescription": "Order INV-1002",
            "customer": {"name": "Chidi Eze", "email": "chidi@example.com"},
        },
    }


def _disbursement() -> dict:
    # Money the merchant paid out: no customer payment, so it is ignored.
    return {
        "eventType": "SUCCESSFUL_DISBURSEMENT",
        "eventData": {
            "amount": 25000,
            "transactionReference": "MFDS|20261122151207|002431",
            "fee": 10,
            "transactionDescription": "Approved or completed successfully",
            "destinationAccountNumber": "0068687503",
            "sessionId": "090405261122151211726272971260",
            "createdOn": "22/11/2026 3:12:07 PM",
            "destinationAccountName": "KEMI ADEYEMI",
            "reference": "payout-2026-11-22-017",
            "destinationBankCode": "232",
            "completedOn": "22/11/2026 3:12:13 PM",
            "narration": "Supplier payout",
            "currency": "NGN",
            "destinationBankName": "Sterling bank",
            "status": "SUCCESS",
        },
    }


def _settlement() -> dict:
    # Collected money paid out to the merchant's bank account, with the transactions it covers.
    # Shape after Monnify's "Webhook Events and Request Structure" (teamapt.atlassian.net/wiki/
    # spaces/MON/pages/320864320, "Settlement Completion"; developers.monnify.com/docs/webhooks/
    # event-types): eventData amount (what reached the account), settlementTime (day-first Lagos
    # time), settlementReference, destinationAccountNumber/BankName/AccountName,
    # transactionsCount, transactions[] as in a SUCCESSFUL_TRANSACTION. The values are made up;
    # amount = 20000.00 paid - 50.00 fee.
    return {
        "eventType": "SETTLEMENT",
        "eventData": {
            "amount": "19950.00",
            "settlementTime": "22/11/2026 10:00:00 PM",
            "settlementReference": "LB8HG1PNZT4ATJGZXQBY",
            "destinationAccountNumber": "6000000249",
            "destinationBankName": "Fidelity Bank",
            "destinationAccountName": "Fluxvend Demo Store",
            "transactionsCount": 1,
            "transactions": [
                {
                    "product": {"reference": "INV-1002", "type": "WEB_SDK"},
                    "transactionReference": "MNFY|04|20261122091842|000170",
                    "paymentReference": "INV-1002",
                    "paidOn": "22/11/2026 09:18:42 AM",
                    "amountPaid": "20000.00",
                    "totalPayable": "20000.00",
                    "settlementAmount": "19950.00",
                    "paymentMethod": "ACCOUNT_TRANSFER",
                    "currency": "NGN",
                    "paymentStatus": "PAID",
                    "customer": {"name": "Ada Obi", "email": "ada@example.com"},
                }
            ],
        },
    }


def _settlement_header_only() -> dict:
    # The older settlement notification without its transactions (Monnify's "Settlement
    # Notification", teamapt.atlassian.net/wiki/spaces/MON/pages/213909380: settlementReference,
    # amount, destination account, settlementTime, transactionsCount), inside the v2 envelope.
    # Its lines come from the API (transactions by settlement reference).
    return {
        "eventType": "SETTLEMENT",
        "eventData": {
            "settlementReference": "KQ2ZB7TR9PLM3XW4NC8D",
            "amount": "9975.00",
            "destinationAccountNumber": "6000000249",
            "destinationAccountName": "Fluxvend Demo Store",
            "destinationBankCode": "070",
            "destinationBankName": "Fidelity Bank",
            "settlementTime": "23/11/2026 10:00:21 PM",
            "transactionsCount": 1,
        },
    }


def _legacy_transfer() -> dict:
    # The legacy (v1) notification older integrations still receive: flat, no eventType, no
    # monnify-signature header; transactionHash (filled in by MonnifyProvider.sign) is hex
    # SHA-512 of clientSecret|paymentReference|amountPaid|paidOn|transactionReference. Shape
    # and value formats (amounts as decimal strings, "dd/MM/yyyy h:mm:ss AM" times, cardDetails
    # null, accountDetails and accountPayments) after Monnify's "Transaction Completion Webhook"
    # page (teamapt.atlassian.net/wiki/spaces/MON/pages/213909300, "Webhook Notification Data -
    # Account Transfer"); the values here are made up.
    return {
        "transactionReference": "MNFY|20261122103107|000418",
        "paymentReference": "INV-1006",
        "amountPaid": "18000.00",
        "totalPayable": "18000.00",
        "settlementAmount": "17989.25",
        "paidOn": "22/11/2026 10:31:07 AM",
        "paymentStatus": "PAID",
        "paymentDescription": "Order INV-1006",
        "transactionHash": "",
        "currency": "NGN",
        "paymentMethod": "ACCOUNT_TRANSFER",
        "product": {"type": "WEB_SDK", "reference": "INV-1006"},
        "cardDetails": None,
        "accountDetails": {
            "accountName": "TUNDE BAKARE",
            "accountNumber": "******4415",
            "bankCode": "000015",
            "amountPaid": "18000.00",
        },
        "accountPayments": [
            {
                "accountName": "TUNDE BAKARE",
                "accountNumber": "******4415",
                "bankCode": "000015",
                "amountPaid": "18000.00",
            }
        ],
        "customer": {"email": "tunde@example.com", "name": "Tunde Bakare"},
        "metaData": {},
    }


__all__ = ["CARD_TRANSACTION_REFERENCE", "sample_payloads"]
