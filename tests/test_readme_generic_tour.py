"""The README's generic-provider tour, run verbatim against real gunicorn: enable, dry run, pay."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.live_server import BIN_DIR, HOST, REPO_ROOT, live_server

TOUR_TIMEOUT = 60
SECTION = "## A platform without a plugin: the generic provider"


def tour_script() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split(SECTION, 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def answers(stdout: str) -> list[dict]:
    """Every JSON document the tour printed, one per line."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith(("{", "["))]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="the tour uses curl and openssl")
def test_readme_generic_tour_records_and_matches_the_payment(database_url, tmp_path):
    workdir = tmp_path / "project"
    (workdir / ".venv" / "bin").mkdir(parents=True)
    (workdir / ".venv" / "bin" / "flux-recon").symlink_to(BIN_DIR / "flux-recon")

    with live_server(database_url, tmp_path, workers=1) as server:
        env = {**server.env, "BASE": f"http://{HOST}:{server.port}"}
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", tour_script()],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TOUR_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        secret, allowed, order, tried, webhook, renewal, payments, orders = answers(result.stdout)
        assert secret["name"] == "secret" and secret["set"] is True
        assert allowed["cidr"] == "127.0.0.1/32" and order["status"] == "open"
        assert (tried["outcome"], tried["recorded"]) == ("notices", False)
        assert tried["notices"][0]["amount"] == "15000.00" and tried["notices"][0]["currency"] == "NGN"
        assert (webhook["status"], webhook["reconciliation"]) == ("accepted", "matched")
        assert renewal["status"] == "unrecognized"
        [payment] = payments
        assert (payment["external_id"], payment["amount"], payment["currency"]) == (
            "TXN-20261122-0001",
            "15000.00",
            "NGN",
        )
        assert payment["provider"] == "generic" and payment["id"] == webhook["payment_id"]
        assert orders[0]["status"] == "paid"
    assert "Traceback" not in server.log()
