"""Monnify settlements: the SETTLEMENT webhook as a SettlementNotice, and Monnify's API for settlement lines.

Sources (see the README): the SETTLEMENT event's eventData (``amount``, ``settlementTime``,
``settlementReference``, ``destinationAccountNumber``/``BankName``/``AccountName``,
``transactionsCount``, ``transactions[]``) after Monnify's "Webhook Events and Request
Structure" (teamapt.atlassian.net/wiki/spaces/MON/pages/320864320) and "Settlement
Notification" (.../pages/213909380, the older form without ``transactions``); the API after
"Get Transactions By Settlement Reference" (.../pages/223149907:
``GET /api/v1/transactions/find-by-settlement-reference?reference=&page=&size=``, pages from 0)
and developers.monnify.com/api (``POST /api/v1/auth/login`` with Basic apiKey:secretKey ->
``responseBody.accessToken``; ``GET /api/v2/transactions/{transactionReference}``).
"""

from __future__ import annotations

import base64
from decimal import Decimal
from urllib.parse import quote

from flux_recon import (
    NoticeStatus,
    Payer,
    PaymentMethod,
    PaymentNotice,
    ProviderApiError,
    SettlementApi,
    SettlementLineRecord,
    SettlementNotice,
    SettlementRecord,
)

from .fields import MonnifyFields

SETTLED_STATUSES = ("PAID", "OVERPAID", "PARTIALLY_PAID")
API_KEY = "api_key"
SECRET_KEY = "client_secret"  # noqa: S105 - Monnify's secret key: the same key signs its webhooks
BASE_URL_OPTION = "api_base_url"
DEFAULT_BASE_URL = "https://api.monnify.com"
PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 transactions in one settlement: past that the answer is not believed


def settlement_notice(data: MonnifyFields, methods: dict) -> SettlementNotice:
    """A SETTLEMENT event's eventData as one SettlementRecord. ``amount`` is what reached the
    merchant's account (net); with ``transactions`` listed in full, gross is the sum of their
    ``amountPaid`` and the fees the difference. Without ``transactions`` (the older form) the
    header is recorded alone with ``amount`` as its stated net, and its lines come from the
    API (their net must add up to it)."""
    reference = data.text("settlementReference", required=True)
    settled_at = data.monnify_time("settlementTime")
    transactions = data.data.get("transactions")
    if transactions is not None and not (
        isinstance(transactions, list) and all(isinstance(item, dict) for item in transactions)
    ):
        data.error("transactions", "must be a list of objects")
        transactions = []
    where = data.where("transactions")
    items = [MonnifyFields(item, f"{where}[{i}]", data.errors) for i, item in enumerate(transactions or [])]
    currency = items[0].currency_or_naira() if items else data.currency_or_naira()
    net = data.amount("amount", currency, positive=False)
    count = data.data.get("transactionsCount")
    lines = tuple(line for item in items if (line := settlement_line(item, currency, methods)) is not None)
    data.check("the Monnify SETTLEMENT event is not valid")
    complete = bool(lines) and (count is None or count == len(lines))
    gross = sum((line.amount for line in lines), Decimal(0)) if complete else None
    if complete and len(lines) == 1 and lines[0].net is None and gross >= net:
        # One transaction without its own settlementAmount: the settlement's fee is its fee.
        lines = (SettlementLineRecord(**{**lines[0].__dict__, "fee": gross - net}),)
    record = SettlementRecord(
        reference=reference,
        settled_at=settled_at,
        currency=currency,
        gross=gross,
        fees=None if gross is None else gross - net,
        net=net,  # alone (no gross, no fees): checked against the lines when they come
        destination_account=data.text("destinationAccountNumber", max_length=64),
        destination_bank=data.text("destinationBankName"),
        destination_name=data.text("destinationAccountName"),
        lines=lines,
    )
    return SettlementNotice((record,))


def settlement_line(item: MonnifyFields, currency: str, methods: dict) -> SettlementLineRecord | None:
    """One settled transaction: ``transactionReference`` is the id Monnify's payment webhooks
    carry, so a payment recovered from this line and its late webhook are one payment."""
    transaction_id = item.text("transactionReference", required=True)
    line_currency = item.currency_or_naira()
    if line_currency != currency:
        item.error("currency", f"is {line_currency}; the settlement's other transactions are in {currency}")
    amount = item.amount("amountPaid", currency)
    settled = item.amount("settlementAmount", currency, required=False, positive=False)
    status = item.text("paymentStatus")
    if status is not None and status.upper() not in SETTLED_STATUSES:
        item.error("paymentStatus", f"must be one of {', '.join(SETTLED_STATUSES)} in a settlement")
    paid_at = item.monnify_time("paidOn", required=False)
    if transaction_id is None or amount is None:
        return None
    fee = Decimal(0)
    if settled is not None:
        if settled > amount:
            item.error("settlementAmount", "is more than amountPaid")
            return None
        fee = amount - settled
    email = item.nested("customer").text("email", max_length=320)
    method = methods.get((item.text("paymentMethod", max_length=64) or "").upper(), PaymentMethod.OTHER)
    return SettlementLineRecord(
        transaction_id=transaction_id,
        amount=amount,
        fee=fee,
        net=settled,
        reference=_reference(item),
        paid_at=paid_at,
        payer_email=email.lower() if email else None,
        method=method,
    )


def _reference(item: MonnifyFields) -> str | None:
    """The merchant's reference: a reserved account's product reference, else paymentReference."""
    product = item.nested("product")
    if (product.text("type", max_length=64) or "").upper() == "RESERVED_ACCOUNT" and product.text("reference"):
        return product.text("reference")
    return item.text("paymentReference") or product.text("reference")


class MonnifySettlementApi(SettlementApi):
    """Monnify's API: the lines of settlements known from webhooks (Monnify documents no list
    of settlements by date, only the transactions of a settlement reference), and one
    transaction's status."""

    credentials = (API_KEY, SECRET_KEY)
    base_url_option = BASE_URL_OPTION

    def __init__(self, methods: dict):
        self.methods = methods

    def fetch_settlements(self, session, credentials, options, since, until, *, awaiting_lines=()):
        token = self._login(session, credentials)
        for reference in awaiting_lines:
            for page in range(MAX_PAGES):
                answer = session.get_json(
                    "/api/v1/transactions/find-by-settlement-reference",
                    params={"reference": reference, "page": page, "size": PAGE_SIZE},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = _body(answer)
                content = body.get("content")
                if not isinstance(content, list):
                    raise ProviderApiError("Monnify's settlement transactions answer has no responseBody.content list")
                for position, item in enumerate(content):
                    yield self._line(item, reference, page * PAGE_SIZE + position)
                if body.get("last", True) or not content:
                    break

    def _line(self, item, reference: str, position: int) -> SettlementLineRecord:
        if not isinstance(item, dict):
            raise ProviderApiError(f"settlement {reference}: transaction {position} is not an object")
        fields = MonnifyFields(item, f"content[{position}]")
        currency = fields.currency_or_naira()
        line = settlement_line(fields, currency, self.methods)
        if fields.errors or line is None:
            raise ProviderApiError(f"settlement {reference}: transaction {position}: {_first(fields.errors)}")
        return SettlementLineRecord(**{**line.__dict__, "settlement_reference": reference})

    def fetch_transaction(self, session, credentials, options, transaction_id):
        token = self._login(session, credentials)
        try:
            answer = session.get_json(
                f"/api/v2/transactions/{quote(transaction_id, safe='')}",
                headers={"Authorization": f"Bearer {token}"},
            )
        except ProviderApiError as exc:
            if exc.status == 404:
                return None
            raise
        body = _body(answer)
        fields = MonnifyFields(body, "responseBody")
        currency = fields.currency("currencyCode", default="NGN") or "NGN"
        status = {"PAID": NoticeStatus.SUCCEEDED, "OVERPAID": NoticeStatus.SUCCEEDED,
                  "PARTIALLY_PAID": NoticeStatus.SUCCEEDED, "PENDING": NoticeStatus.PENDING}.get(
            (fields.text("paymentStatus") or "").upper(), NoticeStatus.FAILED)  # fmt: skip
        amount = fields.amount("amountPaid", currency, positive=False)
        paid_on = fields.monnify_time("paidOn", required=False) or fields.monnify_time("createdOn", required=False)
        if fields.errors or amount is None or paid_on is None:
            problem = _first(fields.errors) or "no paidOn"
            raise ProviderApiError(f"Monnify's transaction {transaction_id} answer: {problem}")
        return PaymentNotice(
            external_id=fields.text("transactionReference") or transaction_id,
            amount=amount,
            currency=currency,
            occurred_at=paid_on,
            status=status,
            references=tuple(r for r in (fields.text("paymentReference"),) if r),
            payer=Payer(email=(fields.nested("customer").text("email", max_length=320) or None)),
            method=self.methods.get((fields.text("paymentMethod", max_length=64) or "").upper(), PaymentMethod.OTHER),
            raw=body,
        )

    @staticmethod
    def _login(session, credentials) -> str:
        pair = f"{credentials[API_KEY]}:{credentials[SECRET_KEY]}".encode()
        answer = session.post_json(
            "/api/v1/auth/login", headers={"Authorization": "Basic " + base64.b64encode(pair).decode()}
        )
        token = _body(answer).get("accessToken")
        if not isinstance(token, str) or not token:
            raise ProviderApiError("Monnify's login answer has no responseBody.accessToken")
        return token


def _body(answer) -> dict:
    """Monnify wraps every answer: ``{requestSuccessful, responseMessage, responseCode, responseBody}``."""
    if not isinstance(answer, dict):
        raise ProviderApiError("Monnify answered something other than a JSON object")
    if answer.get("requestSuccessful") is False:
        message = str(answer.get("responseMessage") or "no message")[:200]
        raise ProviderApiError(f"Monnify refused the request: {message}")
    body = answer.get("responseBody")
    if not isinstance(body, dict):
        raise ProviderApiError("Monnify's answer has no responseBody object")
    return body


def _first(errors: dict) -> str:
    for name, messages in errors.items():
        return f"{name} {messages[0]}"
    return ""
