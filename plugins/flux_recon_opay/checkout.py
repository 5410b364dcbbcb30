"""The Opay checkout/cashier callback ("type": "transaction-status") mapped onto notices, in either unit."""

from __future__ import annotations

from flux_recon import Ignored, NoticeKind, NoticeStatus, PayloadError, PaymentNotice, Unrecognized
from flux_recon.money import to_minor

from .fields import OpayFields, method_of

TRANSACTION_STATUS = "transaction-status"
# The integration option naming which Opay API generation sends the callback; it decides
# the unit of payload.amount and payload.fee, which the callback itself does not state.
API_GENERATION = "api_generation"
CHECKOUT_GENERATION = "checkout"  # doc.opaycheckout.com: amounts in kobo ("49160")
LEGACY_CASHIER_GENERATION = "legacy_cashier"  # documentation.opayweb.com and its PHP SDK: naira ("10.00")
GENERATIONS = (CHECKOUT_GENERATION, LEGACY_CASHIER_GENERATION)

# CLOSE is Opay closing an order that was never paid (it expired, or the merchant closed
# it): no money moved and the order will not be paid under this transaction, so it is a
# final failure, like FAIL.
STATUSES = {
    "SUCCESS": NoticeStatus.SUCCEEDED,
    # The older cashier's spelling ("successful", in lower case).
    "SUCCESSFUL": NoticeStatus.SUCCEEDED,
    "FAIL": NoticeStatus.FAILED,
    "CLOSE": NoticeStatus.FAILED,
    "INITIAL": NoticeStatus.PENDING,
    "PENDING": NoticeStatus.PENDING,
}
# A refund id is at most this plus ":refund:<kobo>", within the 200 characters an id may have.
MAX_TRANSACTION_ID = 150


def parse(body: dict, generation: str = CHECKOUT_GENERATION) -> list[PaymentNotice] | Ignored | Unrecognized:
    """One notice for a transaction-status callback, its amounts read in ``generation``'s unit;
    Ignored for a refund that has not (yet) succeeded; Unrecognized for another event type."""
    if "data" in body:
        raise PayloadError(
            "a body is either a checkout callback (payload) or a POS/transfer notification (data), not both",
            {"data": ["is not allowed in a checkout callback"]},
        )
    event_type = body.get("type")
    if isinstance(event_type, str) and event_type.strip() and event_type != TRANSACTION_STATUS:
        # Opay documents no other event type in this envelope: it may carry money, so it is kept
        # for review and replay, never acknowledged as carrying none.
        return Unrecognized(f"Opay callback type {event_type[:60]!r} is not one this plugin reads")
    if event_type != TRANSACTION_STATUS:
        raise PayloadError("not an Opay checkout callback", {"type": [f'must be "{TRANSACTION_STATUS}"']})
    fields = body.get("payload")
    if not isinstance(fields, dict):
        raise PayloadError("not an Opay checkout callback", {"payload": ["must be an object"]})
    return _notices(fields, body, generation)


def _notices(fields: dict, body: dict, generation: str) -> list[PaymentNotice] | Ignored:
    reader = OpayFields(fields, "payload")
    transaction_id = reader.text("transactionId", required=True, max_length=MAX_TRANSACTION_ID)
    reference = reader.text("reference", required=True)
    currency = reader.currency()
    amount = _amount(reader, "amount", currency, generation, positive=True)
    fee = _fee(reader, currency, generation)
    status = reader.choice("status", STATUSES)
    refunded = reader.flag("refunded")
    occurred_at = reader.instant("timestamp")
    reader.check("the Opay checkout callback is not valid")

    common = {
        "amount": amount,
        "currency": currency,
        "occurred_at": occurred_at,
        "method": method_of(fields.get("instrumentType")),
        "references": (reference,),
        "raw": body,
    }
    if not refunded:
        return [PaymentNotice(external_id=transaction_id, status=status, fee=fee, **common)]
    if status != NoticeStatus.SUCCEEDED:
        return Ignored(f"refund of {transaction_id} is {fields['status']}: nothing has been taken back")
    # The callback carries no refund id of its own. The amount makes two partial refunds of
    # one transaction two refunds, while a retried callback (same amount) stays a duplicate.
    return [
        PaymentNotice(
            external_id=f"{transaction_id}:refund:{to_minor(amount, currency)}",
            kind=NoticeKind.REFUND,
            parent_external_id=transaction_id,
            **common,
        )
    ]


def _amount(reader: OpayFields, name: str, currency: str | None, generation: str, *, positive: bool):
    # The unit is declared by the integration, never guessed from the digits: "1000" is
    # 10.00 NGN from the checkout and would be 1000.00 NGN from the older cashier.
    required = name == "amount"
    if generation == LEGACY_CASHIER_GENERATION:
        hint = (
            f"; this integration's {API_GENERATION} is {LEGACY_CASHIER_GENERATION!r} (naira); "
            f"if Opay sends kobo, set it to {CHECKOUT_GENERATION!r}"
        )
        return reader.naira_amount(name, currency, required=required, positive=positive, hint=hint)
    hint = (
        f"; this integration's {API_GENERATION} is {CHECKOUT_GENERATION!r} (kobo); "
        f'if Opay sends naira such as "10.00", set it to {LEGACY_CASHIER_GENERATION!r}'
    )
    return reader.minor_amount(name, currency, required=required, positive=positive, hint=hint)


def _fee(reader: OpayFields, currency: str | None, generation: str):
    fee = _amount(reader, "fee", currency, generation, positive=False)
    fee_currency = reader.data.get("feeCurrency")
    # A payment's fee is stored in the payment's currency; one charged in another is left
    # in the raw payload rather than converted.
    if fee_currency not in (None, "") and str(fee_currency).strip().upper() != currency:
        return None
    return fee
