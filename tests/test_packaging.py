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


def test_the_console_pages_and_assets_are_package_data():
    """Every console template and static file matches a package_data pattern of setup.py,
    so a wheel carries them (a page missing from it would be a 500 in production)."""
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    patterns = next(
        ast.literal_eval(value)
        for mapping in ast.walk(tree)
        if isinstance(mapping, ast.Dict)
        for key, value in zip(mapping.keys, mapping.values, strict=True)
        if isinstance(key, ast.Constant) and key.value == "flux_recon.web.console"
    )
    console = ROOT / "flux_recon" / "web" / "console"
    files = [p for folder in ("templates", "static") for p in (console / folder).rglob("*") if p.is_file()]
    assert files
    uncovered = [
        str(p.relative_to(console)) for p in files if not any(p.relative_to(console).match(g) for g in patterns)
    ]
    assert not uncovered, f"not shipped in a wheel: {uncovered}"
