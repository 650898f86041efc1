"""An answered scan is on disk: SQLite syncs the write-ahead log at every commit.

SQLite's own settings, so this runs on a SQLite file on every pass; on PostgreSQL the
server's synchronous_commit (on by default) does the same, and bench/crash.py kills it."""
from sqlalchemy import text

from serialapp.extensions import db


def test_every_connection_syncs_each_commit(sqlite_app):
    with sqlite_app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            # 2 = FULL: in WAL mode NORMAL (1) may lose the last commits in a power cut.
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
