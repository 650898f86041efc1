"""Run a few Core statements straight on the database driver's cursor.

Each scan is a handful of tiny statements; on SQLite, SQLAlchemy's per-statement work
(execution context, result set-up) cost several times the database's own. The statements
stay SQLAlchemy Core, compiled once per dialect, so the SQL is still written once for
SQLite and PostgreSQL; only the execution skips the layers in between."""
import sqlite3
from datetime import date, datetime

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
    the pool); SQLite's driver starts no transaction for a SELECT anyway."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def on_driver(conn, *statements: str) -> None:
    """Run plain statements (PRAGMA, BEGIN IMMEDIATE) on `conn`'s driver cursor, past
    SQLAlchemy's own bookkeeping of the transaction."""
    cursor = conn.connection.cursor()
    for sql in statements:
        cursor.execute(sql)
    cursor.close()
