"""What a non-editable install ships: every package, the migrations, the plugins' READMEs."""

from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_python_code_is_a_package_setup_py_finds():
    found = set(find_packages(str(ROOT), include=["flux_recon", "flux_recon.*"]))
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "flux_recon").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    missing = folders - found
    assert not missing, f"no __init__.py, so a wheel would leave these out: {sorted(missing)}"


def test_migrations_ship_inside_the_package():
    migrations = ROOT / "flux_recon" / "models" / "migrations"
    assert (migrations / "__init__.py").exists()
    assert sorted(p.name for p in migrations.glob("0*.py"))[0] == "0001_initial.py"
