"""Realistic Opay webhook bodies, one per form the adapter reads (sources cited), for docs, tests and test sends."""

from __future__ import annotations

import copy

from .auth import SIGNATURE_FIELD, sign

# Signs the checkout samples, so they verify once an integration's secret key is set to it.
# Not a real Opay key (real ones start with OPAYPRV and come from the Opay dashboard).
SAMPLE_SECRET_KEY = "OPAYPRV-sample-secret-key-not-a-real-one"  # noqa: S105 - published on purpose

CHECKOUT_PAYMENT = {
    "payload": {
        "amount": "49160",
        "channel": "Web",
        "country": "NG",
        "currency": "NGN",
        "displayedFailure": "",
        "fee": "737",
        "feeCurrency": "NGN",
        "instrumentType": "BankCard",
        "reference": "INV-20261122-0042",
        "refunded": False,
        "status": "SUCCESS",
        "timestamp": "2026-11-22T09:20:46Z",
        "token": "261122145660712931829",
        "transactionId": "261122140885521681",
        "updated_at": "2026-11-22T09:20:48Z",
    },
    "type": "transaction-status",
}

POS_CARD_PAYMENT = {
    "data": {
        "outOrderNo": "INV-20261122-0043",
        "orderNo": "261122010100213456789",
        "payNo": "2611221005030001",
        "merchantId": "256621051512345",
        "terminalId": "2OPY0123",
        "status": "SUCCESS",
        "senderName": "",
        "senderBank": "",
        "senderAccount": "539983******4417",
        "recipientName": "ADAEZE STORES LTD",
        "receiptBank": "OPay",
        "receiptAccount": "",
        "amount": "300.00",
        "fee": "1.50",
        "payMethod": "Card",
        "settlementAmount": "298.50",
        "currency": "NGN",
        "transactionTime": "1795341903000",
        "completedTime": "1795341905000",
        "remark": "",
    }
}

# Callback v2, the shape of Opay's documented example (doc.opaycheckout.com/callback-signature-v2:
# amount {currency, total in minor units}, country, failureCode, failureReason, notifyId, orderNo,
# reference, status, timestamp in epoch milliseconds, type, extras), as a successful NGN payment.
MACQUIRING_PAYMENT = {
    "amount": {"currency": "NGN", "total": 250000},
    "country": "NG",
    "failureCode": "",
    "failureReason": "",
    "notifyId": "8d1f0c2e4b6a4f0e9c3d2b1a0f9e8d7c",
    "orderNo": "261122140885652282",
    "reference": "INV-20261122-0044",
    "status": "SUCCESS",
    "timestamp": 1795341905591,
    "type": "MACQUIRING_CALLBACK",
    "extras": {},
}

# A digital-wallet deposit (Opay "Wallet as a Service", documentation.opayweb.com/doc/offline/
# digital-wallets.html). Opay's page describes the wallets and their static deposit codes; the flat
# notification fields below (depositCode, depositAmount in naira, status, orderNo, currency, refId)
# are those integrations of that product read, in the naira and epoch-millisecond formats of
# Opay's other offline notifications (documentation.opayweb.com/doc/offline/general-payment-webhook.html).
WALLET_DEPOSIT = {
    "orderNo": "261122030400187654321",
    "depositCode": "6234567890",
    "depositAmount": "5000.00",
    "currency": "NGN",
    "status": "SUCCESS",
    "refId": "RIDER0000000042",
    "name": "EMEKA RIDER",
    "senderName": "CHIDI OKAFOR",
    "senderBank": "Access Bank",
    "senderAccount": "0712345678",
    "transactionTime": "1795350000000",
    "completedTime": "1795350001000",
}

BANK_TRANSFER = {
    "data": {
        "outOrderNo": "",
        "orderNo": "261122020300198765432",
        "payNo": "000013261122114217000123456789",
        "merchantId": "256621051512345",
        "status": "SUCCESS",
        "senderName": "ADA OBI",
        "senderBank": "Guaranty Trust Bank",
        "senderAccount": "0123456789",
        "recipientName": "ADAEZE STORES LTD-ADA OBI",
        "receiptBank": "OPay",
        "receiptAccount": "6123456789",
        "amount": "15000.00",
        "fee": "75.00",
        "payMethod": "BankTransfer",
        "settlementAmount": "14925.00",
        "currency": "NGN",
        "transactionTime": "1795347737000",
        "completedTime": "1795347738000",
        "remark": "INV-1002 payment",
    }
}


def _checkout(**fields) -> dict:
    body = copy.deepcopy(CHECKOUT_PAYMENT)
    body["payload"].update(fields)
    body[SIGNATURE_FIELD] = sign(body, SAMPLE_SECRET_KEY)
    return body


def sample_payloads() -> dict:
    return {
        "checkout_payment": _checkout(),
        # The same transaction refunded in full, two days later.
        "checkout_refund": _checkout(
            refunded=True, timestamp="2026-11-24T14:02:10Z", updated_at="2026-11-24T14:02:11Z"
        ),
        # A partial refund Opay has not completed: nothing taken back yet, answered "ignored".
        "checkout_refund_pending": _checkout(
            amount="10000", refunded=True, status="PENDING", timestamp="2026-11-24T14:05:00Z"
        ),
        "pos_card_payment": copy.deepcopy(POS_CARD_PAYMENT),
        "bank_transfer": copy.deepcopy(BANK_TRANSFER),
        # Signed in its headers (Provider.sign adds RequestTimestamp, MerchantId, Authorization).
        "macquiring_payment": copy.deepcopy(MACQUIRING_PAYMENT),
        "wallet_deposit": copy.deepcopy(WALLET_DEPOSIT),
    }
