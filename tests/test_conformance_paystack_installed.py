"""The example third-party plugin, installed with pip: discovered through its entry point, listed
by `flux-recon plugins`, served by the app, and left out by FLUX_RECON_LOAD_PLUGINS."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess

import pytest
from cryptography.fernet import Fernet

from flux_recon.cli import cli
from flux_recon_paystack.provider import PaystackProvider
from tests.conftest import close_app, make_app
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT

NOT_INSTALLED = "flux-recon-paystack is not installed: `make test` installs examples/flux-recon-paystack with pip"


def test_the_distribution_declares_its_entry_point():
    try:
        distribution = importlib.metadata.distribution("flux-recon-paystack")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(NOT_INSTALLED)
    (entry_point,) = [e for e in distribution.entry_points if e.group == "flux_recon"]
    assert (entry_point.name, entry_point.value) == ("paystack", "flux_recon_paystack")
    assert "flux-recon" in [r.split(">")[0].split("=")[0].split("[")[0].strip() for r in distribution.requires or []]


def plugins_listed(database_url, monkeypatch, load: str | None) -> dict[str, dict]:
    if load is None:
        monkeypatch.delenv("FLUX_RECON_LOAD_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("FLUX_RECON_LOAD_PLUGINS", load)
    app = make_app(database_url)  # no plugins given: the installed entry points
    try:
        result = app.test_cli_runner().invoke(cli, ["plugins"])
        assert result.exit_code == 0, result.output
        return {plugin["name"]: plugin for plugin in json.loads(result.output)}
    finally:
        close_app(app)


def test_flux_recon_plugins_shows_it_with_its_own_distribution(database_url, monkeypatch):
    paystack = plugins_listed(database_url, monkeypatch, None).get("paystack")
    assert paystack is not None, NOT_INSTALLED
    assert paystack == {
        "name": "paystack",
        "hooks": ["flux_recon_register_providers"],
        "version": "0.1.0",
        "distribution": "flux-recon-paystack",
    }


def test_load_plugins_leaves_it_out_or_loads_it_alone(database_url, monkeypatch):
    assert set(plugins_listed(database_url, monkeypatch, "core,monnify")) == {"core", "monnify"}
    assert set(plugins_listed(database_url, monkeypatch, "paystack")) == {"paystack"}
    assert set(plugins_listed(database_url, monkeypatch, "")) == set()


def test_the_app_serves_it_with_paystacks_addresses(client, tenant):
    providers = {p["name"]: p for p in client.get("/api/v1/providers", headers=tenant["headers"]).json}
    assert providers["paystack"]["default_allowlist"] == list(PaystackProvider.default_allowlist)
    assert providers["paystack"]["auth"][1]["header"] == "x-paystack-signature"


def test_the_console_script_lists_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
    env["FLUX_RECON_DATABASE_URL"] = f"sqlite:///{tmp_path / 'plugins.sqlite3'}"
    env["FLUX_RECON_SECRET_KEY"] = Fernet.generate_key().decode()
    listed = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "plugins"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "paystack" in [plugin["name"] for plugin in json.loads(listed.stdout)]
    env["FLUX_RECON_LOAD_PLUGINS"] = "core"
    only_core = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "plugins"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert [plugin["name"] for plugin in json.loads(only_core.stdout)] == ["core"], only_core.stderr
