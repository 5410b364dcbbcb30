"""Monnify payment and SETTLEMENT webhook bodies for the settlement tests (shapes as in the plugin's samples)."""

from __future__ import annotations

from decimal import Decimal

from flux_recon_monnify.provider import MonnifyProvider


def payment_webhook(transaction_id: str, reference: str, amount: str, fee: str = "0.00") -> dict:
    """A SUCCESSFUL_TRANSACTION for ``reference`` (the order), Monnify's id ``transaction_id``."""
    payload = MonnifyProvider.sample_payloads()["card_payment"]
    data = payload["eventData"]
    data.update(
        transactionReference=transaction_id,
        paymentReference=reference,
        amountPaid=amount,
        totalPayable=amount,
        settlementAmount=str(Decimal(amount) - Decimal(fee)),
    )
    data["product"]["reference"] = reference
    return payload


def settlement_webhook(reference: str, transactions: list[tuple[str, str, str, str]], *, listed: bool = True) -> dict:
    """A SETTLEMENT paying out ``transactions`` as (transaction id, order reference, amount, fee);
    ``listed=False`` is the older form without ``transactions``."""
    payload = MonnifyProvider.sample_payloads()["settlement"]
    data = payload["eventData"]
    gross = sum((Decimal(amount) for _, _, amount, _ in transactions), Decimal(0))
    fees = sum((Decimal(fee) for _, _, _, fee in transactions), Decimal(0))
    data.update(settlementReference=reference, amount=str(gross - fees), transactionsCount=len(transactions))
    template = data["transactions"][0]
    data["transactions"] = [
        {
            **template,
            "product": {"reference": order, "type": "WEB_SDK"},
            "transactionReference": transaction_id,
            "paymentReference": order,
            "amountPaid": amount,
            "totalPayable": amount,
            "settlementAmount": str(Decimal(amount) - Decimal(fee)),
        }
        for transaction_id, order, amount, fee in transactions
    ]
    if not listed:
        del data["transactions"]
    return payload


def transactions_answer(transactions: list[tuple[str, str, str, str]], *, page: int = 0, last: bool = True) -> dict:
    """Monnify's answer to GET /api/v1/transactions/find-by-settlement-reference (its documented shape)."""
    return {
        "requestSuccessful": True,
        "responseMessage": "success",
        "responseCode": "0",
        "responseBody": {
            "content": [
                {
                    "transactionReference": transaction_id,
                    "paymentReference": order,
                    "amountPaid": amount,
                    "totalPayable": amount,
                    "settlementAmount": str(Decimal(amount) - Decimal(fee)),
                    "paidOn": "22/11/2026 09:18:42 AM",
                    "paymentStatus": "PAID",
                    "paymentDescription": "Order " + order,
                    "transactionHash": None,
                    "currency": "NGN",
                    "paymentMethod": "ACCOUNT_TRANSFER",
                    "product": {"type": "WEB_SDK", "reference": order},
                    "cardDetails": None,
                    "accountDetails": {"accountName": None, "accountNumber": "******2190", "bankCode": "001"},
                    "customer": {"email": None, "name": None},
                }
                for transaction_id, order, amount, fee in transactions
            ],
            "last": last,
            "totalPages": page + 1,
            "totalElements": len(transactions),
            "size": 100,
            "number": page,
        },
    }
