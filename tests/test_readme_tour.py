"""The README's curl tour, run verbatim against real gunicorn: the front door must not lie."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.live_server import BIN_DIR, HOST, REPO_ROOT, live_server, request

TOUR_TIMEOUT = 60


def tour_script() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## A 60-second tour", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="the tour uses curl and openssl")
def test_readme_tour_pays_the_order(database_url, tmp_path):
    # The tour calls .venv/bin/flux-recon from the project folder: give it one that is
    # this interpreter's, in a folder of its own.
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
        assert '"status":"accepted"' in result.stdout and '"reconciliation":"matched"' in result.stdout
        assert '"status":"paid"' in result.stdout
        assert request(server.port, "GET", "/readyz").status == 200
    assert "Traceback" not in server.log()
