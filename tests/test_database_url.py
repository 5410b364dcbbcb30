"""DATABASE_URL selects the store as documented, and a URL that cannot be used stops the
service instead of letting it fall back to a SQLite file of its own."""

import json
import os
import subprocess
import uuid

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from flux_recon import create_app
from flux_recon.models import Tenant, db
from flux_recon.models.connections import DatabaseUrlError
from flux_recon.web.settings import load_settings
from tests.conftest import POSTGRES_URL, close_app, make_app
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT


def settings_with(monkeypatch, **env):
    for name in ("DATABASE_URL", "FLUX_RECON_DATABASE_URL", "FLUX_RECON_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = Flask("t")
    load_settings(app)
    return app.config


def test_database_url_is_read_and_flux_recon_database_url_wins(monkeypatch, tmp_path):
    assert settings_with(monkeypatch)["DATABASE_URL"] is None
    assert settings_with(monkeypatch, DATABASE_URL="postgresql://u@h/a")["DATABASE_URL"] == "postgresql://u@h/a"
    both = settings_with(monkeypatch, DATABASE_URL="postgresql://u@h/a", FLUX_RECON_DATABASE_URL="sqlite:///b.db")
    assert both["DATABASE_URL"] == "sqlite:///b.db"
    settings_file = tmp_path / "settings.py"
    settings_file.write_text('DATABASE_URL = "sqlite:///from-file.db"\n')
    over_file = settings_with(monkeypatch, FLUX_RECON_SETTINGS=str(settings_file), DATABASE_URL="postgresql://u@h/a")
    assert over_file["DATABASE_URL"] == "postgresql://u@h/a"


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "set but empty"),
        ("   ", "set but empty"),
        ("postgresql://flux:s3cret-pw@127.0.0.1:5432", "names no PostgreSQL database"),
        ("postgresql+psycopg://flux:s3cret-pw@127.0.0.1/books", "must start with"),
        ("mysql://flux:s3cret-pw@127.0.0.1/books", "must start with"),
    ],
)
def test_an_unusable_url_refuses_to_start_without_falling_back(monkeypatch, tmp_path, url, message):
    monkeypatch.delenv("FLUX_RECON_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(DatabaseUrlError, match=message) as refused:
        create_app({"TESTING": True, "SECRET_KEY": Fernet.generate_key().decode()})
    assert "s3cret-pw" not in str(refused.value)
    # The command line says it in one line, and fails.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
    env["DATABASE_URL"] = url
    result = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "db", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert not list(tmp_path.rglob("*.sqlite3"))


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL")
def test_a_process_given_only_database_url_keeps_its_books_in_postgresql(postgres_schema, tmp_path):
    close_app(make_app(postgres_schema))  # empty tables
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
    env.update({"DATABASE_URL": postgres_schema, "FLUX_RECON_SECRET_KEY": Fernet.generate_key().decode()})
    name = f"Merchant {uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "tenants", "create", "--name", name, "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    tenant_id = json.loads(result.stdout.strip().splitlines()[-1])["tenant_id"]
    check = create_app({"TESTING": True, "DATABASE_URL": postgres_schema, "SECRET_KEY": env["FLUX_RECON_SECRET_KEY"]})
    try:
        with check.app_context():
            assert Tenant.get_by_id(tenant_id).name == name
    finally:
        db.close()
        close_app(check)
