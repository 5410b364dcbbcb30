"""Integration credentials: scoped keys (at most 5), regeneration with and without grace,
supplied provider secrets (write-only), and the audit trail of every change."""

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from flux_recon.inbound import auth_cache as context
from flux_recon.models import Credential, WebhookEvent, db
from tests.conftest import core_payload, core_signature


def path(integration, suffix=""):
    return f"/api/v1/integrations/{integration['id']}/credentials{suffix}"


def test_scoped_credentials_verify_and_are_limited_to_five(client, app, tenant, core_integration, post_core):
    made = []
    for n in range(5):
        response = client.post(path(core_integration), json={"label": f"branch {n}"}, headers=tenant["headers"])
        assert response.status_code == 201, response.json
        assert response.json["scope"] == "scoped" and response.json["secret"].startswith("fs_")
        made.append(response.json)
    sixth = client.post(path(core_integration), json={"label": "one too many"}, headers=tenant["headers"])
    assert sixth.status_code == 409
    assert "at most 5" in sixth.json["message"]

    listed = client.get(path(core_integration), headers=tenant["headers"])
    assert [c["scope"] for c in listed.json] == ["primary"] + ["scoped"] * 5
    assert all("secret" not in c for c in listed.json)
    assert made[0]["secret"] not in listed.get_data(as_text=True)

    # Any active credential verifies, and the inbox says which one did.
    response = post_core(core_payload(tenant["tenant_id"]), secret=made[2]["secret"])
    assert response.status_code == 200
    with app.app_context():
        assert WebhookEvent.select().order_by(WebhookEvent.id.desc()).first().credential_id == made[2]["id"]
    db.close()

    assert client.delete(path(core_integration, f"/{made[2]['id']}"), headers=tenant["headers"]).status_code == 204
    refused = post_core(core_payload(tenant["tenant_id"], transactionRef="T2"), secret=made[2]["secret"])
    assert refused.status_code == 401
    again = client.post(path(core_integration), json={"label": "replacement"}, headers=tenant["headers"])
    assert again.status_code == 201


def test_the_primary_credential_cannot_be_deleted(client, tenant, core_integration):
    primary = core_integration["credentials"][0]
    response = client.delete(path(core_integration, f"/{primary['id']}"), headers=tenant["headers"])
    assert response.status_code == 409


def test_regenerate_without_grace_stops_the_old_secret_at_once(client, tenant, core_integration, post_core):
    primary = core_integration["credentials"][0]
    response = client.post(path(core_integration, f"/{primary['id']}/regenerate"), json={}, headers=tenant["headers"])
    assert response.status_code == 200, response.json
    new_secret = response.json["secret"]
    assert new_secret != core_integration["secret"] and response.json["key"] == primary["key"]
    assert response.json["previous_valid_until"] is None
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 401
    assert post_core(core_payload(tenant["tenant_id"]), secret=new_secret).status_code == 200


def test_regenerate_with_grace_keeps_the_old_secret_until_it_ends(app, client, tenant, core_integration, post_core):
    primary = core_integration["credentials"][0]
    response = client.post(
        path(core_integration, f"/{primary['id']}/regenerate"), json={"grace_seconds": 3600}, headers=tenant["headers"]
    )
    until = dt.datetime.fromisoformat(response.json["previous_valid_until"])
    assert dt.timedelta(minutes=59) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T1")).status_code == 200
    assert (
        post_core(core_payload(tenant["tenant_id"], transactionRef="T2"), secret=response.json["secret"]).status_code
        == 200
    )

    with app.app_context():  # the grace period ends
        Credential.update(previous_valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).execute()
    db.close()
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T3")).status_code == 401


def test_regenerating_again_inside_a_grace_keeps_every_old_secret_until_its_own_end(
    client, tenant, core_integration, post_core, monkeypatch
):
    primary, tid = core_integration["credentials"][0], tenant["tenant_id"]
    regenerate = path(core_integration, f"/{primary['id']}/regenerate")
    first = client.post(regenerate, json={"grace_seconds": 3600}, headers=tenant["headers"]).json
    second = client.post(regenerate, json={"grace_seconds": 600}, headers=tenant["headers"])
    assert second.status_code == 200, second.json
    second = second.json
    # The last old secret to stop decides previous_valid_until: the first one's hour.
    assert second["previous_valid_until"] == first["previous_valid_until"]
    sent = iter(range(100))

    def verifies(secret):
        return post_core(core_payload(tid, transactionRef=f"T-{next(sent)}"), secret=secret).status_code == 200

    original, middle, current = core_integration["secret"], first["secret"], second["secret"]
    assert [verifies(original), verifies(middle), verifies(current)] == [True, True, True]
    now = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(context, "utcnow", lambda: now + dt.timedelta(seconds=601))
    assert [verifies(original), verifies(middle), verifies(current)] == [True, False, True]
    monkeypatch.setattr(context, "utcnow", lambda: now + dt.timedelta(seconds=3601))
    assert [verifies(original), verifies(middle), verifies(current)] == [False, False, True]


def test_at_most_five_old_secrets_and_grace_zero_stops_them_all(client, tenant, core_integration, post_core):
    primary, tid = core_integration["credentials"][0], tenant["tenant_id"]
    regenerate = path(core_integration, f"/{primary['id']}/regenerate")
    secrets_seen = [core_integration["secret"]]
    for _ in range(5):
        response = client.post(regenerate, json={"grace_seconds": 3600}, headers=tenant["headers"])
        assert response.status_code == 200, response.json
        secrets_seen.append(response.json["secret"])
    refused = client.post(regenerate, json={"grace_seconds": 3600}, headers=tenant["headers"])
    assert refused.status_code == 409 and "grace_seconds 0" in refused.json["message"]
    for n, secret in enumerate(secrets_seen):  # the refusal changed nothing
        assert post_core(core_payload(tid, transactionRef=f"A-{n}"), secret=secret).status_code == 200
    # Grace 0: what a leaked secret calls for. Every old secret stops at once.
    stopped = client.post(regenerate, json={"grace_seconds": 0}, headers=tenant["headers"])
    assert stopped.status_code == 200 and stopped.json["previous_valid_until"] is None
    for n, secret in enumerate(secrets_seen):
        assert post_core(core_payload(tid, transactionRef=f"B-{n}"), secret=secret).status_code == 401
    assert post_core(core_payload(tid, transactionRef="C"), secret=stopped.json["secret"]).status_code == 200


def test_an_old_secret_stored_before_several_were_kept_still_verifies(app, client, tenant, core_integration, post_core):
    primary, tid = core_integration["credentials"][0], tenant["tenant_id"]
    box = app.extensions["secret_box"]
    with app.app_context():  # the one-secret form earlier releases wrote
        Credential.update(
            previous_secret_encrypted=box.encrypt("fs_written-by-an-earlier-release"),
            previous_valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        ).where(Credential.id == primary["id"]).execute()
    db.close()
    legacy = "fs_written-by-an-earlier-release"
    assert post_core(core_payload(tid, transactionRef="T1"), secret=legacy).status_code == 200
    again = client.post(
        path(core_integration, f"/{primary['id']}/regenerate"), json={"grace_seconds": 60}, headers=tenant["headers"]
    )
    assert again.status_code == 200, again.json
    for n, secret in enumerate([legacy, core_integration["secret"], again.json["secret"]]):
        assert post_core(core_payload(tid, transactionRef=f"T2-{n}"), secret=secret).status_code == 200


def test_two_regenerations_at_once_lose_no_old_secret(client, tenant, core_integration, post_core):
    tid = tenant["tenant_id"]
    for round_ in range(4):
        scoped = client.post(path(core_integration), json={"label": f"r{round_}"}, headers=tenant["headers"]).json
        regenerate = path(core_integration, f"/{scoped['id']}/regenerate")
        start = threading.Barrier(2)

        def race(url, start):
            start.wait(timeout=10)
            return client.post(url, json={"grace_seconds": 3600}, headers=tenant["headers"])

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(race, [regenerate] * 2, [start] * 2))
        assert [a.status_code for a in answers] == [200, 200]
        for n, secret in enumerate([scoped["secret"]] + [a.json["secret"] for a in answers]):
            response = post_core(core_payload(tid, transactionRef=f"R{round_}-{n}"), secret=secret)
            assert response.status_code == 200, (round_, n)


def test_regenerate_refuses_a_grace_beyond_a_week(client, tenant, core_integration):
    primary = core_integration["credentials"][0]
    response = client.post(
        path(core_integration, f"/{primary['id']}/regenerate"),
        json={"grace_seconds": 8 * 24 * 3600},
        headers=tenant["headers"],
    )
    assert response.status_code == 422


def test_unknown_or_foreign_credentials_are_404(client, tenant, other_tenant, core_integration):
    primary = core_integration["credentials"][0]
    assert client.post(path(core_integration, "/999/regenerate"), json={}, headers=tenant["headers"]).status_code == 404
    foreign = client.post(
        path(core_integration, f"/{primary['id']}/regenerate"), json={}, headers=other_tenant["headers"]
    )
    assert foreign.status_code == 404


def test_management_actions_reach_the_audit_log(client, tenant, core_integration):
    primary = core_integration["credentials"][0]
    scoped = client.post(path(core_integration), json={"label": "pos"}, headers=tenant["headers"]).json
    client.post(path(core_integration, f"/{primary['id']}/regenerate"), json={}, headers=tenant["headers"])
    client.delete(path(core_integration, f"/{scoped['id']}"), headers=tenant["headers"])
    entries = client.get(
        "/api/v1/audit",
        query_string={"object_type": "integration", "object_id": str(core_integration["id"]), "page_size": 50},
        headers=tenant["headers"],
    ).json
    actions = [e["action"] for e in reversed(entries)]
    assert actions == [
        "integration.enabled",
        "credential.created",
        "allowlist.added",
        "credential.created",
        "credential.regenerated",
        "credential.deleted",
    ]
    assert all(e["actor"].startswith("api_key:") for e in entries)
    text = json.dumps(entries)
    assert core_integration["secret"] not in text and scoped["secret"] not in text


def test_supplied_secrets_are_write_only(database_url):
    from flux_recon import CredentialField, Provider, hookimpl
    from flux_recon.services.tenants import create_tenant
    from tests.conftest import close_app, make_app

    class Supplied(Provider):
        name = "supplied"
        credentials = (CredentialField("client_secret", "Client secret"),)

    class Plugin:
        @hookimpl
        def flux_recon_register_providers(self, register):
            register(Supplied)

    other = make_app(database_url, plugins=[Plugin()])
    try:
        with other.app_context():
            _, key = create_tenant("Supplied")
        db.close()
        tenant = {"headers": {"Authorization": f"Bearer {key}"}}
        test_client = other.test_client()
        integration = test_client.post(
            "/api/v1/integrations", json={"provider": "supplied"}, headers=tenant["headers"]
        ).json
        secrets_path = f"/api/v1/integrations/{integration['id']}/secrets"
        assert test_client.get(secrets_path, headers=tenant["headers"]).json[0]["set"] is False
        put = test_client.put(
            f"{secrets_path}/client_secret", json={"value": "very-secret-value"}, headers=tenant["headers"]
        )
        assert put.status_code == 200 and put.json["set"] is True and put.json["set_at"]
        for response in (
            put,
            test_client.get(secrets_path, headers=tenant["headers"]),
            test_client.get(f"/api/v1/integrations/{integration['id']}", headers=tenant["headers"]),
        ):
            assert "very-secret-value" not in response.get_data(as_text=True)
        assert (
            test_client.put(f"{secrets_path}/nope", json={"value": "x"}, headers=tenant["headers"]).status_code == 404
        )
        assert test_client.delete(f"{secrets_path}/client_secret", headers=tenant["headers"]).status_code == 204
        assert test_client.delete(f"{secrets_path}/client_secret", headers=tenant["headers"]).status_code == 404
        # A provider without generated credentials takes no scoped ones.
        scoped = test_client.post(
            f"/api/v1/integrations/{integration['id']}/credentials", json={"label": "x"}, headers=tenant["headers"]
        )
        assert scoped.status_code == 409
    finally:
        close_app(other)


def test_signature_from_a_deleted_credential_is_refused(client, tenant, core_integration, post_core):
    scoped = client.post(path(core_integration), json={"label": "temp"}, headers=tenant["headers"]).json
    body = json.dumps(core_payload(tenant["tenant_id"])).encode()
    client.delete(path(core_integration, f"/{scoped['id']}"), headers=tenant["headers"])
    assert post_core(None, body=body, signature=core_signature(body, scoped["secret"])).status_code == 401
