"""Run a few Core statements straight on the database driver's cursor.

Each scan is a handful of tiny statements; on SQLite, SQLAlchemy's per-statement work
(execution context, result set-up) cost several times the database's own. The statements
stay SQLAlchemy Core, compiled once per dialect, so the SQL is still written once for
SQLite and PostgreSQL; only the execution skips the layers in between."""
from datetime import date, datetime

from sqlalchemy.engine import Connection

# SQLAlchemy keeps SQLite dates and times as text in these forms; the driver must too.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


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
        if conn.dialect.name == "sqlite":
            values = {k: _sqlite_value(v) for k, v in values.items()}
        cursor = conn.connection.cursor()
        cursor.execute(sql, [values[name] for name in positions] if positions else values)
        return cursor


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.strftime(_SQLITE_DATETIME)
    if isinstance(value, date):
        return value.isoformat()
    return value
