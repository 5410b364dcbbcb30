"""Statements rendered to SQL once per process, then run with new values only.

Building peewee's query tree and rendering its SQL text took about half of a worker's
time per webhook (docs/performance.md). A ``Prepared`` statement is still written as a
peewee query, with ``Param`` nodes where values go; it is rendered on first use for each
kind of database (SQLite and PostgreSQL differ in quoting and placeholders) and every
later run only converts and binds its values.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee

from flux_recon.models.base import db


class _Slot:
    """Where a named value goes in a rendered statement, and how to convert it."""

    __slots__ = ("name", "converter")

    def __init__(self, name: str, converter):
        self.name = name
        self.converter = converter

    def bind(self, values: dict):
        value = values[self.name]
        return self.converter(value) if self.converter and value is not None else value


class Param(peewee.ColumnBase):
    """A value supplied when the statement runs: ``Payment.id == Param("id")``.

    Compared with a field, the value is converted as that field converts it; as an insert
    or update value it needs the field named (``Param.of(Payment.status)``), because peewee
    only converts plain values there.
    """

    def __init__(self, name: str, converter: Callable | None = None):
        super().__init__()
        self.name = name
        self.converter = converter

    @classmethod
    def of(cls, field: peewee.Field, name: str | None = None) -> Param:
        return cls(name or field.name, field.db_value)

    def __sql__(self, ctx):
        # converter=False: peewee must not convert the slot itself; it is converted on binding.
        return ctx.value(_Slot(self.name, self.converter or ctx.state.converter), converter=False)


def row_values(model: type[peewee.Model], fields: list[peewee.Field] | None = None) -> dict:
    """``{field: Param.of(field)}`` for an insert or update of these fields (default: all
    but the primary key)."""
    fields = fields or [f for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)]
    return {field: Param.of(field) for field in fields}


class Prepared:
    """A statement built by ``build()`` (a peewee query using ``Param``), rendered once per
    kind of database. ``execute(**values)`` returns the cursor; ``rows(**values)`` the
    rows as the query itself would return them (models, tuples or dicts)."""

    def __init__(self, build: Callable[[], peewee.BaseQuery]):
        self._build = build
        self._rendered: dict[type, tuple[peewee.BaseQuery, str, list]] = {}

    def _render(self, database) -> tuple[peewee.BaseQuery, str, list]:
        key = type(database)
        rendered = self._rendered.get(key)
        if rendered is None:
            query = self._build()
            sql, params = database.get_sql_context().sql(query).query()
            rendered = self._rendered[key] = (query, sql, params)
        return rendered

    def _run(self, values: dict):
        database = db.obj
        query, sql, params = self._render(database)
        bound = [p.bind(values) if isinstance(p, _Slot) else p for p in params]
        return query, database.execute_sql(sql, bound)

    def execute(self, **values):
        return self._run(values)[1]

    def rows(self, **values) -> list:
        query, cursor = self._run(values)
        return list(query._get_cursor_wrapper(cursor))

    def later(self, **values) -> Callable[[], list]:
        """Send the statement now and read its rows when the returned function is called.

        In PostgreSQL's pipeline mode (``models.transactions.pipelined``) the rows then come
        back with the round trip of a later read, instead of one of their own. Elsewhere they
        are read at once."""
        query, cursor = self._run(values)
        if getattr(db.obj, "pipeline", None) is None:
            rows = list(query._get_cursor_wrapper(cursor))
            return lambda: rows
        return lambda: list(query._get_cursor_wrapper(cursor))

    def first(self, **values):
        found = self.rows(**values)
        return found[0] if found else None


def _stored_fields(model: type[peewee.Model]) -> list[peewee.Field]:
    return [f for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)]


class PreparedInsert:
    """``Model.create(**fields)`` as one prepared ``INSERT … RETURNING id``.

    With ``conflict_target``, a row that would break that unique key is not inserted
    (``ON CONFLICT DO NOTHING``) and the call returns None.
    """

    def __init__(self, model: type[peewee.Model], *, conflict_target: list[peewee.Field] | None = None):
        self.model = model
        self.fields = _stored_fields(model)

        def build():
            query = model.insert(row_values(model, self.fields)).returning(model._meta.primary_key)
            if conflict_target:
                query = query.on_conflict(conflict_target=conflict_target, action="NOTHING")
            return query

        self.statement = Prepared(build)

    def __call__(self, **fields) -> peewee.Model | None:
        row = self.model(**fields)  # the model's defaults, as create() would apply them
        data = row.__data__
        found = self.statement.execute(**{f.name: data.get(f.name) for f in self.fields}).fetchone()
        if found is None:
            return None
        row._pk = found[0]
        row._dirty.clear()
        return row


class PreparedAppend:
    """``Model.create(**fields)`` for a row whose id nobody reads (an audit entry): one
    prepared ``INSERT`` that returns nothing, so in pipeline mode nothing waits for it."""

    def __init__(self, model: type[peewee.Model]):
        self.model = model
        self.fields = _stored_fields(model)
        self.statement = Prepared(lambda: model.insert(row_values(model, self.fields)))

    def __call__(self, **fields) -> None:
        data = self.model(**fields).__data__  # the model's defaults, as create() would apply them
        self.statement.execute(**{f.name: data.get(f.name) for f in self.fields})


class PreparedUpdate:
    """``row.save(only=fields)`` as one prepared ``UPDATE … WHERE id = ?``. It returns
    nothing: reading the number of rows changed would wait for the answer, which in
    pipeline mode is a round trip of its own (use a query whose rowcount is read when it
    matters)."""

    def __init__(self, model: type[peewee.Model], fields: list[peewee.Field]):
        self.fields = fields
        pk = model._meta.primary_key
        self.statement = Prepared(lambda: model.update(row_values(model, fields)).where(pk == Param.of(pk, "_pk")))

    def __call__(self, row: peewee.Model) -> None:
        data = row.__data__
        self.statement.execute(_pk=row._pk, **{f.name: data.get(f.name) for f in self.fields})
        for f in self.fields:
            row._dirty.discard(f.name)
