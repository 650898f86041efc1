"""Issue 12 point 5: the history is tamper-evident. Each tampering is done here the way an
intruder with database access would, in plain SQL, and `flask --app app verify-history`
must name it; a shop's real work, before and after the checkpoint, must pass."""
import hmac
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from serialapp import chain
from serialapp.extensions import db
from serialapp.models import utcnow
from tests.conftest import ON_POSTGRES
from tests.factories import imei, setup_shop


@pytest.fixture
def shop(app, manager, tmp_path):
    """A shop's ordinary work: received on a PO and without, moved, picked, unpicked,
    shipped, returned (quarantine), released, scrapped, quarantined by a recall, imported."""
    app.config.update(HISTORY_KEY_FILE=str(tmp_path / "history_key"),
                      HISTORY_CHECKPOINT_FILE=str(tmp_path / "history_checkpoint"))
    setup_shop(manager)
    ok(manager.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE",
                                 "lot": "L1", "serials": [imei(n) for n in (1, 2, 3)]}))
    ok(manager.post("/receive", {"location": "A2", "sku": "CASE",
                                 "serials": ["CS-0001", "CS-0002"]}))
    ok(manager.post("/move", {"location": "TEST-BENCH", "serials": [imei(3)]}))
    ok(manager.post("/move", {"location": "A1", "serials": [imei(3)]}))
    ok(manager.post("/pick", {"order": "SO1", "serials": [imei(1), imei(2)]}))
    ok(manager.post("/unpick", {"order": "SO1", "location": "A2", "serials": [imei(2)]}))
    ok(manager.post("/pick", {"order": "SO1", "serials": [imei(2)]}))
    assert manager.post("/ship", {"order": "SO1"}).status_code == 200
    ok(manager.post("/return", {"serials": [imei(1)], "reason": "DOA",
                                "disposition": "quarantine", "location": "Q"}))
    ok(manager.post("/release", {"serials": [imei(1)]}))
    ok(manager.post("/scrap", {"serials": ["CS-0002"], "reason": "cracked"}))
    saved = manager.post("/recalls", {"name": "Lot L1", "sku": "PHONE", "lot": ["L1"]})
    assert saved.status_code == 201, saved.get_json()
    assert manager.post(f"/recalls/{saved.get_json()['id']}/quarantine",
                        {"location": "Q"}).status_code == 200
    stock = tmp_path / "stock.csv"
    stock.write_text("serial,sku,location\nCS-0100,CASE,A1\nCS-0101,CASE,A2\n")
    result = app.test_cli_runner().invoke(args=["import", str(stock)])
    assert result.exit_code == 0, result.output
    return manager


def ok(response):
    assert response.status_code == 200, response.get_json()
    assert all(r["ok"] for r in response.get_json()["results"]), response.get_json()


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def checkpoint(app):
    code, out = cli(app, "checkpoint-history")
    assert code == 0, out
    return out


def verify(app):
    return cli(app, "verify-history")


def sql(app, statement, **params):
    with app.app_context(), db.engine.begin() as conn:
        return conn.execute(text(statement), params)


def rows(app, statement, **params):
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(text(statement), params).all()


def serial_id(app, serial):
    return rows(app, "SELECT id FROM serials WHERE serial = :s", s=serial)[0][0]


def events_of(app, serial):
    return rows(app, "SELECT e.id, e.type FROM events e JOIN serials s ON s.id = e.serial_id "
                     "WHERE s.serial = :s ORDER BY e.id", s=serial)


def assert_found(app, kind_words, *names):
    """verify-history fails, and its output says `kind_words` and names each of `names`."""
    code, out = verify(app)
    assert code == 1, out
    assert "history NOT intact" in out
    assert kind_words in out, out
    for name in names:
        assert str(name) in out, out
    return out


def rechain(app, serial):
    """What a careful intruder does after editing events: recompute the serial's chain
    with the public encoding, and write every hash and the head back in plain SQL."""
    sid = serial_id(app, serial)
    product_id = rows(app, "SELECT product_id FROM serials WHERE id = :id", id=sid)[0][0]
    names = [n for n in chain.FIELDS if n not in ("product_id", "serial")]
    with app.app_context(), db.engine.begin() as conn:
        from serialapp.models import Event
        from sqlalchemy import select
        events = conn.execute(select(Event.id, *(getattr(Event, n) for n in names))
                              .where(Event.serial_id == sid).order_by(Event.id)).all()
        prev = None
        for event in events:
            head = chain.event_hash(prev, product_id=product_id, serial=serial,
                                    **dict(zip(names, event[1:])))
            conn.execute(text("UPDATE events SET hash = :h, prev = :p WHERE id = :id"),
                         {"h": head, "p": chain.link(prev), "id": event[0]})
            prev = head
        conn.execute(text("UPDATE serials SET history_head = :h WHERE id = :id"),
                     {"h": prev, "id": sid})


# ---------------------------------------------------------------- a clean shop

def test_a_shop_s_real_work_verifies_before_and_after_its_checkpoint(app, shop):
    out = checkpoint(app)
    assert "checkpoint written" in out and "off the server" in out
    code, out = verify(app)
    assert code == 0, out
    assert out.startswith("history intact:") and out.count("\n") == 1  # one line
    # Work done after the checkpoint extends the chains it pinned, and adds new ones.
    ok(shop.post("/move", {"location": "A1", "serials": ["CS-0001"]}))
    ok(shop.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(4)]}))
    ok(shop.post("/pick", {"order": "SO2", "serials": [imei(4)]}))
    assert shop.post("/ship", {"order": "SO2"}).status_code == 200
    code, out = verify(app)
    assert code == 0, out
    assert "history intact: 8 serials" in out


def test_the_checkpoint_key_is_made_once_owner_only(app, shop, tmp_path):
    checkpoint(app)
    key = tmp_path / "history_key"
    first = key.read_text()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "history_checkpoint").stat().st_mode & 0o777) == "0o600"
    checkpoint(app)
    assert key.read_text() == first


def test_without_a_checkpoint_verify_says_to_make_one(app, shop):
    out = assert_found(app, "no checkpoint")
    assert "checkpoint-history" in out


# ---------------------------------------------------------------- tamperings, in plain SQL

def test_rewriting_who_and_when_of_an_event_is_found(app, shop):
    checkpoint(app)
    ship = next(i for i, t in events_of(app, imei(2)) if t == "ship")
    admin = rows(app, "SELECT id FROM users WHERE name = 'admin'")[0][0]
    sql(app, "UPDATE events SET user_id = :u, at = :at WHERE id = :id",
        u=admin, at=datetime(2026, 1, 5, 9, 30), id=ship)
    out = assert_found(app, "was altered", f"event {ship} (ship", imei(2), "PHONE")
    assert out.count("\n") == 2  # that one problem, and the summary


def test_rewriting_an_event_and_recomputing_the_chain_is_found_by_the_checkpoint(app, shop):
    checkpoint(app)
    receive = events_of(app, imei(3))[0][0]
    sql(app, "UPDATE events SET at = :at WHERE id = :id", at=datetime(2025, 12, 1), id=receive)
    rechain(app, imei(3))
    assert_found(app, "was rewritten", imei(3), "checkpoint of")


def test_a_fake_scrap_inserted_with_its_status_change_is_found(app, shop):
    checkpoint(app)
    sid = serial_id(app, imei(3))
    sql(app, "INSERT INTO events (serial_id, type, from_status, to_status, from_location_id, "
             "to_location_id, user_id, at, source, note) SELECT id, 'scrap', status, "
             "'scrapped', location_id, location_id, 1, :at, 'manual', 'water damage' "
             "FROM serials WHERE id = :id", at=utcnow(), id=sid)
    sql(app, "UPDATE serials SET status = 'scrapped', version = version + 1 WHERE id = :id",
        id=sid)
    fake = events_of(app, imei(3))[-1][0]
    assert_found(app, "is not chained", f"event {fake} (scrap", imei(3))


def test_a_fake_scrap_chained_by_hand_but_dated_before_the_checkpoint_is_found(app, shop):
    checkpoint(app)
    sid = serial_id(app, imei(3))
    sql(app, "INSERT INTO events (serial_id, type, from_status, to_status, from_location_id, "
             "to_location_id, user_id, at, source) SELECT id, 'scrap', status, 'scrapped', "
             "location_id, location_id, 1, :at, 'manual' FROM serials WHERE id = :id",
        at=utcnow() - timedelta(days=3), id=sid)
    sql(app, "UPDATE serials SET status = 'scrapped', version = version + 1 WHERE id = :id",
        id=sid)
    rechain(app, imei(3))
    fake = events_of(app, imei(3))[-1][0]
    assert_found(app, "dated before the checkpoint", f"event {fake} (scrap", imei(3))


def test_a_status_changed_without_an_event_is_found(app, shop):
    checkpoint(app)
    sql(app, "UPDATE serials SET status = 'scrapped' WHERE serial = :s", s=imei(3))
    assert_found(app, "but its history leaves it quarantined", imei(3))


def test_deleting_every_event_of_a_serial_is_found(app, shop):
    checkpoint(app)
    sql(app, "DELETE FROM events WHERE serial_id = :id", id=serial_id(app, imei(1)))
    assert_found(app, "every event of", imei(1), "is missing")


def test_deleting_one_event_in_the_middle_is_found(app, shop):
    checkpoint(app)
    history = events_of(app, imei(2))
    sql(app, "DELETE FROM events WHERE id = :id", id=history[1][0])
    assert_found(app, "missing before it", f"event {history[2][0]} ", imei(2))


def test_deleting_the_last_event_is_found(app, shop):
    checkpoint(app)
    last = events_of(app, imei(2))[-1][0]
    sql(app, "DELETE FROM events WHERE id = :id", id=last)
    assert_found(app, "last event(s) of", imei(2), "are missing")


def test_deleting_a_serial_and_its_events_is_found_and_named(app, shop):
    checkpoint(app)
    sid = serial_id(app, "CS-0001")
    sql(app, "DELETE FROM events WHERE serial_id = :id", id=sid)
    sql(app, "DELETE FROM serials WHERE id = :id", id=sid)
    assert_found(app, "was deleted behind the app's back", f"CASE CS-0001 (serial id {sid})",
                 "with every event of it")


def test_a_serial_inserted_by_hand_is_found(app, shop):
    checkpoint(app)
    sql(app, "INSERT INTO serials (product_id, serial, serial_key, status, location_id, "
             "version, received_at) SELECT product_id, 'CS-0999', 'cs-0999', 'in_stock', "
             "location_id, 1, received_at FROM serials WHERE serial = 'CS-0001'")
    assert_found(app, "has no events", "CS-0999")


# ---------------------------------------------------------------- the checkpoint itself

def test_an_edited_checkpoint_is_found(app, shop, tmp_path):
    checkpoint(app)
    path = tmp_path / "history_checkpoint"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"serials": 7', b'"serials": 6', 1))
    assert data != path.read_bytes()
    assert_found(app, "not signed by the history key")


def test_a_checkpoint_with_an_edited_serial_list_is_found(app, shop, tmp_path):
    checkpoint(app)
    path = tmp_path / "history_checkpoint"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # in the compressed serial list, after the signed header
    path.write_bytes(bytes(data))
    assert_found(app, "was altered after it was signed")


def test_a_checkpoint_signed_with_another_key_is_found(app, shop, tmp_path):
    checkpoint(app)
    app.config["HISTORY_KEY_FILE"] = str(tmp_path / "other_key")
    sql(app, "DELETE FROM events WHERE serial_id = :id", id=serial_id(app, "CS-0001"))
    sql(app, "DELETE FROM serials WHERE serial = 'CS-0001'")
    code, out = cli(app, "checkpoint-history", "--accept")  # a forger's own checkpoint
    assert code == 0, out
    app.config["HISTORY_KEY_FILE"] = str(tmp_path / "history_key")
    assert_found(app, "not signed by the history key")


def test_a_checkpoint_is_not_written_over_a_tampered_history_unless_accepted(app, shop, tmp_path):
    checkpoint(app)
    before = (tmp_path / "history_checkpoint").read_bytes()
    sql(app, "DELETE FROM events WHERE serial_id = :id", id=serial_id(app, imei(1)))
    code, out = cli(app, "checkpoint-history")
    assert code == 1 and "no checkpoint written" in out and imei(1) in out
    assert (tmp_path / "history_checkpoint").read_bytes() == before
    code, out = cli(app, "checkpoint-history", "--accept")
    assert code == 0 and "1 problem(s) accepted" in out
    # Accepting records the state; the broken chain itself stays evidence.
    assert_found(app, "every event of", imei(1))


def test_verify_against_a_copy_kept_off_the_server(app, shop, tmp_path):
    checkpoint(app)
    off = tmp_path / "off-server"
    off.mkdir()
    for name in ("history_checkpoint", "history_key"):
        (off / name).write_bytes((tmp_path / name).read_bytes())
    (tmp_path / "history_checkpoint").unlink()
    code, out = cli(app, "verify-history", "--checkpoint", str(off / "history_checkpoint"),
                    "--key", str(off / "history_key"))
    assert code == 0, out


def test_many_problems_are_each_named_up_to_the_limit(app, shop):
    checkpoint(app)
    sql(app, "UPDATE events SET note = 'edited'")
    code, out = cli(app, "verify-history", "--limit", "3")
    assert code == 1
    assert out.count("was altered") == 3 and "... and 4 more" in out
    assert "7 problem(s) found in 7 serials" in out


# ---------------------------------------------------------------- upgrading an existing shop

def _old_shop(url):
    """A database at the revision before the chain, with a history written by the old code."""
    from flask_migrate import upgrade

    from serialapp.app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade(revision="0936958c53db")
        with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO users (id, name, password_hash, role, active, created_at, "
                "session_generation) VALUES (1, 'ann', 'x', 'manager', true, '2026-01-01', 0)",
                "INSERT INTO products (id, sku, name, warranty_days, attributes, next_seq, "
                "created_at, serials_case_sensitive) VALUES (1, 'P', 'Phone', 365, '{}', 1, "
                "'2026-01-01', false)",
                "INSERT INTO locations (id, code, name, kind, pickable) "
                "VALUES (1, 'A1', '', 'storage', true)",
                "INSERT INTO serials (id, product_id, serial, serial_key, status, location_id, "
                "version, received_at) VALUES (1, 1, 'SN-1', 'sn-1', 'scrapped', 1, 3, "
                "'2026-01-01'), (2, 1, 'SN-2', 'sn-2', 'in_stock', 1, 1, '2026-01-01')",
                "INSERT INTO events (id, serial_id, type, from_status, to_status, "
                "from_location_id, to_location_id, user_id, at, source, note, warranty_return) "
                "VALUES (1, 1, 'receive', NULL, 'in_stock', NULL, 1, 1, '2026-01-01 08:00:00', "
                "'wedge', NULL, NULL), (2, 2, 'receive', NULL, 'in_stock', NULL, 1, 1, "
                "'2026-01-01 08:00:01.5', 'wedge', NULL, NULL), (3, 1, 'quarantine', "
                "'in_stock', 'quarantined', 1, 1, 1, '2026-01-02 09:00:00', 'manual', 'dent', "
                "NULL), (4, 1, 'scrap', 'quarantined', 'scrapped', 1, 1, 1, "
                "'2026-01-03 10:00:00.123456', 'manual', 'é|s3:x', false)",
            ):
                conn.execute(text(statement))
    return app


def _upgraded_shop_verifies(url, tmp_path):
    from flask_migrate import upgrade
    app = _old_shop(url)
    app.config.update(HISTORY_KEY_FILE=str(tmp_path / "key"),
                      HISTORY_CHECKPOINT_FILE=str(tmp_path / "checkpoint"))
    with app.app_context():
        upgrade()
        heads = rows(app, "SELECT history_head FROM serials ORDER BY id")
        db.engine.dispose()
    assert all(h[0] and len(h[0]) == 64 for h in heads)
    checkpoint(app)
    code, out = verify(app)
    assert code == 0, out
    assert "2 serials, 4 events" in out
    # And the old history is now pinned: an edit of it is found.
    sql(app, "UPDATE events SET note = 'no dent' WHERE id = 3")
    assert_found(app, "event 3 (quarantine", "SN-1")
    with app.app_context():
        db.engine.dispose()


def test_upgrading_chains_an_existing_history_on_sqlite(tmp_path):
    _upgraded_shop_verifies(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)


@pytest.mark.postgresql
def test_upgrading_chains_an_existing_history_on_postgresql(empty_pg_database, tmp_path):
    _upgraded_shop_verifies(empty_pg_database, tmp_path)


def test_rotating_the_key(app, shop, tmp_path):
    checkpoint(app)
    new_key = tmp_path / "history_key.2"
    code, out = cli(app, "checkpoint-history", "--new-key", str(new_key))
    assert code == 0 and str(new_key) in out, out
    assert oct(new_key.stat().st_mode & 0o777) == "0o600"
    assert_found(app, "not signed by the history key")  # still the old key configured
    app.config["HISTORY_KEY_FILE"] = str(new_key)
    assert verify(app)[0] == 0


def test_a_time_that_names_no_moment_is_reported_not_a_crash(app, shop):
    checkpoint(app)
    first = events_of(app, imei(2))[0][0]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PostgreSQL itself refuses such values in its typed columns: the history stays
        # as it was, and says so.
        with pytest.raises(DBAPIError):
            sql(app, "UPDATE events SET warranty_return = 'x' WHERE id = :id", id=first)
        assert verify(app)[0] == 0
        return
    sql(app, "UPDATE events SET at = 'yesterday', warranty_return = 'x' WHERE id = :id",
        id=first)
    assert_found(app, "was altered", f"event {first} (receive, 'yesterday')")


# ---------------------------------------------------------------- which database

@pytest.fixture
def other_database(request, tmp_path):
    """A URL to a second migrated database, as fresh as the test's own."""
    if not ON_POSTGRES:
        path = tmp_path / "other.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    name = server.create(template=request.getfixturevalue("pg_template"))
    yield server.url_of(name)
    server.drop(name)


def app_on(url, tmp_path):
    """Another app on `url`, with the same instance files (key, checkpoint) as the test's."""
    from serialapp.app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "TESTING": True,
                       "HISTORY_KEY_FILE": str(tmp_path / "history_key"),
                       "HISTORY_CHECKPOINT_FILE": str(tmp_path / "history_checkpoint")})


def fresh_database_in_place(app, request, tmp_path):
    """The database at the app's URL replaced by a fresh one, the URL unchanged."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        db.engine.dispose()
    if not ON_POSTGRES:
        path = Path(url.removeprefix("sqlite:///"))
        path.rename(tmp_path / "old.db")  # kept: its inode cannot be the new file's
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return
    server = request.getfixturevalue("pg_server")
    name = make_url(url).database
    server.drop(name)
    with server.engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE '
                          f'{request.getfixturevalue("pg_template")} STRATEGY FILE_COPY'))


def assert_another_database(out):
    assert out.startswith("The checkpoint ") and out.count("\n") == 1, out  # one sentence
    assert "was taken of another database" in out and "checkpoint-history --accept" in out
    assert "deleted" not in out and "history NOT intact" not in out
    assert ":serialapp@" not in out  # a URL's password is never shown


def test_a_checkpoint_of_another_database_says_so_rather_than_every_serial_deleted(
        app, shop, tmp_path, other_database):
    checkpoint(app)
    before = (tmp_path / "history_checkpoint").read_bytes()
    other = app_on(other_database, tmp_path)
    code, out = verify(other)
    assert code == 1
    assert_another_database(out)
    assert other_database.split("@")[-1].split("/")[-1] in out  # it names this one
    # Not overwritten without being told: that would drop the shop's checkpoint.
    code, out = cli(other, "checkpoint-history")
    assert code == 1 and "was taken of another database" in out and "deleted" not in out
    assert (tmp_path / "history_checkpoint").read_bytes() == before
    # Told (the shop now is this database): its own checkpoint, and it verifies.
    code, out = cli(other, "checkpoint-history", "--accept")
    assert code == 0 and "1 problem(s) accepted" in out, out
    code, out = verify(other)
    assert code == 0 and out.startswith("history intact: 0 serials"), out
    with other.app_context():
        db.engine.dispose()
    # And the first database is now the other one.
    assert_another_database(verify(app)[1])


def test_a_fresh_database_at_the_same_url_is_another_database(app, shop, tmp_path, request):
    checkpoint(app)
    fresh_database_in_place(app, request, tmp_path)
    code, out = verify(app)
    assert code == 1
    assert_another_database(out)


def test_a_checkpoint_that_names_no_database_verifies_as_before(app, shop, tmp_path,
                                                                other_database):
    """A checkpoint written before checkpoints named their database: checked as it was."""
    checkpoint(app)
    path, key = tmp_path / "history_checkpoint", (tmp_path / "history_key").read_bytes()
    magic, header, _signature, body = path.read_bytes().split(b"\n", 3)
    old = json.loads(header)
    del old["database"]
    header = json.dumps(old, sort_keys=True).encode()
    signature = hmac.new(key.strip(), magic + b"\n" + header + b"\n", "sha256").hexdigest()
    path.write_bytes(b"\n".join([magic, header, f"hmac-sha256 {signature}".encode(), body]))
    code, out = verify(app)
    assert code == 0 and out.startswith("history intact: 7 serials"), out
    # On another database it cannot tell: every serial it holds is missing, as before.
    other = app_on(other_database, tmp_path)
    code, out = verify(other)
    with other.app_context():
        db.engine.dispose()
    assert code == 1 and "history NOT intact: 7 problem(s)" in out, out
    assert out.count("was deleted behind the app's back") == 7
