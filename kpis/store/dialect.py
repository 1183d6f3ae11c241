"""The KPI queries are written once, in DuckDB's SQL; this module translates them for Spark SQL.

Why translate rather than write each query twice or build them with a dataframe library: the queries are the
definitions of the KPIs, reviewed and tested as SQL; one text per query means one definition, and the parity tests
run that one text on both engines. sqlglot (pinned) does the bulk of the translation (quoting ``"key"`` as
`` `key` ``, ``$name`` as ``:name``, ``arg_max`` as ``max_by``, ``list_contains`` as ``array_contains``, ``::``
casts); the rules below add what it leaves wrong for Spark:

- ``timezone($tz, CAST(ts AS TIMESTAMPTZ))`` (a UTC instant's wall time in a zone) is ``from_utc_timestamp``;
- ``list_position`` is ``array_position``, which says 0 where DuckDB says NULL;
- ``AS MATERIALIZED`` is dropped (Spark decides what to cache);
- ``lag``/``lead`` lose their explicit ``ROWS`` frame, which Spark refuses on them and DuckDB ignores;
- ``arg_max(x, by)`` skips rows where ``x`` is NULL in DuckDB but not in Spark's ``max_by``: ``by`` is made NULL
  there;
- table names are mapped (each engine names its copy of a table, or a frame registered for one query).

A query using something this does not know fails on Spark with Spark's message: the parity tests run every KPI
query on both engines, so such a query does not ship.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

try:  # only the Spark engine needs sqlglot (requirements-spark.txt)
    import sqlglot
    from sqlglot import exp
except ImportError:  # pragma: no cover - exercised where the Spark requirements are not installed
    sqlglot = None
    exp = None

#: What to install for the Spark engine, in every message that says it is missing.
INSTALL = "pip install -r requirements-spark.txt"


def available() -> bool:
    """Whether the translator's library is installed."""
    return sqlglot is not None


def tables_in(sql: str) -> frozenset[str]:
    """The names of the tables a DuckDB query reads (CTE names left out).

    >>> sorted(tables_in("WITH t AS (SELECT * FROM events) SELECT * FROM t JOIN settings s ON true"))
    ['events', 'settings']
    """
    return _tables_in(sql)


@lru_cache(maxsize=1024)
def _tables_in(sql: str) -> frozenset[str]:
    tree = _parse(sql)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return frozenset(t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes)


def to_spark(sql: str, names: Mapping[str, str] | None = None) -> str:
    """``sql`` (DuckDB) as Spark SQL, each table ``t`` read as ``names[t]`` when it is mapped.

    >>> to_spark('SELECT "key" FROM settings WHERE list_contains($keys, "key")', {"settings": "s_1"})
    'SELECT `key` FROM s_1 WHERE ARRAY_CONTAINS(:keys, `key`)'
    """
    return _to_spark(sql, tuple(sorted((names or {}).items())))


@lru_cache(maxsize=1024)
def _to_spark(sql: str, names: tuple[tuple[str, str], ...]) -> str:
    tree = _parse(sql).copy()
    mapped = dict(names)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)
    for table in tree.find_all(exp.Table):
        if table.name in mapped and table.name not in ctes:
            table.set("this", exp.to_identifier(mapped[table.name]))
    tree = tree.transform(_rule)
    return tree.sql(dialect="spark")


def _parse(sql: str) -> exp.Expression:
    if sqlglot is None:
        raise RuntimeError(f"the Spark engine needs sqlglot: {INSTALL}")
    return sqlglot.parse_one(sql, read="duckdb")


def _rule(node: exp.Expression) -> exp.Expression:
    """One node rewritten for Spark (the rules of the module's docstring)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone" and len(node.expressions) == 2:
        zone, instant = node.expressions
        if isinstance(instant, exp.Cast):
            instant = instant.this
        return exp.Anonymous(this="from_utc_timestamp", expressions=[instant.copy(), zone.copy()])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_position" and len(node.expressions) == 2:
        found = exp.Anonymous(this="array_position", expressions=[e.copy() for e in node.expressions])
        return exp.Nullif(this=found, expression=exp.Literal.number(0))
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Lag | exp.Lead) and node.args.get("spec"):
        node = node.copy()
        node.set("spec", None)
        return node
    if isinstance(node, exp.ArgMax | exp.ArgMin):
        value, by = node.this, node.expression
        guarded = exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null(),
                         false=by.copy())
        return type(node)(this=value.copy(), expression=guarded)
    return node
