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


def test_serial_rules_migration_names_rule_breakers_and_changes_no_serial(tmp_path, capfd):
    """Rows written before the serial rules: kept as they are, each named in the output;
    two serials differing only in case make their product case-sensitive, said out loud."""
    import unicodedata

    from flask_migrate import upgrade
    from sqlalchemy import text

    from serialapp.app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "SECRET_KEY": "test"})
    nfd = unicodedata.normalize("NFD", "CAFÉ-1")
    old = ["gad-001", "GAD-001", "X" * 80, "AB\u200bC", "\u0410BC-1", nfd, "plain-1"]
    with app.app_context():
        upgrade(revision="7a8b06321c50")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO products (id, sku, name, warranty_days, attributes, "
                              "next_seq, created_at) VALUES (1, 'GAD', 'Gadget', 0, '{}', 1, "
                              "'2026-01-01'), (2, 'OTHER', 'Other', 0, '{}', 1, '2026-01-01')"))
            for n, serial in enumerate(old, start=1):
                conn.execute(text("INSERT INTO serials (id, product_id, serial, status, version, "
                                  "received_at) VALUES (:id, :pid, :s, 'in_stock', 1, "
                                  "'2026-01-01')"), {"id": n, "pid": 1 if n <= 2 else 2, "s": serial})
        capfd.readouterr()
        upgrade()
        out = capfd.readouterr().out
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT serial, serial_key FROM serials ORDER BY id")).all()
            sensitive = dict(conn.execute(text("SELECT sku, serials_case_sensitive FROM products")).all())
        db.engine.dispose()
    assert [r[0] for r in rows] == old  # no serial text changed
    assert "GAD has serials that differ only in letter case" in out
    assert sensitive == {"GAD": 1, "OTHER": 0}
    assert "at most 64 characters" in out
    assert "Zero Width Space" in out
    assert "Cyrillic" in out
    assert "not in canonical form" in out
    assert "plain-1" not in out  # only rule breakers are named
    keys = {serial: key for serial, key in rows}
    assert keys["gad-001"] == "gad-001" and keys["GAD-001"] == "GAD-001"
    assert keys[nfd] == "café-1"  # found by its NFC form from now on


def test_a_shop_with_history_upgrades_from_the_first_schema_to_the_last(tmp_path):
    """Every migration on a database that has rows pointing at each other (events at
    serials, lines at orders): SQLite rebuilds tables to change them, which must neither
    fail on those references nor lose a row."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from serialapp.app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                      "SECRET_KEY": "test"})
    with app.app_context():
        upgrade(revision="b1f2f73f9697")
        with db.engine.begin() as conn:
            for sql in (
                "INSERT INTO users (id, name, password_hash, role, active, created_at) "
                "VALUES (1, 'ann', 'x', 'manager', 1, '2026-01-01')",
                "INSERT INTO products (id, sku, name, warranty_days, attributes, next_seq, "
                "created_at) VALUES (1, 'P', 'Phone', 365, '{}', 1, '2026-01-01')",
                "INSERT INTO locations (id, code, name, kind, pickable) "
                "VALUES (1, 'A1', '', 'storage', 1)",
                "INSERT INTO customers (id, code, name) VALUES (1, 'C1', 'Ann Buyer')",
                "INSERT INTO purchase_orders (id, number, supplier, created_at) "
                "VALUES (1, 'PO1', 'Acme', '2026-01-01')",
                "INSERT INTO purchase_order_lines (id, purchase_order_id, product_id, qty, "
                "received_qty) VALUES (1, 1, 1, 2, 2)",
                "INSERT INTO sales_orders (id, number, customer_id, status, created_at) "
                "VALUES (1, 'SO1', 1, 'shipped', '2026-01-02')",
                "INSERT INTO sales_order_lines (id, sales_order_id, product_id, qty, filled_qty) "
                "VALUES (1, 1, 1, 1, 1)",
                "INSERT INTO serials (id, product_id, serial, status, location_id, version, "
                "purchase_order_id, sales_order_id, customer_id, received_at) VALUES "
                "(1, 1, 'SN-1', 'shipped', 1, 3, 1, 1, 1, '2026-01-01'), "
                "(2, 1, 'sn-2', 'in_stock', 1, 1, 1, NULL, NULL, '2026-01-01')",
                "INSERT INTO events (id, serial_id, type, to_status, to_location_id, user_id, "
                "at, source) VALUES (1, 1, 'receive', 'in_stock', 1, 1, '2026-01-01', 'wedge'), "
                "(2, 2, 'receive', 'in_stock', 1, 1, '2026-01-01', 'wedge'), "
                "(3, 1, 'pick', 'picked', 1, 1, '2026-01-02', 'wedge'), "
                "(4, 1, 'ship', 'shipped', 1, 1, '2026-01-02', 'wedge')",
            ):
                conn.execute(text(sql))
        upgrade()
        with db.engine.connect() as conn:
            counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("serials", "events", "purchase_order_lines", "sales_order_lines")]
            keys = conn.execute(text("SELECT serial_key, search_key, search_rev FROM serials "
                                     "ORDER BY id")).all()
            broken = conn.execute(text("PRAGMA foreign_key_check")).all()
            leftovers = conn.execute(text("SELECT name FROM sqlite_master "
                                          "WHERE name LIKE '_alembic_tmp%'")).all()
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            statuses = conn.execute(text("SELECT status FROM purchase_orders")).scalars().all()
        db.engine.dispose()
    assert diff == [], diff  # the upgraded shop has exactly the schema a new one gets
    assert statuses == ["open"]
    assert counts == [2, 4, 1, 1]
    assert keys == [("sn-1", "sn-1", "1-ns"), ("sn-2", "sn-2", "2-ns")]
    assert broken == [] and leftovers == []


def test_serial_counts_triggers_are_there_at_the_head(app):
    """serial_counts is kept by triggers on serials. On SQLite a batch_alter_table of
    serials rebuilds the table without them: a later migration that does so must make
    them again, or home's counts stop following the units."""
    from sqlalchemy import text
    with app.app_context():
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                names = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = "
                                          "'serials'::regclass AND NOT tgisinternal")).scalars()
            else:
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = "
                                          "'trigger' AND tbl_name = 'serials'")).scalars()
            names = set(names)
    assert {"serial_counts_insert", "serial_counts_update"} <= names


def test_serial_counts_migration_counts_the_units_already_there(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from serialapp.app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "SECRET_KEY": "test"})
    with app.app_context():
        upgrade(revision="0936958c53db")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO products (id, sku, name, warranty_days, attributes, "
                              "next_seq, created_at) VALUES (1, 'GAD', 'Gadget', 0, '{}', 1, "
                              "'2026-01-01')"))
            for n, status in enumerate(["in_stock"] * 3 + ["shipped"], start=1):
                conn.execute(text("INSERT INTO serials (id, product_id, serial, serial_key, "
                                  "status, version, received_at) VALUES (:n, 1, :s, :s, "
                                  ":status, 1, '2026-01-01')"),
                             {"n": n, "s": f"g-{n}", "status": status})
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE serials SET status = 'picked' WHERE id = 1"))
            conn.execute(text("UPDATE serials SET lot = 'L1' WHERE id = 2"))  # no status change
            counts = dict(conn.execute(text("SELECT status, n FROM serial_counts")).all())
        downgrade(revision="0936958c53db")
        with db.engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                     "'serial_counts%'")).scalar()
        db.engine.dispose()
    assert counts == {"in_stock": 2, "picked": 1, "shipped": 1}
    assert left == 0
