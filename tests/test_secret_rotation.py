"""Changing FLUX_RECON_SECRET_KEY: old and new keys both decrypt until rotate-key re-encrypts."""

import json

from cryptography.fernet import Fernet

from flux_recon import create_app
from flux_recon.cli import cli
from flux_recon.models import Credential, db
from tests.conftest import TEST_SECRET_KEY, close_app, core_payload, core_signature


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
