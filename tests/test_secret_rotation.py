"""Changing FLUX_RECON_SECRET_KEY: old and new keys both decrypt until rotate-key re-encrypts."""

import base64
import datetime as dt
import hashlib
import hmac
import json

import pyotp
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook

from flux_recon import create_app
from flux_recon.cli import cli
from flux_recon.models import ALL_MODELS, Credential, db
from flux_recon.models.base import EncryptedTextField, encrypted_columns
from flux_recon.outbound.worker import Worker
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import TEST_SECRET_KEY, close_app, core_payload, core_signature
from tests.console_helpers import enrol_second_factor, make_user, sign_in, submit, totp_secret
from tests.receiver import start_receiver


def same_database(app, **config):
    """Another app on the test's database (create_app migrates and empties nothing)."""
    return create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], **config})


def signed_webhook(app, core_integration, tenant):
    body = json.dumps(core_payload(tenant["tenant_id"])).encode()
    signature = core_signature(body, core_integration["secret"])
    return app.test_client().post(
        core_integration["path"], data=body, headers={"Content-Type": "application/json", "Signature": signature}
    )


def test_rotate_key_re_encrypts_every_secret(app, tenant, core_integration, create_order):
    create_order()
    new_key = Fernet.generate_key().decode()

    without_old = same_database(app, SECRET_KEY=new_key)
    try:
        # The new key alone cannot read what the old key wrote: 503, so the provider retries
        # once the operator has fixed the keys, and nothing is accepted unverified.
        assert signed_webhook(without_old, core_integration, tenant).status_code == 503
    finally:
        close_app(without_old)

    both = same_database(app, SECRET_KEY=new_key, OLD_SECRET_KEYS=TEST_SECRET_KEY)
    try:
        result = both.test_cli_runner().invoke(cli, ["secrets", "rotate-key"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 1 stored secrets" in result.output
    finally:
        close_app(both)

    only_new = same_database(app, SECRET_KEY=new_key)
    try:
        with only_new.app_context():
            stored = Credential.get().secret_encrypted
        db.close()
        assert Fernet(new_key).decrypt(stored.encode()).decode() == core_integration["secret"]
        assert signed_webhook(only_new, core_integration, tenant).status_code == 200
    finally:
        close_app(only_new)


def test_every_column_holding_a_secret_is_declared_encrypted():
    """Rotation finds columns by their type: a secret column declared otherwise would be
    skipped, and stop working once the old key is dropped."""
    for model in ALL_MODELS:
        for field in model._meta.sorted_fields:
            assert isinstance(field, EncryptedTextField) == field.name.endswith("_encrypted"), (model, field.name)
    assert len(encrypted_columns(ALL_MODELS)) == 6


def rotate_with(app, new_key) -> str:
    both = same_database(app, SECRET_KEY=new_key, OLD_SECRET_KEYS=TEST_SECRET_KEY)
    try:
        result = both.test_cli_runner().invoke(cli, ["secrets", "rotate-key"])
        assert result.exit_code == 0, result.output
        return result.output
    finally:
        close_app(both)


def test_rotation_keeps_every_kind_of_stored_secret_working_end_to_end(app, client, tenant, core_integration):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    headers = tenant["headers"]
    base = f"/api/v1/integrations/{core_integration['id']}"
    # A scoped credential beside the generated primary one.
    scoped = client.post(f"{base}/credentials", json={"label": "branch"}, headers=headers).json
    # A supplied provider secret: Monnify's client secret.
    monnify = client.post("/api/v1/integrations", json={"provider": "monnify"}, headers=headers).json
    client_secret = "3RQY6W8ZK2C9PLT5XBNM4HDVJ7FAGS1E"
    put = client.put(
        f"/api/v1/integrations/{monnify['id']}/secrets/client_secret", json={"value": client_secret}, headers=headers
    )
    assert put.status_code == 200, put.json
    monnify_path = "/" + monnify["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    # A remembered answer (Idempotency-Key).
    order_body = {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}
    keyed = {**headers, "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/orders", json=order_body, headers=keyed)
    assert first.status_code == 201
    # A subscription with a basic-auth password and a signing key.
    receiver = start_receiver()
    try:
        subscription = client.post(
            "/api/v1/subscriptions",
            json={
                "label": "erp",
                "url": receiver.url,
                "events": ["payment.received"],
                "authentication": {"type": "basic", "username": "flux", "password": "pw-rotated"},
                "signature": {"type": "signing_key"},
            },
            headers=headers,
        ).json
        signing_key = subscription["signing_key"]

        # A console user's TOTP secret.
        make_user(app, tenant["tenant_id"], "owner@example.com", "owner")
        console = app.test_client()
        sign_in(console, "owner@example.com")
        enrol_second_factor(app, console, "owner@example.com")
        totp = totp_secret(app, "owner@example.com")

        new_key = Fernet.generate_key().decode()
        assert "re-encrypted 7 stored secrets" in rotate_with(app, new_key)

        only_new = same_database(app, SECRET_KEY=new_key, ALLOW_PRIVATE_DESTINATIONS=True)
        try:
            with only_new.app_context():
                new_box = Fernet(new_key)
                for model, column in encrypted_columns(ALL_MODELS):
                    for row in model.select(column).where(column.is_null(False)):
                        new_box.decrypt(getattr(row, column.name).encode())  # the new key alone reads it
            db.close()
            new_client = only_new.test_client()

            # Generated and scoped credentials verify webhooks.
            for secret, ref in ((core_integration["secret"], "TRX-1"), (scoped["secret"], "TRX-2")):
                body = json.dumps(core_payload(tenant["tenant_id"], transactionRef=ref)).encode()
                answer = new_client.post(
                    core_integration["path"],
                    data=body,
                    headers={"Content-Type": "application/json", "Signature": core_signature(body, secret)},
                )
                assert answer.status_code == 200, answer.json
            # The supplied Monnify secret verifies Monnify's signature.
            monnify_body = json.dumps(MonnifyProvider.sample_payloads()["card_payment"]).encode()
            signature = hmac.new(client_secret.encode(), monnify_body, hashlib.sha512).hexdigest()
            answer = new_client.post(
                monnify_path,
                data=monnify_body,
                headers={"Content-Type": "application/json", "monnify-signature": signature},
                environ_base={"REMOTE_ADDR": "35.242.133.146"},
            )
            assert answer.status_code == 200, answer.json
            # The console user's authenticator still signs in.
            signed = only_new.test_client()
            sign_in(signed, "owner@example.com")
            # The next step's code: the current one was spent at enrolment (codes are one-time).
            next_code = pyotp.TOTP(totp).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
            assert submit(signed, "/console/2fa", {"code": next_code}).status_code == 302
            # The remembered answer is served again, unchanged.
            again = new_client.post("/api/v1/orders", json=order_body, headers=keyed)
            assert again.status_code == 201 and again.json == first.json

            # The worker delivers with the right Basic header and a signature that verifies.
            with only_new.app_context():
                worker = Worker(
                    only_new.extensions["secret_box"],
                    allow_private=True,
                    disable_after=dt.timedelta(hours=72),
                    clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
                )
                try:
                    assert worker.run_once()["succeeded"] == 3
                finally:
                    worker.close()
            db.close()
        finally:
            close_app(only_new)
        assert len(receiver.requests) == 3
        for request in receiver.requests:
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"flux:pw-rotated").decode()
            Webhook(signing_key).verify(request.body, request.headers)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
