"""Paystack's Settlements API as a settlement source: payouts and their transactions, pulled on a schedule.

After Paystack's API reference (paystack.com/docs/api/settlement): ``GET /settlement``
(``from``, ``to``, ``perPage``, ``page``; each payout's ``id``, ``status``, ``currency``,
``total_processed``, ``total_fees``, ``total_amount``, ``settlement_date``, amounts in kobo)
and ``GET /settlement/:id/transactions`` (the charges it paid out: ``reference``, ``amount``,
``fees``, ``paid_at``, ``customer.email``, ``channel``); ``GET /transaction/verify/:reference``
for one transaction; every call with ``Authorization: Bearer <secret key>``.
"""

from __future__ import annotations

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
    SettlementRecord,
)

from .fields import PaystackFields

SECRET_KEY = "secret_key"  # noqa: S105 - the credential field's name, not a secret
BASE_URL_OPTION = "api_base_url"
DEFAULT_BASE_URL = "https://api.paystack.co"
PER_PAGE = 100
MAX_PAGES = 1000


class PaystackSettlementApi(SettlementApi):
    """Paystack payouts from a time window: each ``success`` payout with its transactions.
    A payout's reference is ``<settlement date>/<currency>``, as the payout export's is, so a
    pulled payout and an imported export are one settlement."""

    credentials = (SECRET_KEY,)
    base_url_option = BASE_URL_OPTION

    def __init__(self, channels: dict):
        self.channels = channels

    def fetch_settlements(self, session, credentials, options, since, until, *, awaiting_lines=()):
        headers = {"Authorization": f"Bearer {credentials[SECRET_KEY]}"}
        window = {"from": since.isoformat(), "to": until.isoformat(), "perPage": PER_PAGE}
        for payout in _pages(session, "/settlement", window, headers):
            record = self._payout(payout)
            if record is None:
                continue  # not paid out yet: a later pull (the windows overlap) sees it
            yield record
            path = f"/settlement/{quote(str(payout['id']), safe='')}/transactions"
            for position, item in enumerate(_pages(session, path, {"perPage": PER_PAGE}, headers)):
                yield self._line(item, record, position)

    def _payout(self, payout) -> SettlementRecord | None:
        if not isinstance(payout, dict) or "id" not in payout:
            raise ProviderApiError("Paystack's /settlement answer holds a payout without an id")
        fields = PaystackFields(payout, f"settlement {payout.get('id')}")
        if (fields.text("status") or "").lower() != "success":
            return None
        currency = fields.settlement_currency()
        gross = fields.subunits("total_processed", currency)
        fees = fields.subunits("total_fees", currency)
        net = fields.subunits("total_amount", currency)
        settled_at = fields.first_time("settlement_date", "settlementDate")
        if fields.errors or settled_at is None:
            raise ProviderApiError(f"Paystack payout {payout['id']}: {_first(fields.errors) or 'no settlement_date'}")
        return SettlementRecord(
            reference=f"{settled_at.date().isoformat()}/{currency}",
            settled_at=settled_at,
            currency=currency,
            gross=gross,
            fees=fees,
            net=net,
        )

    def _line(self, item, record: SettlementRecord, position: int) -> SettlementLineRecord:
        if not isinstance(item, dict):
            raise ProviderApiError(f"payout {record.reference}: transaction {position} is not an object")
        fields = PaystackFields(item, f"transaction {position}")
        reference = fields.text("reference", required=True)
        amount = fields.subunits("amount", record.currency)
        fee = fields.subunits("fees", record.currency, required=False)
        paid_at = fields.first_time("paid_at", "paidAt")
        email = fields.nested("customer").text("email", max_length=320)
        if fields.errors:
            raise ProviderApiError(f"payout {record.reference}: {_first(fields.errors)}")
        return SettlementLineRecord(
            transaction_id=reference,  # what Paystack's charge.success webhook carries
            amount=amount,
            fee=fee if fee is not None else Decimal(0),
            reference=reference,
            paid_at=paid_at,
            payer_email=email.lower() if email else None,
            method=self.channels.get((fields.text("channel", max_length=40) or "").lower(), PaymentMethod.OTHER),
            settlement_reference=record.reference,
        )

    def fetch_transaction(self, session, credentials, options, transaction_id):
        headers = {"Authorization": f"Bearer {credentials[SECRET_KEY]}"}
        try:
            answer = session.get_json(f"/transaction/verify/{quote(transaction_id, safe='')}", headers=headers)
        except ProviderApiError as exc:
            if exc.status == 404:
                return None
            raise
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise ProviderApiError("Paystack's verify answer has no data object")
        fields = PaystackFields(data, "data")
        currency = fields.settlement_currency()
        amount = fields.subunits("amount", currency)
        occurred_at = fields.first_time("paid_at", "paidAt", "created_at", "createdAt")
        if fields.errors or occurred_at is None:
            raise ProviderApiError(f"Paystack transaction {transaction_id}: {_first(fields.errors) or 'no time'}")
        status = {"success": NoticeStatus.SUCCEEDED, "pending": NoticeStatus.PENDING, "ongoing": NoticeStatus.PENDING}
        return PaymentNotice(
            external_id=fields.text("reference") or transaction_id,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            status=status.get((fields.text("status") or "").lower(), NoticeStatus.FAILED),
            references=(transaction_id,),
            payer=Payer(email=fields.nested("customer").text("email", max_length=320)),
            method=self.channels.get((fields.text("channel", max_length=40) or "").lower(), PaymentMethod.OTHER),
            raw=data,
        )


def _pages(session, path: str, params: dict, headers: dict):
    """Every item of a paged Paystack list (``data`` with ``meta.pageCount``)."""
    for page in range(1, MAX_PAGES + 1):
        answer = session.get_json(path, params={**params, "page": page}, headers=headers)
        if not isinstance(answer, dict) or answer.get("status") is False:
            message = str(answer.get("message") if isinstance(answer, dict) else "not an object")[:200]
            raise ProviderApiError(f"Paystack {path}: {message}")
        data = answer.get("data")
        if not isinstance(data, list):
            raise ProviderApiError(f"Paystack {path}: the answer has no data list")
        yield from data
        meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
        page_count = meta.get("pageCount")
        if not data or not isinstance(page_count, int) or page >= page_count:
            return


def _first(errors: dict) -> str:
    for name, messages in errors.items():
        return f"{name} {messages[0]}"
    return ""
