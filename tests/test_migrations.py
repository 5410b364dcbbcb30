"""The numbered migrations build exactly the schema the models describe, and can be undone."""

from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from flux_recon.models import ALL_MODELS
from flux_recon.models.connections import MIGRATIONS_DIR


def test_migrations_match_the_models(app):
    database = app.extensions["database"]
    diff = diff_models(database, ALL_MODELS)
    assert not diff, f"models and migrations differ: {diff}"


def test_latest_migration_goes_down_and_up_again(app):
    database = app.extensions["database"]
    runner = Runner(database, directory=MIGRATIONS_DIR)
    latest = runner.migrations()[-1].name
    assert runner.down() == [latest]
    assert runner.up() == [latest]
    assert not diff_models(database, ALL_MODELS)
