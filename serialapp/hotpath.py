"""Run a few Core statements straight on the database driver's cursor.

Each scan is a handful of tiny statements; on SQLite, SQLAlchemy's per-statement work
(execution context, result set-up) cost several times the database's own. The statements
stay SQLAlchemy Core, compiled once per dialect, so the SQL is still written once for
SQLite and PostgreSQL; only the execution skips the layers in between."""
import sqlite3
from contextlib import nullcontext
from datetime import date, datetime

from flask import g, has_request_context
from sqlalchemy.engine import Connection

# SQLAlchemy keeps SQLite dates and times as text in these forms; statements run on the
# driver must write the same. (SQLAlchemy's own statements convert before the driver sees
# a value, so these adapters only serve this module; Python 3.12 deprecates the defaults.)
sqlite3.register_adapter(datetime, lambda value: value.strftime("%Y-%m-%d %H:%M:%S.%f"))
sqlite3.register_adapter(date, lambda value: value.isoformat())


class Prepared:
    """A Core statement compiled once per dialect, run on the DBAPI cursor."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}

    def _compile(self, dialect) -> tuple:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            found = (str(compiled), compiled.positiontup, dict(compiled.params))
            self._compiled[dialect.name] = found
        return found

    def run(self, conn: Connection, params: dict):
        """Execute with `params` (on the connection's open transaction); returns the cursor."""
        sql, positions, defaults = self._compile(conn.dialect)
        values = {**defaults, **params}
        cursor = conn.connection.cursor()
        cursor.execute(sql, [values[name] for name in positions] if positions else values)
        return cursor


    def run_many(self, conn: Connection, rows: list[dict]) -> None:
        """Execute once per dict of `rows` (on the connection's open transaction)."""
        sql, positions, defaults = self._compile(conn.dialect)
        cursor = conn.connection.cursor()
        if positions:
            cursor.executemany(sql, [[{**defaults, **row}[name] for name in positions]
                                     for row in rows])
        else:
            cursor.executemany(sql, [{**defaults, **row} for row in rows])
        cursor.close()


def reading(engine):
    """A pooled connection for a few reads outside any transaction: on PostgreSQL in
    autocommit, so each read is one round trip (no BEGIN, no ROLLBACK when it goes back to
    the pool); SQLite's driver starts no transaction for a SELECT anyway.

    Within a request, the request's reads share one connection, given back when the request
    ends (release_reads): a keyed scan reads the token, the key's record and the shelf, and
    each checkout and return cost it about 40 us. The reads are single rows fetched whole,
    so on SQLite no statement stays open between them holding an old snapshot."""
    if not has_request_context():
        return _read_connection(engine)
    shared = g.get("_reads")
    if shared is None or shared.engine is not engine:
        if shared is not None:
            shared.close()
        shared = g._reads = _read_connection(engine)
    return nullcontext(shared)


def _read_connection(engine) -> Connection:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def release_reads(_error=None) -> None:
    """Give back the request's read connection (a teardown_request function)."""
    shared = g.pop("_reads", None)
    if shared is not None:
        shared.close()


def connection_to_write(engine) -> Connection:
    """A connection for the request's writes. Its reads are over by then: on SQLite the
    read connection itself (one checkout for the whole scan), elsewhere a fresh one, the
    read connection going back first, so that a request never holds one connection while
    it waits for another (twelve threads doing so emptied a pool of fifteen)."""
    shared = g.pop("_reads", None) if has_request_context() else None
    if shared is not None:
        if engine.dialect.name == "sqlite" and shared.engine is engine:
            if shared.in_transaction():  # a read through SQLAlchemy began one (no BEGIN
                shared.rollback()        # on SQLite for a SELECT): end it before writing
            return shared
        shared.close()
    return engine.connect()


def on_driver(conn, *statements: str) -> None:
    """Run plain statements (PRAGMA, BEGIN IMMEDIATE) on `conn`'s driver cursor, past
    SQLAlchemy's own bookkeeping of the transaction."""
    cursor = conn.connection.cursor()
    for sql in statements:
        cursor.execute(sql)
    cursor.close()
