"""Integrations gain provider options: non-secret settings a provider declares (an API generation, a verification mode)."""

from peewee import TextField


def up(migrator, db):
    migrator.migrate(migrator.add_column("integration", "options", TextField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "options"))
