"""The migrations build the schema the models describe, from nothing."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from serialapp.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], f"models differ from migrations: run `flask db migrate` ({diff})"


def test_upgrade_builds_every_table(app):
    with app.app_context():
        names = set(db.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= names
