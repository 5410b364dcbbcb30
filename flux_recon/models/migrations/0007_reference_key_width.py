"""Order reference keys hold the case-folded form of a 200-character reference: up to 600
characters, since case folding can triple a character (``ß`` -> ``ss``, ``ΐ`` -> three)."""

from peewee import CharField, SqliteDatabase


def _alter(migrator, db, width: int):
    # SQLite does not enforce a VARCHAR's length, and widening it there would mean
    # rebuilding the table (a DROP that cascades to allocations): nothing to do.
    if isinstance(db, SqliteDatabase):
        return
    migrator.migrate(
        migrator.alter_column_type("sales_order", "reference_key", CharField(max_length=width)),
        migrator.alter_column_type("sales_order", "payment_reference_key", CharField(max_length=width, null=True)),
    )


def up(migrator, db):
    _alter(migrator, db, 600)


def down(migrator, db):
    _alter(migrator, db, 200)
