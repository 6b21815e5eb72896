"""Bulk reads and writes straight through the database driver.

The daily cycle writes ~10 journal entries, ~20 postings and a few payment
instructions per participant; through SQLAlchemy's Core every row's parameters are
built and processed one by one, which cost more than the database's own work
(docs/performance.md). These helpers keep SQLAlchemy's connection and transaction
(and its types' conversions) but hand the rows to the driver in one call:

- `select_in`: rows whose column is in a list of values. PostgreSQL: one statement
  with `= ANY(%s)` (one array parameter, so psycopg's query cache works);
  SQLite: `IN (?, ?, ...)` in chunks. Values come back as the driver gives them
  (no result processing: use it for keys, ids and text).
- `insert_rows`: rows as tuples in `columns` order, converted by the columns' own
  SQLAlchemy bind processors (dates, timestamps, JSON, booleans: stored exactly as a
  Core insert would). PostgreSQL: COPY; SQLite: one executemany.

A constraint violation is raised as SQLAlchemy's IntegrityError, as an insert
through SQLAlchemy would be. Other dialects fall back to SQLAlchemy Core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator, TypeEngine

IN_CHUNK = 500
# PostgreSQL takes one array parameter; chunks only bound the size of one result.
ANY_CHUNK = 20_000


def select_in(connection: Connection, statement: str, values: Sequence[Any]) -> Iterator[Any]:
    """Rows of `statement` ("SELECT ... WHERE column {in}") for `values`; `{in}` is
    replaced by the dialect's list test. No other parameters."""
    if not values:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        query = statement.replace("{in}", "= ANY(%s)")
        for start in range(0, len(values), ANY_CHUNK):
            yield from connection.exec_driver_sql(query, (list(values[start : start + ANY_CHUNK]),))
    elif dialect == "sqlite":
        for start in range(0, len(values), IN_CHUNK):
            chunk = tuple(values[start : start + IN_CHUNK])
            query = statement.replace("{in}", f"IN ({','.join('?' * len(chunk))})")
            yield from connection.exec_driver_sql(query, chunk)
    else:
        query_text = text(statement.replace("{in}", "IN :values")).bindparams(
            bindparam("values", expanding=True)
        )
        for start in range(0, len(values), IN_CHUNK):
            yield from connection.execute(
                query_text, {"values": list(values[start : start + IN_CHUNK])}
            )


def insert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    converted: Collection[str] = (),
) -> None:
    """Insert `rows` (tuples in `columns` order) in bulk; see the module docstring.
    Columns left out get their server default (or NULL): Python-side defaults of the
    model are not applied, so give every such column a value. `converted`: columns
    whose values are already what the driver stores (e.g. JSON text), SQLite and
    PostgreSQL only."""
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        if converted:  # SQLAlchemy would convert them a second time
            raise ValueError("already converted values need PostgreSQL or SQLite")
        named = [dict(zip(columns, row, strict=True)) for row in rows]
        for start in range(0, len(named), IN_CHUNK * 10):
            connection.execute(insert(table), named[start : start + IN_CHUNK * 10])
        return
    ready = _converted(connection, table, columns, rows, skip=converted)
    if dialect.name == "postgresql":
        copy_rows(connection, f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", ready)
    else:
        # Names from the model and the caller's code, never from input.
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
        connection.exec_driver_sql(statement, list(ready))


def _converted(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    skip: Collection[str],
) -> Iterator[tuple[Any, ...]]:
    """Rows with each value converted by its column's bind processor (as SQLAlchemy
    would before handing it to the driver). Conversions of dates, timestamps and
    booleans are remembered per value: a chunk has few distinct ones."""
    dialect = connection.dialect
    processors: list[tuple[int, Callable[[Any], Any], dict[Any, Any] | None]] = []
    for index, name in enumerate(columns):
        if name in skip:
            continue
        type_ = table.c[name].type
        found = type_.dialect_impl(dialect).bind_processor(dialect)
        if found is not None:
            processors.append((index, found, {} if _memoable(type_) else None))
    if not processors:
        yield from (row if isinstance(row, tuple) else tuple(row) for row in rows)
        return
    for row in rows:
        values = list(row)
        for index, processor, memo in processors:
            value = values[index]
            if value is None:
                continue
            if memo is None:
                values[index] = processor(value)
                continue
            try:
                values[index] = memo[value]
            except KeyError:
                values[index] = memo[value] = processor(value)
        yield tuple(values)


def _memoable(type_: TypeEngine[Any]) -> bool:
    if isinstance(type_, TypeDecorator):  # e.g. UtcDateTime: its python_type is unknown
        type_ = type_.impl_instance
    try:
        return type_.python_type in (dt.date, dt.datetime, bool)
    except NotImplementedError:
        return False


def copy_rows(connection: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: COPY rows in the connection's transaction; a constraint violation is
    raised as SQLAlchemy's IntegrityError."""
    import psycopg

    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as error:
        raise IntegrityError(statement, None, error) from error
