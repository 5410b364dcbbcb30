"""The per-process cache of allow-lists and decrypted credentials (inbound/auth_cache.py)
never serves a stale copy: a change made anywhere takes effect on the next request in
every worker. Two WebhookHandlers stand for two gunicorn workers, each with its own cache."""

import datetime as dt
import json
import logging

import pytest

from flux_recon.inbound import auth_cache as context
from flux_recon.models import AllowedNetwork, db, utcnow
from flux_recon.web.webhook_route import WebhookHandler
from tests.conftest import core_payload, core_signature


@pytest.fixture
def workers(app, client, core_integration):
    """Post a signed core webhook through worker 0 or 1 (each its own handler and cache)."""
    handlers = [app.extensions["webhook_handler"], WebhookHandler(app)]
    sent = iter(range(1_000_000))

    def post(worker, tenant_id, *, secret=None, address="127.0.0.1"):
        app.extensions["webhook_handler"] = handlers[worker]
        raw = json.dumps(core_payload(tenant_id, transactionRef=f"T-{next(sent)}")).encode()
        headers = {
            "Content-Type": "application/json",
            "Signature": core_signature(raw, secret or core_integration["secret"]),
        }
        response = client.post(
            core_integration["path"], data=raw, headers=headers, environ_base={"REMOTE_ADDR": address}
        )
        return response.status_code

    return post


def allowlist(client, integration, tenant, **json_body):
    return client.post(f"/api/v1/integrations/{integration['id']}/allowlist", json=json_body, headers=tenant["headers"])


def test_an_allowlist_entry_added_or_removed_applies_at_once_in_every_worker(client, tenant, core_integration, workers):
    tid = tenant["tenant_id"]
    assert workers(0, tid, address="127.0.0.2") == 403
    assert workers(1, tid, address="127.0.0.2") == 403  # both caches now hold the old list

    added = allowlist(client, core_integration, tenant, cidr="127.0.0.2")
    assert added.status_code == 201
    assert workers(1, tid, address="127.0.0.2") == 200
    assert workers(0, tid, address="127.0.0.2") == 200

    removed = client.delete(
        f"/api/v1/integrations/{core_integration['id']}/allowlist/{added.json['id']}", headers=tenant["headers"]
    )
    assert removed.status_code == 204
    assert workers(1, tid, address="127.0.0.2") == 403
    assert workers(0, tid, address="127.0.0.2") == 403


def test_a_regenerated_secret_applies_at_once_in_every_worker(client, tenant, core_integration, workers):
    tid = tenant["tenant_id"]
    assert workers(0, tid) == 200 and workers(1, tid) == 200
    primary = core_integration["credentials"][0]
    response = client.post(
        f"/api/v1/integrations/{core_integration['id']}/credentials/{primary['id']}/regenerate",
        json={},
        headers=tenant["headers"],
    )
    assert response.status_code == 200, response.json
    for worker in (1, 0):
        assert workers(worker, tid) == 401  # the old secret, cached a moment ago
        assert workers(worker, tid, secret=response.json["secret"]) == 200


def test_a_rotation_grace_ends_on_time_in_a_warm_cache(client, tenant, core_integration, workers, monkeypatch):
    tid = tenant["tenant_id"]
    primary = core_integration["credentials"][0]
    response = client.post(
        f"/api/v1/integrations/{core_integration['id']}/credentials/{primary['id']}/regenerate",
        json={"grace_seconds": 60},
        headers=tenant["headers"],
    )
    assert workers(1, tid) == 200  # the old secret during the grace, now cached
    later = utcnow() + dt.timedelta(seconds=61)
    monkeypatch.setattr(context, "utcnow", lambda: later)
    assert workers(1, tid) == 401  # nothing was written: the grace ran out
    assert workers(1, tid, secret=response.json["secret"]) == 200


def test_a_write_that_bypasses_the_api_invalidates_too(app, client, tenant, core_integration, workers):
    tid = tenant["tenant_id"]
    assert workers(1, tid, address="127.0.0.3") == 403
    with app.app_context():  # e.g. an operator's script, or a cascade
        AllowedNetwork.create(integration=core_integration["id"], cidr="127.0.0.3/32")
    db.close()
    assert workers(1, tid, address="127.0.0.3") == 200


def test_a_disabled_integration_is_gone_at_once(client, tenant, core_integration, workers):
    tid = tenant["tenant_id"]
    assert workers(1, tid) == 200
    deleted = client.delete(f"/api/v1/integrations/{core_integration['id']}", headers=tenant["headers"])
    assert deleted.status_code == 204
    assert workers(1, tid) == 404


def test_a_warm_cache_reads_neither_credentials_nor_allowlist(tenant, workers, caplog):
    tid = tenant["tenant_id"]
    assert workers(1, tid) == 200
    caplog.set_level(logging.DEBUG, logger="peewee")
    assert workers(1, tid) == 200
    statements = [str(record.msg) for record in caplog.records if record.name == "peewee"]
    assert statements, "peewee logged no statement"
    assert not [s for s in statements if '"credential"' in s or '"allowed_network"' in s]
