"""The console's money pages (orders, payments, review queue) through Flask's test client: every page and
action, the roles that may use them, and bad input answered with a message instead of a 500."""

from __future__ import annotations

import re

import pytest

from flux_recon.models import AuditEntry, Payment, SalesOrder, db
from tests.console_helpers import make_user, sign_in, submit


def signed_in(app, tenant, role: str):
    client = app.test_client()
    email = f"{role}@example.com"
    make_user(app, tenant["tenant_id"], email, role)
    sign_in(client, email)
    return client


@pytest.fixture
def finance(app, tenant):
    return signed_in(app, tenant, "finance")


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(client, path: str) -> str:
    page = text(client.get(path))
    found = re.search(r'<div class="flashes" role="status">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def order_links(page: str) -> int:
    return len(re.findall(r'href="/console/orders/[0-9]+"', page))


def order_row(app, reference: str) -> SalesOrder:
    with app.app_context():
        order = SalesOrder.get(SalesOrder.reference == reference)
    db.close()
    return order


def payment_row(app, payment_id: int) -> Payment:
    with app.app_context():
        payment = Payment.get_by_id(payment_id)
    db.close()
    return payment


def audit_actions(app, object_type: str, object_id) -> list[str]:
    with app.app_context():
        rows = AuditEntry.select().where(
            (AuditEntry.object_type == object_type) & (AuditEntry.object_id == str(object_id))
        )
        actions = [row.action for row in rows.order_by(AuditEntry.id)]
    db.close()
    return actions


def unmatched_payment(post_core, tenant, reference="NOPE-1", external_id="TRX-UN-1", amount="15000.00") -> int:
    """A core webhook whose reference no order has: an unmatched payment in the queue."""
    from tests.conftest import core_payload

    payload = core_payload(
        tenant["tenant_id"], paymentRef=reference, transactionRef=external_id, amount=amount, customer=None
    )
    response = post_core(payload)
    assert response.status_code == 200 and response.json["reconciliation"] == "unmatched", response.json
    return response.json["payment_id"]


# ---------------------------------------------------------------- orders


def test_the_orders_list_filters_and_pages(app, finance, create_order):
    for number in range(30):
        create_order(reference=f"INV-{number:04d}", amount="100.00", currency="NGN" if number % 3 else "GHS")
    first = text(finance.get("/console/orders"))
    assert order_links(first) == 25
    assert "Page 1 of 2 (30 in all)" in first
    second = text(finance.get("/console/orders?page=2"))
    assert order_links(second) == 5
    # Beyond the last page: an empty page, not an error.
    assert finance.get("/console/orders?page=999999999999").status_code == 200

    ghs = text(finance.get("/console/orders?currency=GHS"))
    assert "10 in all" not in ghs and ghs.count("100.00 GHS") == 10 and "NGN" not in ghs.split("<table>")[1]
    found = text(finance.get("/console/orders?reference=inv-0007"))
    assert ">INV-0007</a>" in found and order_links(found) == 1
    assert "No orders" in text(finance.get("/console/orders?status=paid"))
    assert "No orders" in text(finance.get("/console/orders?from=2999-01-01"))
    assert "INV-0029" in text(finance.get("/console/orders?to=2999-01-01&from=2000-01-01"))

    bad = finance.get("/console/orders?from=31/01/2026&status=bogus&currency=XXX")
    assert bad.status_code == 422
    assert "a date like 2026-01-31" in text(bad) and "one of open" in text(bad)


def test_finance_creates_changes_and_cancels_an_order(app, finance):
    created = submit(
        finance,
        "/console/orders/new",
        {
            "reference": "INV-2001",
            "amount": "1,500.50",
            "currency": "NGN",
            "payment_reference": "",
            "virtual_account": "0011223344",
            "description": "two chairs",
            "customer_id": "C-1",
            "customer_name": "Ada Obi",
            "customer_email": "Ada@Example.com",
            "customer_phone": "",
        },
    )
    assert created.status_code == 302
    order = order_row(app, "INV-2001")
    assert created.headers["Location"].endswith(f"/console/orders/{order.id}")
    assert (order.amount_minor, order.virtual_account, order.customer_email) == (
        150050,
        "0011223344",
        "ada@example.com",
    )
    assert order.payment_reference is None and order.customer_phone is None

    detail = text(finance.get(f"/console/orders/{order.id}"))
    assert "Order INV-2001 created (open)." in detail
    assert "1500.50 NGN" in detail and "order.created" in detail and "user:" in detail

    path = f"/console/orders/{order.id}/edit"
    form = text(finance.get(path))
    assert 'value="1500.50"' in form and 'value="0011223344"' in form
    changed = submit(
        finance,
        path,
        {
            "reference": "INV-2001",
            "amount": "2000",
            "currency": "NGN",
            "payment_reference": "PAY-9",
            "virtual_account": "",
            "description": "two chairs",
            "customer_id": "C-1",
            "customer_name": "Ada Obi",
            "customer_email": "ada@example.com",
            "customer_phone": "",
        },
    )
    assert changed.status_code == 302
    order = order_row(app, "INV-2001")
    assert (order.amount_minor, order.payment_reference, order.virtual_account) == (200000, "PAY-9", None)
    assert audit_actions(app, "order", order.id) == ["order.created", "order.updated"]

    cancelled = submit(finance, f"/console/orders/{order.id}/cancel", {}, form_at=f"/console/orders/{order.id}")
    assert cancelled.status_code == 302
    assert order_row(app, "INV-2001").status == "cancelled"
    page = text(finance.get(f"/console/orders/{order.id}"))
    assert "is cancelled" in page and "Cancel order" not in page
    # A cancelled order cannot be changed: the refusal is shown on the form, not a 500.
    refused = submit(finance, path, {"reference": "INV-2001", "amount": "1", "currency": "NGN"})
    assert refused.status_code == 422 and "a cancelled order cannot be changed" in text(refused)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"reference": "  "}, 422, "must not be blank"),
        ({"amount": "abc"}, 422, "is not a decimal amount"),
        ({"amount": "1.001"}, 422, "more than 2 decimal places"),
        ({"amount": "0"}, 422, "greater than zero"),
        ({"currency": "XYZ"}, 422, "unsupported currency"),
        ({"reference": "R" * 201}, 422, "Length must be between 1 and 200"),
        ({"customer_email": "not an email"}, 422, "Not a valid email address"),
        ({"reference": "INV-1001"}, 422, "already exists"),
    ],
)
def test_a_bad_order_form_is_shown_again_with_what_is_wrong(app, finance, create_order, fields, status, message):
    create_order(reference="INV-1001")
    form = {"reference": "INV-3001", "amount": "10.00", "currency": "NGN", **fields}
    response = submit(finance, "/console/orders/new", form)
    assert response.status_code == status, text(response)
    assert message in text(response)
    with app.app_context():
        assert SalesOrder.select().count() == 1
    db.close()


def test_an_order_with_payments_cannot_be_cancelled_and_says_why(app, finance, create_order, post_core, tenant):
    from tests.conftest import core_payload

    order = create_order(reference="INV-1001")
    assert post_core(core_payload(tenant["tenant_id"])).json["reconciliation"] == "matched"
    detail = text(finance.get(f"/console/orders/{order['id']}"))
    assert "Cancel order" not in detail and 'id="order-status">paid' in detail
    assert "TRX-0001" in detail  # the allocation, with its payment
    refused = submit(finance, f"/console/orders/{order['id']}/cancel", {}, form_at=f"/console/orders/{order['id']}")
    assert refused.status_code == 302
    assert "unmatch them before cancelling" in flashes(finance, f"/console/orders/{order['id']}")
    assert order_row(app, "INV-1001").status == "paid"


def test_an_unknown_order_is_the_console_404(finance):
    for path in ("/console/orders/999999", "/console/payments/999999", "/console/queue/payment:999999"):
        response = finance.get(path)
        assert response.status_code == 404, path
        assert "<!doctype html>" in text(response)


# ---------------------------------------------------------------- payments


def test_a_payment_page_shows_its_webhook_redacted_allocations_and_audit(
    app, finance, create_order, post_core, core_integration, tenant
):
    from tests.conftest import core_payload

    order = create_order(reference="INV-1001")
    response = post_core(core_payload(tenant["tenant_id"]))
    payment_id = response.json["payment_id"]

    listing = text(finance.get("/console/payments?provider=core&reconciliation=matched&currency=NGN"))
    assert f'href="/console/payments/{payment_id}"' in listing
    assert "No payments" in text(finance.get("/console/payments?reconciliation=unmatched"))
    assert f"/console/payments/{payment_id}" in text(finance.get(f"/console/payments?order_id={order['id']}"))
    assert finance.get("/console/payments?provider=nobody").status_code == 422

    page = text(finance.get(f"/console/payments/{payment_id}"))
    assert "15000.00 NGN" in page and "INV-1001" in page
    assert "Webhooks that carried it" in page and "&#34;transactionRef&#34;: &#34;TRX-0001&#34;" in page
    # The signature header as the inbox keeps it: a prefix to tell two apart, never the whole.
    signature = re.search(r"Signature: (\S+)", page).group(1)
    assert signature.endswith("…") and len(signature) <= 7
    assert "allocation.created" in page and "payment.recorded" in page
    assert "150.00" not in page  # minor units are never shown as if they were an amount
    assert "Unmatch" in page  # finance may


def test_finance_splits_matches_and_unmatches_a_payment_by_hand(app, finance, create_order, post_core, tenant):
    first = create_order(reference="INV-A", amount="10000.00")
    second = create_order(reference="INV-B", amount="5000.00")
    payment_id = unmatched_payment(post_core, tenant)
    page = f"/console/payments/{payment_id}"

    split = submit(
        finance,
        f"{page}/split",
        {
            "order_0": "inv-a",
            "amount_0": "10000.00",
            "order_1": f"#{second['id']}",
            "amount_1": "5000",
            "reason": "two",
        },
        form_at=page,
    )
    assert split.status_code == 302
    assert "split across 2 orders (matched)" in flashes(finance, page)
    assert order_row(app, "INV-A").status == "paid" and order_row(app, "INV-B").status == "paid"

    unmatched = submit(
        finance, f"{page}/unmatch", {"order_id": str(first["id"]), "reason": "wrong customer"}, form_at=page
    )
    assert unmatched.status_code == 302
    assert order_row(app, "INV-A").status == "open" and order_row(app, "INV-B").status == "paid"
    assert payment_row(app, payment_id).reconciliation == "partially_matched"

    matched = submit(finance, f"{page}/match", {"order": "INV-A", "reason": "confirmed by phone"}, form_at=page)
    assert matched.status_code == 302
    assert order_row(app, "INV-A").amount_paid_minor == 1000000
    actions = audit_actions(app, "payment", payment_id)
    assert actions.count("allocation.created") == 3 and actions.count("allocation.released") == 1
    # Every reason given is kept in the audit log, whatever happens to the payment later.
    with app.app_context():
        matched_reasons = [
            e.details["reason"] for e in AuditEntry.select().where(AuditEntry.action == "payment.matched_by_hand")
        ]
    db.close()
    assert matched_reasons == ["two", "two", "confirmed by phone"]
    with app.app_context():
        reasons = [
            e.details.get("reason") for e in AuditEntry.select().where(AuditEntry.action == "allocation.released")
        ]
    db.close()
    assert any("wrong customer" in (reason or "") for reason in reasons)


@pytest.mark.parametrize(
    ("action", "form", "message"),
    [
        ("match", {"order": "NOT-AN-ORDER", "reason": "x"}, "no order with the reference or id"),
        ("match", {"order": "#999999", "reason": "x"}, "order 999999 not found"),
        ("match", {"order": "INV-A", "amount": "20000.00", "reason": "x"}, "more than the unallocated part"),
        ("match", {"order": "INV-A", "amount": "1.234", "reason": "x"}, "decimal places"),
        ("match", {"order": "INV-A", "reason": ""}, "Give a reason"),
        ("match", {"order": "INV-A", "reason": "r" * 501}, "too long"),
        (
            "split",
            {"order_0": "INV-A", "amount_0": "9000", "order_1": "INV-B", "amount_1": "9000", "reason": "x"},
            "more than the unallocated part",
        ),
        ("split", {"order_0": "INV-A", "amount_0": "", "reason": "x"}, "needs both an order and an amount"),
        (
            "split",
            {"order_0": "INV-A", "amount_0": "1", "order_1": "inv-a", "amount_1": "1", "reason": "x"},
            "named twice",
        ),
        ("split", {"reason": "x"}, "at least one order"),
        ("unmatch", {"reason": "x"}, "nothing to unmatch"),
        ("unmatch", {"order_id": "999999", "reason": "x"}, "order 999999 not found"),
    ],
)
def test_a_refused_payment_action_is_a_flash_and_changes_nothing(
    app, finance, create_order, post_core, tenant, action, form, message
):
    create_order(reference="INV-A", amount="10000.00")
    create_order(reference="INV-B", amount="5000.00")
    payment_id = unmatched_payment(post_core, tenant)
    page = f"/console/payments/{payment_id}"
    response = submit(finance, f"{page}/{action}", form, form_at=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert message in flashes(finance, page)
    payment = payment_row(app, payment_id)
    assert (payment.allocated_minor, payment.reconciliation) == (0, "unmatched")


# ---------------------------------------------------------------- review queue


def test_an_unmatched_payment_waits_in_the_queue_and_a_suggestion_accepted_matches_it(
    app, finance, create_order, post_core, tenant
):
    order = create_order(reference="INV-1001", amount="15000.00")
    payment_id = unmatched_payment(post_core, tenant, reference="INV 1001X")
    queue = text(finance.get("/console/queue"))
    assert f"payment:{payment_id}" in queue and "no order" in queue and "15000.00 NGN" in queue

    item = f"/console/queue/payment:{payment_id}"
    page = text(finance.get(item))
    assert "Suggested orders" in page and "INV-1001" in page and "same amount 15000.00 NGN" in page

    accepted = submit(
        finance,
        f"/console/payments/{payment_id}/suggestions/{order['id']}/accept",
        {"reason": "customer mistyped", "next": item, "done": "/console/queue"},
        form_at=item,
    )
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/console/queue")
    assert order_row(app, "INV-1001").status == "paid"
    assert f"payment:{payment_id}" not in text(finance.get("/console/queue"))
    assert "suggestion.accepted" in audit_actions(app, "payment", payment_id)
    assert finance.get(item).status_code == 404  # it left the queue


def test_a_declined_suggestion_is_not_offered_again(app, finance, create_order, post_core, tenant):
    order = create_order(reference="INV-1001", amount="15000.00")
    payment_id = unmatched_payment(post_core, tenant, reference="INV1001")
    item = f"/console/queue/payment:{payment_id}"
    path = f"/console/payments/{payment_id}/suggestions/{order['id']}/decline"
    no_reason = submit(finance, path, {"reason": "", "next": item}, form_at=item)
    assert no_reason.status_code == 302 and "Give a reason" in flashes(finance, item)
    declined = submit(finance, path, {"reason": "another customer", "next": item}, form_at=item)
    assert declined.status_code == 302
    assert "Suggested orders" not in text(finance.get(item))
    assert "suggestion.declined" in audit_actions(app, "payment", payment_id)


def test_matching_a_queue_item_by_hand_goes_back_to_the_queue(app, finance, create_order, post_core, tenant):
    create_order(reference="INV-9", amount="99.00")
    payment_id = unmatched_payment(post_core, tenant)
    item = f"/console/queue/payment:{payment_id}"
    page = text(finance.get(item))
    assert 'name="done" value="/console/queue"' in page and f'action="/console/payments/{payment_id}/match"' in page
    form = {"order": "INV-9", "reason": "paid the old invoice", "next": item, "done": "/console/queue"}
    matched = submit(finance, f"/console/payments/{payment_id}/match", form, form_at=item)
    assert matched.headers["Location"].endswith("/console/queue")
    # All of it by default: 15000.00 into a 99.00 order overpays it (and puts the order in the queue).
    assert order_row(app, "INV-9").status == "overpaid"
    assert f"/queue/payment:{payment_id}" not in text(finance.get("/console/queue"))
    # A refusal comes back to the item's page (an external "next" is never followed).
    other = unmatched_payment(post_core, tenant, reference="NOPE-2", external_id="TRX-UN-2")
    other_item = f"/console/queue/payment:{other}"
    form = {"order": "NOPE", "reason": "x", "next": "https://evil.example/", "done": "/console/queue"}
    refused = submit(finance, f"/console/payments/{other}/match", form, form_at=other_item)
    assert refused.headers["Location"].endswith(f"/console/payments/{other}")


def test_resolve_reopen_and_bulk_resolve_with_notes(app, finance, create_order, post_core, tenant):
    first = unmatched_payment(post_core, tenant, reference="X-1", external_id="T-1")
    second = unmatched_payment(post_core, tenant, reference="X-2", external_id="T-2")
    third = unmatched_payment(post_core, tenant, reference="X-3", external_id="T-3")
    item = f"/console/queue/payment:{first}"

    no_note = submit(finance, f"{item}/resolve", {"note": " "}, form_at=item)
    assert no_note.status_code == 302 and "Give a note" in flashes(finance, item)
    resolved = submit(finance, f"{item}/resolve", {"note": "refunded offline"}, form_at=item)
    assert resolved.status_code == 302 and resolved.headers["Location"].endswith("/console/queue")
    assert "resolved: it stays out of the queue" in flashes(finance, "/console/queue")
    queue = text(finance.get("/console/queue"))
    assert f"/queue/payment:{first}" not in queue and f"/queue/payment:{second}" in queue
    assert f"/queue/payment:{first}" in text(finance.get("/console/queue?status=resolved"))
    page = text(finance.get(item))
    assert "refunded offline" in page and "exception.resolved" in page and "Re-open" in page
    again = submit(finance, f"{item}/resolve", {"note": "twice"}, form_at=item)
    assert again.status_code == 302 and "already resolved" in flashes(finance, item)

    reopened = submit(finance, f"{item}/reopen", {"note": "customer disputes it"}, form_at=item)
    assert reopened.status_code == 302
    assert f"/queue/payment:{first}" in text(finance.get("/console/queue"))

    ids = [f"payment:{second}", f"payment:{third}", "payment:999999", "bogus"]
    bulk = finance.post(
        "/console/queue/resolve",
        data={"csrf_token": csrf_of(finance), "ids": ids, "note": "month-end"},
    )
    assert bulk.status_code == 302
    message = flashes(finance, "/console/queue")
    assert "2 resolved." in message and "payment:999999 (not found)" in message
    assert audit_actions(app, "exception", f"payment:{second}") == ["exception.resolved"]
    empty = finance.post("/console/queue/resolve", data={"csrf_token": csrf_of(finance), "note": "x"})
    assert empty.status_code == 302 and "Tick the items" in flashes(finance, "/console/queue")


def csrf_of(client) -> str:
    from tests.console_helpers import csrf_token

    return csrf_token(client, "/console/queue")


def test_the_queue_filters_and_sorts_and_explains_a_bad_filter(app, finance, create_order, post_core, tenant):
    small = unmatched_payment(post_core, tenant, reference="X-1", external_id="T-1", amount="10.00")
    large = unmatched_payment(post_core, tenant, reference="X-2", external_id="T-2", amount="900.00")
    create_order(reference="INV-U", amount="500.00")
    by_amount = text(finance.get("/console/queue?sort=amount&currency=NGN"))
    assert by_amount.index(f"payment:{large}") < by_amount.index(f"payment:{small}")
    smallest_first = text(finance.get("/console/queue?sort=amount&order=asc&currency=NGN"))
    assert smallest_first.index(f"payment:{small}") < smallest_first.index(f"payment:{large}")
    only_big = text(finance.get("/console/queue?currency=NGN&min_amount=100"))
    assert f"payment:{large}" in only_big and f"payment:{small}" not in only_big
    assert "Nothing to review" in text(finance.get("/console/queue?reason=underpaid_order"))
    assert "Nothing to review" in text(finance.get("/console/queue?older=90d"))
    assert f"payment:{small}" in text(finance.get("/console/queue?newer=1d&provider=core&reason=no_order"))

    no_currency = finance.get("/console/queue?min_amount=100")
    assert no_currency.status_code == 422 and "required with min_amount or max_amount" in text(no_currency)
    assert f"payment:{small}" in text(no_currency)  # the other filters still apply
    bad = finance.get("/console/queue?currency=NGN&min_amount=1e5&reason=nope&older=forever&sort=x")
    assert bad.status_code == 422
    assert "is not a decimal amount" in text(bad) and "one of no_order" in text(bad)


# ---------------------------------------------------------------- roles

MONEY_POSTS = [
    "/console/orders/new",
    "/console/orders/{order}/edit",
    "/console/orders/{order}/cancel",
    "/console/payments/{payment}/match",
    "/console/payments/{payment}/split",
    "/console/payments/{payment}/unmatch",
    "/console/payments/{payment}/suggestions/{order}/accept",
    "/console/payments/{payment}/suggestions/{order}/decline",
    "/console/queue/payment:{payment}/resolve",
    "/console/queue/payment:{payment}/reopen",
    "/console/queue/resolve",
]
PAGES = [
    "/console/orders",
    "/console/orders/{order}",
    "/console/payments",
    "/console/payments/{payment}",
    "/console/queue",
    "/console/queue/payment:{payment}",
]


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_viewers_and_developers_read_the_money_pages_but_every_money_post_is_403(
    app, tenant, create_order, post_core, role
):
    order = create_order(reference="INV-1001", amount="15000.00")
    payment_id = unmatched_payment(post_core, tenant, reference="INV1001")
    client = signed_in(app, tenant, role)
    values = {"order": order["id"], "payment": payment_id}
    for path in PAGES:
        page = client.get(path.format(**values))
        assert page.status_code == 200, path
        body = text(page)
        assert '<form method="post" action="/console/payments' not in body, path
        assert "Resolve" not in body and "New order" not in body and "Cancel order" not in body, path
    assert client.get("/console/orders/new").status_code == 403
    assert client.get(f"/console/orders/{order['id']}/edit").status_code == 403
    form = {"reference": "X", "amount": "1", "currency": "NGN", "order": "INV-1001", "reason": "r", "note": "n"}
    for path in MONEY_POSTS:
        refused = submit(client, path.format(**values), {**form, "ids": f"payment:{payment_id}"}, form_at="/console/")
        assert refused.status_code == 403, path
    assert payment_row(app, payment_id).reconciliation == "unmatched"
    assert order_row(app, "INV-1001").status == "open"


def test_a_money_post_without_its_csrf_token_is_refused(app, finance, create_order, post_core, tenant):
    create_order(reference="INV-1001", amount="15000.00")
    payment_id = unmatched_payment(post_core, tenant)
    response = finance.post(f"/console/payments/{payment_id}/match", data={"order": "INV-1001", "reason": "x"})
    assert response.status_code == 400
    assert payment_row(app, payment_id).reconciliation == "unmatched"


def test_an_owner_may_do_what_finance_does(app, tenant, create_order):
    create_order(reference="INV-1001")
    owner = signed_in(app, tenant, "owner")
    created = submit(owner, "/console/orders/new", {"reference": "INV-OWN", "amount": "5", "currency": "GHS"})
    assert created.status_code == 302
    assert order_row(app, "INV-OWN").amount_minor == 500
