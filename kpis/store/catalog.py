"""What a database of this app holds, as DuckDB's catalog describes it, and the check that a file holds exactly that.

A restore puts a file in place only when its tables, columns, constraints, views and sequences are the ones this
program's migrations create for the file's schema version, and it holds nothing else: no view, macro, type, index
or schema of its own. A view or a macro is a query that runs whenever the app reads through it, so a file that
brings its own could make the app read other files or show made-up rows; a table with other columns or types
would break every query that reads it. The expected catalog is not written down twice: it is built by running the
migrations on an empty in-memory database (:func:`expected`), and compared with the file's (:func:`difference`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import duckdb

from kpis.store.db import migrate

#: One column: name, type, nullable, default expression.
Column = tuple[str, str, bool, str | None]

_HERE = "database_name = current_database()"
_OTHERS: dict[str, str] = {  # kind -> the query of (schema, name, definition) of every entry of that kind
    "view": f"SELECT schema_name, view_name, sql FROM duckdb_views() WHERE {_HERE} AND NOT internal "
            "AND NOT temporary",
    "sequence": "SELECT schema_name, sequence_name, concat_ws(' ', increment_by, min_value, max_value, cycle) "
                f"FROM duckdb_sequences() WHERE {_HERE} AND NOT temporary",
    "index": f"SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE {_HERE}",
    "macro": f"SELECT schema_name, function_name, concat_ws(' ', function_type, macro_definition) "
             f"FROM duckdb_functions() WHERE {_HERE} AND NOT internal",
    "type": f"SELECT schema_name, type_name, logical_type FROM duckdb_types() WHERE {_HERE} AND NOT internal",
    "schema": f"SELECT 'main', schema_name, '' FROM duckdb_schemas() WHERE {_HERE} AND NOT internal",
}


@dataclass(frozen=True)
class Catalog:
    """The entries of one database: its tables' columns and constraints, and every other entry's definition."""

    tables: Mapping[str, tuple[Column, ...]]
    constraints: Mapping[str, frozenset[str]]
    others: Mapping[tuple[str, str], str]


def read(con: duckdb.DuckDBPyConnection) -> Catalog:
    """The catalog of the current database of ``con`` (temporary objects left out: they are not in the file)."""
    tables: dict[str, list[Column]] = {
        _name(schema, table): [] for schema, table in con.execute(
            f"SELECT schema_name, table_name FROM duckdb_tables() WHERE {_HERE} AND NOT temporary").fetchall()}
    for schema, table, column, kind, nullable, default in con.execute(
            f"SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default "
            f"FROM duckdb_columns() WHERE {_HERE} ORDER BY table_oid, column_index").fetchall():
        if _name(schema, table) in tables:  # views have columns too
            tables[_name(schema, table)].append((column, kind, bool(nullable), default))
    constraints: dict[str, set[str]] = {name: set() for name in tables}
    for schema, table, text, columns in con.execute(
            f"SELECT schema_name, table_name, constraint_text, constraint_column_names FROM duckdb_constraints() "
            f"WHERE {_HERE}").fetchall():
        constraints.setdefault(_name(schema, table), set()).add(f"{text} on ({', '.join(columns or [])})")
    others = {(kind, _name(schema, name)): str(definition)
              for kind, sql in _OTHERS.items() for schema, name, definition in con.execute(sql).fetchall()}
    return Catalog({name: tuple(columns) for name, columns in tables.items()},
                   {name: frozenset(texts) for name, texts in constraints.items()}, others)


@cache
def expected(version: int) -> Catalog:
    """The catalog of a database of this app at schema ``version``: the migrations up to it, run in memory."""
    con = duckdb.connect(":memory:")
    try:
        migrate(con, 0, version)
        return read(con)
    finally:
        con.close()


def difference(found: Catalog, wanted: Catalog, *, derived: Iterable[str] = ()) -> str | None:
    """The first way ``found`` differs from ``wanted``, as a phrase for a message; None when they agree.

    Tables named in ``derived`` (caches the app rebuilds from the others) may be present with any columns.
    """
    spare = set(derived)
    for name in sorted(wanted.tables):
        if name not in found.tables:
            return f"it has no table {name}"
        problem = _columns_difference(name, found.tables[name], wanted.tables[name])
        if problem:
            return problem
        if found.constraints.get(name, frozenset()) != wanted.constraints.get(name, frozenset()):
            return f"the constraints of table {name} are not this dashboard's"
    for name in sorted(found.tables):
        if name not in wanted.tables and name not in spare:
            return f"it has a table {name} that this dashboard's schema does not have"
    for kind, name in sorted(set(found.others) | set(wanted.others)):
        if (kind, name) not in found.others:
            return f"it has no {kind} {name}"
        if (kind, name) not in wanted.others:
            return f"it has a {kind} {name} that this dashboard does not define"
        if found.others[kind, name] != wanted.others[kind, name]:
            return f"its {kind} {name} is not this dashboard's definition"
    return None


def _columns_difference(table: str, found: tuple[Column, ...], wanted: tuple[Column, ...]) -> str | None:
    """The first column of ``table`` that differs, as a phrase; None when all agree."""
    for i, want in enumerate(wanted):
        if i >= len(found):
            return f"table {table} has no column {want[0]}"
        have = found[i]
        if have[0] != want[0]:
            return f"table {table} has a column {have[0]} where this dashboard has {want[0]}"
        if have[1] != want[1]:
            return f"column {table}.{want[0]} is {have[1]}, not {want[1]}"
        if have != want:
            return f"column {table}.{want[0]} is not defined as this dashboard defines it"
    if len(found) > len(wanted):
        return f"table {table} has a column {found[len(wanted)][0]} that this dashboard does not have"
    return None


def _name(schema: str, name: str) -> str:
    """An entry's name: bare in the main schema, ``schema.name`` elsewhere."""
    return name if schema == "main" else f"{schema}.{name}"
