"""Through real gunicorn (SQLite and PostgreSQL): a dry run and a real reconciliation run, the
`flux-recon reconcile` command, the aging report, and the CSV exports (payments, orders,
exceptions, audit) read with the csv module."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from urllib.parse import urlsplit

from tests.conftest import core_payload, core_signature
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT, create_tenant, live_server, request


def test_runs_aging_and_exports_over_http(database_url, tmp_path):
    with live_server(database_url, tmp_path, workers=2) as server:
        tenant = create_tenant(server, "E2E Runs")
        auth = {"Authorization": f"Bearer {tenant['api_key']}"}

        def api(method, path, body=None):
            headers = dict(auth)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            return request(server.port, method, path, data, headers)

        core = api("POST", "/api/v1/integrations", {"provider": "core"}).json
        assert api("POST", f"/api/v1/integrations/{core['id']}/allowlist", {"cidr": "127.0.0.1"}).status == 201
        secret = core["credentials"][0]["secret"]

        def webhook(**fields):
            body = json.dumps(core_payload(tenant["tenant_id"], **fields)).encode()
            headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
            answer = request(server.port, "POST", urlsplit(core["webhook_url"]).path, body, headers)
            assert answer.status == 200, answer.body
            return answer.json

        # Reference matching is off while the payment arrives and its order is entered.
        settings = "/api/v1/settings/reconciliation"
        assert api("PATCH", settings, {"disabled_strategies": ["reference"]}).status == 200
        paid = webhook(transactionRef="T-1", paymentRef="INV-1001", amount="1500.25")
        assert paid["reconciliation"] == "unmatched"
        order = api("POST", "/api/v1/orders", {"reference": "INV-1001", "amount": "1500.25", "currency": "NGN"}).json
        api("POST", "/api/v1/orders", {"reference": "=CMD()", "amount": "99.00", "currency": "NGN"})
        assert api("PATCH", settings, {"disabled_strategies": []}).status == 200

        dry = api("POST", "/api/v1/reconciliation-runs", {"dry_run": True})
        assert dry.status == 201, dry.body
        assert dry.json["counts"] == {"examined": 1, "matched": 1, "changed": 0, "still_open": 0}
        assert dry.json["changes"][0]["order_ids"] == [order["id"]]
        assert api("GET", f"/api/v1/payments/{paid['payment_id']}").json["reconciliation"] == "unmatched"

        command = subprocess.run(
            [str(BIN_DIR / "flux-recon"), "reconcile", "--tenant", tenant["tenant_id"], "--dry-run"],
            cwd=REPO_ROOT,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        assert command.returncode == 0, command.stderr
        assert json.loads(command.stdout.strip().splitlines()[-1])["counts"]["matched"] == 1

        real = api("POST", "/api/v1/reconciliation-runs", {"provider": "core"})
        assert real.status == 201, real.body
        assert real.json["counts"]["matched"] == 1 and real.json["status"] == "completed"
        shown = api("GET", f"/api/v1/reconciliation-runs/{real.json['id']}").json
        assert shown["changes"] == real.json["changes"]
        listed = api("GET", "/api/v1/reconciliation-runs")
        assert [r["parameters"]["dry_run"] for r in listed.json] == [False, True, True]
        assert api("GET", f"/api/v1/orders/{order['id']}").json["status"] == "paid"

        aging = api("GET", "/api/v1/reports/aging")
        assert aging.status == 200
        ngn = aging.json["currencies"][0]
        assert ngn["currency"] == "NGN" and ngn["total"] == {"count": 1, "outstanding": "99.00"}

        def csv_rows(path):
            answer = api("GET", path)
            assert answer.status == 200, answer.body
            assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert "attachment" in answer.headers["Content-Disposition"]
            return list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"), newline="")))

        payments = csv_rows("/api/v1/exports/payments.csv")
        assert [(p["external_id"], p["amount"], p["reconciliation"], p["order_ids"]) for p in payments] == [
            ("T-1", "1500.25", "matched", str(order["id"]))
        ]
        orders = csv_rows("/api/v1/exports/orders.csv?status=open")
        assert [(o["reference"], o["outstanding"]) for o in orders] == [("'=CMD()", "99.00")]
        stray = webhook(transactionRef="T-2", paymentRef="@NOBODY", amount="7.00")
        queue = csv_rows("/api/v1/exports/exceptions.csv?reason=no_order")
        assert [(q["id"], q["amount"], q["reason"]) for q in queue] == [
            (f"payment:{stray['payment_id']}", "7.00", "no_order")
        ]
        audit = csv_rows("/api/v1/exports/audit.csv?object_type=reconciliation_run")
        assert {a["action"] for a in audit} == {"reconciliation_run.completed"} and len(audit) == 3
