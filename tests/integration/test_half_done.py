"""No half-done 500: an unexpected error in one step of a batch leaves an honest answer.

The steps before it are done and answer as done; it and the steps after it are not done
and answer `not_done`; a retry with the same Idempotency-Key does the rest, once. A ship of
several serials is all or nothing.

The unexpected error is a real database failure, not a mock of our code: a trigger the
test creates refuses one row (SQLite `RAISE(ABORT)`, PostgreSQL `RAISE EXCEPTION`), so the
same test runs on both databases."""
import logging
from datetime import date

import pytest
from sqlalchemy import func, select, text, update

from serialapp.extensions import db
from serialapp.models import Event, Product, SalesOrder, Serial

GOOD_BEFORE = ["HD-1", "HD-2", "HD-3"]
BAD = "HD-BAD"
GOOD_AFTER = ["HD-5", "HD-6", "HD-7"]


class Failing:
    """A trigger that makes the database refuse the rows of `table` matching `when` (SQL
    on NEW) on `event` (INSERT or UPDATE), until it is dropped."""

    def __init__(self, app, table: str, event: str, when: str):
        self.app, self.table = app, table
        with app.app_context(), db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text(f"CREATE TRIGGER test_failure BEFORE {event} ON {table} "
                                  f"FOR EACH ROW WHEN {when} "
                                  "BEGIN SELECT RAISE(ABORT, 'test failure'); END"))
            else:
                conn.execute(text("CREATE OR REPLACE FUNCTION test_failure() RETURNS trigger "
                                  "LANGUAGE plpgsql AS $$ BEGIN "
                                  "RAISE EXCEPTION 'test failure'; END $$"))
                conn.execute(text(f"CREATE TRIGGER test_failure BEFORE {event} ON {table} "
                                  f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION test_failure()"))

    def drop(self):
        with self.app.app_context(), db.engine.begin() as conn:
            on = "" if conn.dialect.name == "sqlite" else f" ON {self.table}"
            conn.execute(text(f"DROP TRIGGER test_failure{on}"))


@pytest.fixture
def shop(manager):
    for body in ({"sku": "PLAIN", "name": "Plain thing", "warranty_days": 30},
                 {"sku": "OTHER", "name": "Other thing", "warranty_days": 30}):
        assert manager.post("/products", body).status_code == 201
    for code in ("A1", "A2"):
        assert manager.post("/locations", {"code": code, "kind": "storage"}).status_code == 201
    assert manager.post("/customers", {"code": "C1", "name": "Ann Buyer"}).status_code == 201
    return manager


def rows(app):
    """Every serial and every event, as they are in the database."""
    with app.app_context():
        serials = db.session.execute(select(Serial.serial, Serial.status, Serial.location_id,
                                            Serial.version).order_by(Serial.serial)).all()
        events = db.session.execute(select(Event.id, Event.type, Event.serial_id)
                                    .order_by(Event.id)).all()
    return [tuple(r) for r in serials], [tuple(r) for r in events]


def serials_in_db(app):
    return [s for s, *_ in rows(app)[0]]


def assert_not_done(result, serial, failed=False):
    assert result["serial"] == serial and result["ok"] is False, result
    assert result["error"]["code"] == "not_done", result
    if failed:
        assert "went wrong on our side" in result["error"]["message"], result
    return result


def test_a_batch_stopped_by_a_database_failure_answers_what_was_done(app, shop, request_lines,
                                                                     caplog):
    """3 good serials, one the database fails on, 3 more: the first 3 are in and say so,
    the failed one and the 3 after it are not and say so; the error is logged."""
    failing = Failing(app, "serials", "INSERT", f"NEW.serial = '{BAD}'")
    batch = GOOD_BEFORE + [BAD] + GOOD_AFTER
    body = {"location": "A1", "sku": "PLAIN", "serials": batch}
    with caplog.at_level(logging.ERROR):
        r = shop.post("/receive", body, key="batch-1")
    r.close()  # as a WSGI server does once it has sent it: the request's line is written
    assert r.status_code == 200, r.get_data(as_text=True)
    results = r.get_json()["results"]
    assert [x["serial"] for x in results] == batch
    assert all(x["ok"] and x["status"] == "in_stock" for x in results[:3]), results
    assert_not_done(results[3], BAD, failed=True)
    for result, serial in zip(results[4:], GOOD_AFTER):
        assert "stopped at an error before this one" in \
            assert_not_done(result, serial)["error"]["message"]
    assert serials_in_db(app) == GOOD_BEFORE
    assert len(rows(app)[1]) == 3  # one receive event each, no more
    # The error is logged: its traceback in the app's log, its type in the request's line.
    assert any("failed unexpectedly at step 4" in rec.getMessage() and rec.exc_info
               for rec in caplog.records)
    line = [x for x in request_lines if x["path"] == "/api/receive"][-1]
    assert line["status"] == 200 and line["error"]

    # The same request again, the database still failing: the same honest answer, and
    # nothing changes.
    before = rows(app)
    again = shop.post("/receive", body, key="batch-1")
    assert again.status_code == 200 and again.get_json() == r.get_json()
    assert again.headers.get("Idempotent-Replayed") is None  # it ran again, resumed
    assert rows(app) == before

    # Fixed: the retry with the same key does the rest, once, and answers every serial.
    failing.drop()
    done = shop.post("/receive", body, key="batch-1")
    assert done.status_code == 200
    results = done.get_json()["results"]
    assert results[:3] == r.get_json()["results"][:3]  # answered as they were
    assert all(x["ok"] and not x.get("repeat") for x in results), results
    assert serials_in_db(app) == sorted(GOOD_BEFORE + [BAD] + GOOD_AFTER)
    assert len(rows(app)[1]) == 7
    # Now final: kept and replayed, and nothing more is done.
    replay = shop.post("/receive", body, key="batch-1")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == done.get_json()
    assert len(rows(app)[1]) == 7


def test_a_move_stopped_half_way_says_so_without_a_key_too(app, shop):
    """A failure in the middle of a batch of moves (an UPDATE the database refuses), sent
    without an Idempotency-Key: the same honest answer; sending it again moves the rest,
    and the ones already moved answer that they are there."""
    texts = ["MV-1", "MV-2", "MV-3", "MV-4"]
    assert all(x["ok"] for x in shop.post("/receive", {"location": "A1", "sku": "PLAIN",
                                                       "serials": texts}).get_json()["results"])
    failing = Failing(app, "serials", "UPDATE", "NEW.serial = 'MV-3'")
    r = shop.post("/move", {"location": "A2", "serials": texts})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["ok"] for x in results] == [True, True, False, False]
    assert_not_done(results[2], "MV-3", failed=True)
    assert_not_done(results[3], "MV-4")
    with app.app_context():
        where = dict(db.session.execute(select(Serial.serial, Serial.location_id)).all())
    assert where["MV-1"] == where["MV-2"] != where["MV-3"] == where["MV-4"]
    failing.drop()
    results = shop.post("/move", {"location": "A2", "serials": texts}).get_json()["results"]
    assert [x.get("repeat", False) for x in results] == [True, True, False, False]
    assert all(x["ok"] for x in results)
    with app.app_context():
        moves = db.session.scalar(select(func.count()).select_from(Event)
                                  .where(Event.type == "move"))
    assert moves == 4


def pick_order(shop, number, lines, serials):
    assert shop.post("/sales-orders", {"number": number, "customer": "C1",
                                       "lines": lines}).status_code == 201
    results = shop.post("/pick", {"order": number, "serials": serials}).get_json()["results"]
    assert all(x["ok"] for x in results), results


def test_a_ship_of_several_serials_is_all_or_nothing(app, shop):
    """The database fails on the second unit of three: none ships, the order stays picked,
    and the answer says which unit failed and that the others did not go; the retry with
    the same key ships all three."""
    texts = ["SH-1", "SH-2", "SH-3"]
    shop.post("/receive", {"location": "A1", "sku": "PLAIN", "serials": texts})
    pick_order(shop, "SO-W", [{"sku": "PLAIN", "qty": 3}], texts)
    before = rows(app)
    failing = Failing(app, "serials", "UPDATE",
                      "NEW.serial = 'SH-2' AND NEW.status = 'shipped'")
    r = shop.post("/ship", {"order": "SO-W"}, key="ship-1")
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["serial"] for x in results] == texts
    assert_not_done(results[1], "SH-2", failed=True)
    for i in (0, 2):
        assert "ships all at once" in assert_not_done(results[i], texts[i])["error"]["message"]
    assert rows(app) == before  # not one unit shipped, not one event written
    with app.app_context():
        assert db.session.scalar(select(SalesOrder.status)
                                 .where(SalesOrder.number == "SO-W")) == "picked"
    failing.drop()
    done = shop.post("/ship", {"order": "SO-W"}, key="ship-1")
    assert all(x["ok"] and x["status"] == "shipped" for x in done.get_json()["results"])
    with app.app_context():
        assert db.session.scalar(select(SalesOrder.status)
                                 .where(SalesOrder.number == "SO-W")) == "shipped"
    assert shop.post("/ship", {"order": "SO-W"}, key="ship-1").get_json() == done.get_json()


def test_a_product_whose_warranty_overflows_ships_with_the_rest(app, shop):
    """An order with a line of a product saved with an absurd warranty (before the field's
    range was checked): every unit ships, that one covered to the last day a date holds,
    and the order is shipped, not left open answering 500 to every retry."""
    with app.app_context():
        db.session.execute(update(Product).where(Product.sku == "OTHER")
                           .values(warranty_days=10 ** 9))
        db.session.commit()
    shop.post("/receive", {"location": "A1", "sku": "PLAIN", "serials": ["WO-1", "WO-2"]})
    shop.post("/receive", {"location": "A1", "sku": "OTHER", "serials": ["WO-3"]})
    pick_order(shop, "SO-O", [{"sku": "PLAIN", "qty": 2}, {"sku": "OTHER", "qty": 1}],
               ["WO-1", "WO-2", "WO-3"])
    r = shop.post("/ship", {"order": "SO-O"}, key="ship-o")
    assert r.status_code == 200
    assert all(x["ok"] and x["status"] == "shipped" for x in r.get_json()["results"])
    with app.app_context():
        assert db.session.scalar(select(SalesOrder.status)
                                 .where(SalesOrder.number == "SO-O")) == "shipped"
    unit = shop.get("/serials/WO-3").get_json()
    assert unit["status"] == "shipped" and unit["warranty_until"] == date.max.isoformat()
    assert shop.get("/serials/WO-1").get_json()["warranty_until"] < "9999"


@pytest.mark.postgresql
def test_a_group_whose_commit_fails_answers_its_steps_not_done(app, shop):
    """The database refuses the commit itself (a deferred constraint trigger, checked at
    COMMIT): every step of that group answers not_done, whatever was committed before it
    answers done, and the database holds exactly the serials answered done."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION test_failure() RETURNS trigger LANGUAGE plpgsql "
                          "AS $$ BEGIN RAISE EXCEPTION 'test failure at commit'; END $$"))
        conn.execute(text("CREATE CONSTRAINT TRIGGER test_failure AFTER INSERT ON serials "
                          "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                          "WHEN (NEW.serial = 'CF-3') EXECUTE FUNCTION test_failure()"))
    batch = [f"CF-{n}" for n in range(1, 7)]
    body = {"location": "A1", "sku": "PLAIN", "serials": batch}
    results = shop.post("/receive", body, key="commit-1").get_json()["results"]
    assert [x["serial"] for x in results] == batch
    done = [x["serial"] for x in results if x["ok"]]
    assert "CF-3" not in done and serials_in_db(app) == sorted(done)
    for result in results:
        if not result["ok"]:
            assert_not_done(result, result["serial"])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER test_failure ON serials"))
    again = shop.post("/receive", body, key="commit-1").get_json()["results"]
    assert all(x["ok"] for x in again) and serials_in_db(app) == sorted(batch)


@pytest.mark.postgresql
def test_a_scan_whose_held_commit_fails_once_is_done_again_and_answers_done(app, shop):
    """A scan's answer is committed with its last steps; when that commit fails (here: a
    deferred trigger that refuses the first commit only, counting on a sequence, which no
    rollback undoes), none of them happened, and the request does them again within the
    same call: the phone gets a plain 'done', and each serial is in once, with one event."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE test_fail_once"))
        conn.execute(text("CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql "
                          "AS $$ BEGIN IF nextval('test_fail_once') = 1 THEN "
                          "RAISE EXCEPTION 'test failure at commit'; END IF; RETURN NULL; END $$"))
        conn.execute(text("CREATE CONSTRAINT TRIGGER test_fail_once AFTER INSERT ON serials "
                          "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                          "WHEN (NEW.serial = 'FO-2') EXECUTE FUNCTION test_fail_once()"))
    batch = ["FO-1", "FO-2", "FO-3"]
    body = {"location": "A1", "sku": "PLAIN", "serials": batch}
    answer = shop.post("/receive", body, key="fail-once")
    assert answer.status_code == 200
    assert [(x["serial"], x["ok"]) for x in answer.get_json()["results"]] == \
        [(s, True) for s in batch]
    assert serials_in_db(app) == batch
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 3
        assert db.session.scalar(text("SELECT last_value FROM test_fail_once")) == 2
    again = shop.post("/receive", body, key="fail-once")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == answer.get_json()
