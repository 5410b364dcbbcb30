"""Sales orders: creating, reading, listing, changing and cancelling a tenant's orders."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import peewee

from flux_recon.core.domain_events import order_event
from flux_recon.core.states import OrderStatus
from flux_recon.models import Allocation, Payment, SalesOrder, reference_key, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked
from flux_recon.money import MoneyError, format_minor, from_minor, to_minor
from flux_recon.outbound.outbox import publishing
from flux_recon.reconciliation import Engine, derive_status
from flux_recon.reconciliation.match_locks import lock_match_keys, order_keys
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rematch import rematch_for_order
from flux_recon.services.errors import Conflict, Invalid, NotFound
from flux_recon.services.owned import get_owned


def get_order(tenant_id: str, order_id: int, *, lock: bool = False) -> SalesOrder:
    """The tenant's order (locked for this transaction if ``lock``), or NotFound."""
    return get_owned(SalesOrder, order_id, "order", tenant_id, query=locked(SalesOrder.select()) if lock else None)


def find_order(tenant_id: str, wanted: str) -> SalesOrder:
    """The order a person names: by its reference (compared as matching compares it), else
    by its id ("12" or "#12"). NotFound when neither names one of the tenant's orders."""
    text = (wanted or "").strip()
    key = None if text.startswith("#") else reference_key(text)
    if key is not None:
        found = SalesOrder.get_or_none((SalesOrder.tenant == tenant_id) & (SalesOrder.reference_key == key))
        if found is not None:
            return found
    number = text.removeprefix("#").strip()
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return get_order(tenant_id, int(number))
    raise NotFound(f"no order with the reference or id {text[:80]!r}")


def order_allocations(tenant_id: str, order_id: int, *, limit: int = 200) -> list[Allocation]:
    """The order's allocations, live and released, oldest first, each with its payment."""
    query = (
        Allocation.select(Allocation, Payment)
        .join(Payment)
        .where((Allocation.order == order_id) & (Payment.tenant == tenant_id))
        .order_by(Allocation.id)
        .limit(limit)
    )
    return list(query)


def list_orders(
    tenant_id: str,
    *,
    status: str | None = None,
    reference: str | None = None,
    customer: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    currency: str | None = None,
) -> peewee.ModelSelect:
    """The tenant's orders, newest first: a query the caller pages through.

    ``reference`` is an order or payment reference compared case-insensitively,
    ``customer`` a customer id, email or phone; ``created_from`` is inclusive, ``created_to`` not.
    """
    query = SalesOrder.select().where(SalesOrder.tenant == tenant_id)
    if status is not None:
        query = query.where(SalesOrder.status == status)
    if currency is not None:
        query = query.where(SalesOrder.currency == currency)
    if reference is not None:
        key = reference_key(reference)
        query = query.where((SalesOrder.reference_key == key) | (SalesOrder.payment_reference_key == key))
    if customer is not None:
        who = customer.strip()
        query = query.where(
            (SalesOrder.customer_id == who)
            | (SalesOrder.customer_email == who.lower())
            | (SalesOrder.customer_phone == who)
        )
    if created_from is not None:
        query = query.where(SalesOrder.created_at >= created_from)
    if created_to is not None:
        query = query.where(SalesOrder.created_at < created_to)
    return query.order_by(SalesOrder.id.desc())


def create_order(
    tenant_id: str,
    actor: str,
    *,
    reference: str,
    amount: Decimal,
    currency: str,
    payment_reference: str | None = None,
    virtual_account: str | None = None,
    description: str | None = None,
    customer: dict | None = None,
    created_at: dt.datetime | None = None,
    engine: Engine | None = None,
    plugin_manager=None,
) -> SalesOrder:
    """Create an order, its audit entry, and the matches it makes, in one transaction.

    ``customer`` holds any of ``id``, ``name``, ``email``, ``phone``; ``created_at`` is when
    the order was placed (default now), for orders brought over from elsewhere. Raises
    Invalid for a blank reference or an amount the currency cannot hold, Conflict when the
    tenant already has an order with this reference (compared case-insensitively).

    The open payments the order may be for (paid before it existed) are matched again by
    ``engine``'s strategies (default: the built-in ones), with the allocations, audit
    entries and events of a webhook match; the events reach the outbox in the same
    transaction, and ``plugin_manager`` (if given) after the commit.
    """
    key = reference_key(reference)
    if key is None:
        raise Invalid("reference must not be blank", {"reference": ["must not be blank"]})
    amount_minor = _minor(amount, currency)
    customer = customer or {}
    order = SalesOrder(
        tenant=tenant_id,
        reference=reference.strip(),
        reference_key=key,
        payment_reference=payment_reference,
        payment_reference_key=reference_key(payment_reference),
        virtual_account=(virtual_account or "").strip() or None,
        amount_minor=amount_minor,
        currency=currency,
        description=description,
        customer_id=_customer_value("id", customer.get("id")),
        customer_name=customer.get("name"),
        customer_email=_customer_value("email", customer.get("email")),
        customer_phone=_customer_value("phone", customer.get("phone")),
        **({"created_at": created_at, "updated_at": created_at} if created_at else {}),
    )
    try:
        with publishing(plugin_manager or _NO_PLUGINS) as events:
            lock_match_keys(tenant_id, order_keys(order))
            order.save(force_insert=True)
            record_audit(
                tenant_id,
                actor,
                "order.created",
                "order",
                order.id,
                {"reference": order.reference, "amount_minor": order.amount_minor, "currency": order.currency},
            )
            events += _match_open_payments(tenant_id, actor, order, None, engine, f"order {order.id} created")
    except peewee.IntegrityError:
        # The only unique index on orders is (tenant, reference_key).
        raise Conflict(f"an order with reference {reference!r} already exists") from None
    return SalesOrder.get_by_id(order.id)


# The fields a PATCH may change, and those a matching strategy reads.
CUSTOMER_FIELDS = {"id": "customer_id", "name": "customer_name", "email": "customer_email", "phone": "customer_phone"}
MATCHED_FIELDS = (
    "reference_key",
    "payment_reference_key",
    "virtual_account",
    "amount_minor",
    "currency",
    "customer_id",
    "customer_email",
    "customer_phone",
)


def update_order(
    tenant_id: str,
    actor: str,
    order_id: int,
    changes: dict,
    *,
    engine: Engine | None = None,
    plugin_manager=None,
) -> SalesOrder:
    """Change an order's ``reference``, ``payment_reference``, ``virtual_account``,
    ``description``, ``amount``, ``currency`` or ``customer`` (a partial dict: the fields it
    names change, the others stay); a key absent from ``changes`` is left as it is, None
    clears an optional field.

    Refused: a cancelled order (Conflict); a reference another order has (Conflict); a blank
    reference, an amount below what is already allocated to the order, or a currency change
    once money is allocated (Invalid, naming the field). Every change is audited with the
    fields' values before and after; the status follows a new amount. A change to a field a
    strategy matches by looks up the open payments the order may now be for (and those
    that named it by its old values) and matches them as ``create_order`` does.
    """
    current = get_order(tenant_id, order_id)
    try:
        with publishing(plugin_manager or _NO_PLUGINS) as events:
            # The locks before the row lock, in the order a webhook takes them (see match_locks).
            lock_match_keys(tenant_id, order_keys(current, _changed_copy(current, changes)))
            order = get_order(tenant_id, order_id, lock=True)
            if order.status == OrderStatus.CANCELLED:
                raise Conflict("a cancelled order cannot be changed")
            before = _snapshot(order)
            values = _new_values(order, changes)
            diff = {
                name: (getattr(order, name), value) for name, value in values.items() if getattr(order, name) != value
            }
            if not diff:
                return order
            _check_update(order, values, diff)
            # Only if the order changed between the read and the row lock are new keys taken here.
            lock_match_keys(tenant_id, order_keys(_changed_copy(order, changes)))
            for name, (_, value) in diff.items():
                setattr(order, name, value)
            previous_status = order.status
            if "amount_minor" in diff:
                settings = tenant_settings(tenant_id)
                order.status = derive_status(
                    order.amount_minor, order.amount_paid_minor, tolerance_minor=settings.tolerance(order.currency)
                )
            order.updated_at = utcnow()
            order.save()
            record_audit(tenant_id, actor, "order.updated", "order", order.id, {"changes": _audited(before, diff)})
            events += order_event(order, previous_status)
            if any(name in diff for name in MATCHED_FIELDS):
                events += _match_open_payments(tenant_id, actor, order, before, engine, f"order {order.id} changed")
    except peewee.IntegrityError:
        raise Conflict(f"an order with reference {changes.get('reference')!r} already exists") from None
    return SalesOrder.get_by_id(order_id)


def _new_values(order: SalesOrder, changes: dict) -> dict:
    """The stored columns ``changes`` sets, normalised as ``create_order`` stores them."""
    values: dict = {}
    if "reference" in changes:
        key = reference_key(changes["reference"])
        if key is None:
            raise Invalid("reference must not be blank", {"reference": ["must not be blank"]})
        values.update(reference=changes["reference"].strip(), reference_key=key)
    if "payment_reference" in changes:
        given = changes["payment_reference"]
        values.update(payment_reference=given, payment_reference_key=reference_key(given))
    if "virtual_account" in changes:
        values["virtual_account"] = (changes["virtual_account"] or "").strip() or None
    if "description" in changes:
        values["description"] = changes["description"]
    for name, column in CUSTOMER_FIELDS.items():
        if name in (changes.get("customer") or {}):
            values[column] = _customer_value(name, changes["customer"][name])
    currency = changes.get("currency", order.currency)
    if "currency" in changes:
        values["currency"] = currency
    if "amount" in changes:
        values["amount_minor"] = _minor(changes["amount"], currency)
    elif "currency" in changes:
        # The same amount in the new currency, if that currency can hold it.
        values["amount_minor"] = _minor(from_minor(order.amount_minor, order.currency), currency)
    return values


def _customer_value(name: str, value: str | None) -> str | None:
    """A customer's field as stored: the id, email and phone as matching compares them
    (trimmed, the email in lower case; blank is none), so a payer's values find them."""
    if value is None or name not in ("id", "email", "phone"):
        return value
    value = value.strip()
    if name == "email":
        value = value.lower()
    return value or None


def _check_update(order: SalesOrder, values: dict, diff: dict) -> None:
    if "currency" in diff and order.amount_paid_minor:
        paid = format_minor(order.amount_paid_minor, order.currency)
        message = f"currency cannot change: {paid} {order.currency} is already allocated to this order"
        raise Invalid(message, {"currency": [message]})
    if values.get("amount_minor", order.amount_minor) < order.amount_paid_minor:
        paid = format_minor(order.amount_paid_minor, order.currency)
        message = f"amount cannot be less than the {paid} {order.currency} already allocated to this order"
        raise Invalid(message, {"amount": [message]})
    if "reference_key" in diff:
        taken = SalesOrder.select(SalesOrder.id).where(
            (SalesOrder.tenant == order.tenant_id)
            & (SalesOrder.reference_key == values["reference_key"])
            & (SalesOrder.id != order.id)
        )
        if taken.exists():
            raise Conflict(f"an order with reference {values['reference']!r} already exists")


def _audited(before: SalesOrder, diff: dict) -> dict:
    """The changed fields as the API names them, before and after (amounts in minor units)."""
    names = {column: f"customer.{name}" for name, column in CUSTOMER_FIELDS.items()}
    return {
        names.get(column, column): {"from": old, "to": new}
        for column, (old, new) in diff.items()
        if not column.endswith("_key")
    }


def _changed_copy(order: SalesOrder, changes: dict) -> SalesOrder:
    """The order with ``changes`` applied where they can be (for the locks only); a value
    that will be refused later is simply left out."""
    changed = _snapshot(order)
    try:
        values = _new_values(order, changes)
    except Invalid:
        return changed
    for name, value in values.items():
        setattr(changed, name, value)
    return changed


def _snapshot(order: SalesOrder) -> SalesOrder:
    """A copy of the row's values that later changes to ``order`` leave alone (a shallow
    copy of a peewee model shares its field values)."""
    copied = copy.copy(order)
    copied.__data__ = dict(order.__data__)
    copied._dirty = set(order._dirty)
    return copied


def _minor(amount: Decimal, currency: str) -> int:
    try:
        amount_minor = to_minor(amount, currency)
    except MoneyError as exc:
        raise Invalid(str(exc), {"amount": [str(exc)]}) from None
    if amount_minor <= 0:
        raise Invalid("amount must be greater than zero", {"amount": ["amount must be greater than zero"]})
    return amount_minor


def _match_open_payments(tenant_id, actor, order, previous, engine, trigger) -> list[dict]:
    """Match the open payments the order may be for; their events."""
    results = rematch_for_order(
        engine or _BUILTIN,
        order,
        settings=tenant_settings(tenant_id),
        actor=actor,
        trigger=trigger,
        previous=previous,
    )
    return [event for result in results for event in result.events]


# Without a plugin manager the events still reach the outbox; no plugin hears of them.
_NO_PLUGINS = SimpleNamespace(hook=SimpleNamespace(flux_recon_event=lambda event: None))
_BUILTIN = Engine.builtin()


def cancel_order(tenant_id: str, actor: str, order_id: int, plugin_manager) -> SalesOrder:
    """Cancel an order (a cancelled one is returned as it is). Raises NotFound, or Conflict
    when payments are allocated to it. The order.cancelled event reaches the outbox in the
    same transaction and plugins after the commit."""
    with publishing(plugin_manager) as events:
        order = get_order(tenant_id, order_id, lock=True)
        if order.status == OrderStatus.CANCELLED:
            return order
        if order.amount_paid_minor:
            raise Conflict("this order has payments allocated; unmatch them before cancelling")
        previous = order.status
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = order.updated_at = utcnow()
        order.save()
        record_audit(tenant_id, actor, "order.cancelled", "order", order.id)
        events += order_event(order, previous)
    return order
