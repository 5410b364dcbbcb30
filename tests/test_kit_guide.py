"""The plugin guide's tutorial, assembled from docs/plugins.md and run through its own tests and the kit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from flux_recon.testing import ProviderConformance

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
TUTORIAL = "flux-recon-acmepay"
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def tutorial_files() -> dict[str, str]:
    """Every fenced block whose first line is ``# flux-recon-acmepay/<path>``, joined per file in order."""
    files: dict[str, str] = {}
    for block in FENCE.findall(GUIDE.read_text()):
        first, _, rest = block.partition("\n")
        if first.startswith(f"# {TUTORIAL}/"):
            path = first[2:].strip()
            files[path] = files.get(path, "") + rest
    return files


def install_like_pip(files: dict[str, str], project: Path) -> None:
    """What ``pip install -e`` leaves behind that flux-recon relies on: the package importable
    and a dist-info carrying the entry points of the tutorial's pyproject.toml."""
    pyproject = tomllib.loads(files[f"{TUTORIAL}/pyproject.toml"])["project"]
    dist_info = project / f"{pyproject['name'].replace('-', '_')}-{pyproject['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {pyproject['name']}\nVersion: {pyproject['version']}\n"
    )
    groups = pyproject["entry-points"]
    (dist_info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
            for group, entries in groups.items()
        )
    )


def test_the_tutorial_names_every_file_of_its_package():
    assert set(tutorial_files()) == {
        f"{TUTORIAL}/pyproject.toml",
        f"{TUTORIAL}/flux_recon_acmepay/__init__.py",
        f"{TUTORIAL}/flux_recon_acmepay/provider.py",
        f"{TUTORIAL}/tests/test_acmepay.py",
    }


def test_the_tutorial_entry_point_names_the_package_it_builds():
    pyproject = tomllib.loads(tutorial_files()[f"{TUTORIAL}/pyproject.toml"])
    assert pyproject["project"]["entry-points"]["flux_recon"] == {"acmepay": "flux_recon_acmepay"}
    assert pyproject["tool"]["setuptools"]["packages"] == ["flux_recon_acmepay"]


def test_the_tutorial_plugin_passes_its_own_tests_and_the_conformance_kit(tmp_path):
    files = tutorial_files()
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    project = tmp_path / TUTORIAL
    install_like_pip(files, project)
    # Only the tutorial's own settings: no plugin filter or database from this test run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
    env["PYTHONPATH"] = str(project)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # Every check of the kit and the tutorial's two tests; none skipped or deselected.
    checks = sum(1 for name in dir(ProviderConformance) if name.startswith("test_"))
    assert f"{checks + 2} passed" in result.stdout, result.stdout[-3000:]
