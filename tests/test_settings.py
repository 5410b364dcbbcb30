"""Settings precedence: defaults, then the FLUX_RECON_SETTINGS file, then FLUX_RECON_* env."""

import multiprocessing
import runpy
from pathlib import Path

from flask import Flask

from flux_recon.web.settings import DefaultConfig, default_workers, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "settings.example.py"


def loaded(monkeypatch, tmp_path, file_text=None, env=None, test_config=None):
    if file_text is not None:
        path = tmp_path / "settings.py"
        path.write_text(file_text)
        monkeypatch.setenv("FLUX_RECON_SETTINGS", str(path))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    app = Flask("t")
    load_settings(app, test_config)
    return app.config


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("FLUX_RECON_SETTINGS", raising=False)
    config = loaded(monkeypatch, tmp_path)
    assert config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert config["TRUSTED_PROXIES"] == []


def test_file_overrides_defaults_and_env_overrides_file(monkeypatch, tmp_path):
    config = loaded(
        monkeypatch,
        tmp_path,
        file_text='DATABASE_URL = "sqlite:///from-file.db"\nADMIN_TOKEN = "file-token"\n',
        env={"FLUX_RECON_ADMIN_TOKEN": "env-token", "FLUX_RECON_TRUSTED_PROXIES": '["10.0.0.0/8"]'},
    )
    assert config["DATABASE_URL"] == "sqlite:///from-file.db"
    assert config["ADMIN_TOKEN"] == "env-token"
    assert config["TRUSTED_PROXIES"] == ["10.0.0.0/8"]


def test_settings_example_names_every_default_setting_with_its_default():
    example = runpy.run_path(str(EXAMPLE))
    defaults = {k: v for k, v in vars(DefaultConfig).items() if k.isupper() and not k.startswith(("API_", "OPENAPI_"))}
    missing = set(defaults) - set(example)
    assert not missing, f"settings.example.py does not document {sorted(missing)}"
    for key in set(defaults) & set(example):
        assert example[key] == defaults[key], key


GUNICORN_CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


def gunicorn_workers(monkeypatch, tmp_path, settings_file=None, **env) -> int:
    for name in ("FLUX_RECON_WORKERS", "FLUX_RECON_DATABASE_URL", "DATABASE_URL", "FLUX_RECON_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    if settings_file is not None:
        path = tmp_path / "settings.py"
        path.write_text(settings_file)
        monkeypatch.setenv("FLUX_RECON_SETTINGS", str(path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(GUNICORN_CONFIG))["workers"]


def test_gunicorn_workers_follow_the_database_the_app_will_use(monkeypatch, tmp_path):
    cores = multiprocessing.cpu_count()
    # SQLite (the default): as many workers as cores, at least 2; PostgreSQL: 2 x cores + 1.
    assert gunicorn_workers(monkeypatch, tmp_path) == max(2, cores)
    assert gunicorn_workers(monkeypatch, tmp_path, FLUX_RECON_DATABASE_URL="sqlite:////x/db.sqlite3") == max(2, cores)
    assert gunicorn_workers(monkeypatch, tmp_path, FLUX_RECON_DATABASE_URL="postgresql://u@h/db") == 2 * cores + 1
    assert gunicorn_workers(monkeypatch, tmp_path, DATABASE_URL="postgresql://u@h/db") == 2 * cores + 1
    from_file = 'DATABASE_URL = "postgresql://u@h/db"\n'
    assert gunicorn_workers(monkeypatch, tmp_path, settings_file=from_file) == 2 * cores + 1
    assert gunicorn_workers(monkeypatch, tmp_path, settings_file=from_file, FLUX_RECON_WORKERS="7") == 7


def test_default_workers_per_core_count():
    assert [default_workers(None, n) for n in (1, 2, 4)] == [2, 2, 4]
    assert [default_workers("postgresql://u@h/db", n) for n in (1, 2, 4)] == [3, 5, 9]
