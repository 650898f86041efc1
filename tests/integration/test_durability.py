"""An answered scan is on disk: SQLite syncs the write-ahead log at every commit."""
from sqlalchemy import text

from serialapp.extensions import db


def test_every_connection_syncs_each_commit(app):
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            # 2 = FULL: in WAL mode NORMAL (1) may lose the last commits in a power cut.
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
