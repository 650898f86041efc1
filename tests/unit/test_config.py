"""DATABASE_URL as people paste it: every PostgreSQL form reaches psycopg 3 and connects."""

import pytest
from sqlalchemy import create_engine, text

from serialapp import config

FORMS = ["postgresql://u:p@db.example:5432/shop", "postgres://u:p@db.example:5432/shop",
         "postgresql+psycopg://u:p@db.example:5432/shop"]


@pytest.mark.parametrize("pasted", FORMS)
def test_postgres_urls_all_mean_psycopg(pasted, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pasted)
    url = config.load(str(tmp_path))["SQLALCHEMY_DATABASE_URI"]
    assert url == "postgresql+psycopg://u:p@db.example:5432/shop"
    engine = create_engine(url)  # the driver is importable and is psycopg 3
    assert engine.dialect.driver == "psycopg"


def test_other_urls_are_kept_and_the_default_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f" sqlite:///{tmp_path}/x.db\n")
    assert config.load(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.db"
    monkeypatch.delenv("DATABASE_URL")
    assert config.load(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == \
        f"sqlite:///{tmp_path / 'serialapp.db'}"


@pytest.mark.postgresql
@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://", "postgresql+psycopg://"])
def test_each_form_connects_to_a_real_server(scheme, pg_admin_url):
    """The forms reach a real server, not just a string compare."""
    rest = pg_admin_url.split("://", 1)[1]
    engine = create_engine(config.database_url(scheme + rest))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
