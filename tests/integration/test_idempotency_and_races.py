"""Idempotent retries, and racing requests through a real HTTP server."""
import json
import threading
import urllib.request

from sqlalchemy import event, func, select, text

from serialapp.app import create_app
from serialapp.extensions import db
from serialapp.models import Event, IdempotencyRecord, IdempotencyStep
from tests.factories import imei, setup_shop


def event_count(app, type_):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event).where(Event.type == type_))


def test_retry_with_same_key_replays_first_answer_and_records_one_event(app, manager):
    setup_shop(manager)
    body = {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}
    first = manager.post("/receive", body, key="k-1")
    again = manager.post("/receive", body, key="k-1")
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert first.get_json()["results"][0]["ok"] is True
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert event_count(app, "receive") == 1
    # Without a key the same body is a new request: the same label scanned again, a repeat.
    third = manager.post("/receive", body)
    assert third.get_json()["results"][0]["repeat"] is True
    assert event_count(app, "receive") == 1


class Commits:
    """Counts the transactions the app commits on its engine while in the with-block."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def _commit(self, _conn):
        self.count += 1

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "commit", self._commit)


def test_a_keyed_scan_costs_one_commit_with_its_answer_in_it(app, manager):
    """The answer is committed with the scan's own step, not after it: one commit, the
    record holds the answer, and no step rows are left behind."""
    setup_shop(manager)
    serials = [imei(n) for n in range(1, 61)]
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                     "serials": serials[:1]}, key="r-1").status_code == 200
    for key, body, commits in (
            ("one-move", {"location": "A2", "serials": serials[:1]}, 1),
            ("one-receive", {"location": "A1", "sku": "PHONE", "serials": serials[1:2]}, 1),
            ("five", {"location": "A1", "sku": "PHONE", "serials": serials[2:7]}, 1),
            # 53 serials: groups committed with their step rows (50 steps or 25 ms each),
            # then the last with the answer, which replaces the rows.
            ("batch", {"location": "A1", "sku": "PHONE", "serials": serials[7:]}, None)):
        action = "/move" if "move" in key else "/receive"
        with Commits(app) as counted:
            answer = manager.post(action, body, key=key)
        assert answer.status_code == 200 and all(r["ok"] for r in answer.get_json()["results"])
        assert counted.count == commits if commits else counted.count > 1, key
        with app.app_context():
            record = db.session.get(IdempotencyRecord, (1, key)) or db.session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key == key)).one()
            assert record.status_code == 200 and json.loads(record.body) == answer.get_json()
            assert db.session.scalar(select(func.count()).select_from(IdempotencyStep)) == 0
        again = manager.post(action, body, key=key)
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.get_json() == answer.get_json()


def test_a_keyed_move_reads_on_one_connection_and_gives_every_connection_back(app, manager):
    """A keyed scan's reads (token, the key's record, the shelf) share one pooled connection
    for the request, and on SQLite its steps are written on it too: a move checks out one
    connection on SQLite, three on PostgreSQL (reads, the key's lock, steps); it was four.
    A refused scan stores its answer on one more. All are back in the pool when the answer
    is out."""
    setup_shop(manager)
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                     "serials": [imei(1)]}).status_code == 200
    with app.app_context():
        engine = db.engine
    base = 3 if engine.dialect.name == "postgresql" else 1
    checkouts = []
    listener = lambda *_: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        for key, body, ok, expected in (
                ("move", {"location": "A2", "serials": [imei(1)]}, True, base),
                ("unknown", {"location": "A2", "serials": [imei(9)]}, False, base + 1),
                ("back", {"location": "A1", "serials": [imei(1)]}, True, base)):
            checkouts.clear()
            answer = manager.post("/move", body, key=key)
            assert answer.status_code == 200
            assert answer.get_json()["results"][0]["ok"] is ok, answer.get_json()
            assert (key, len(checkouts)) == (key, expected)
            assert engine.pool.checkedout() == 0
        assert manager.post("/move", {"location": "A2", "serials": [imei(1)]},
                            key="move").headers["Idempotent-Replayed"] == "true"
        assert engine.pool.checkedout() == 0
    finally:
        event.remove(engine, "checkout", listener)


def test_a_move_does_not_rewrite_the_status_it_leaves_alone(app, manager):
    """A move's UPDATE names only what changes: an UPDATE that names `status` rewrites
    every index on it even when the value stays. A trigger on UPDATE OF status counts the
    statements that name it: none for two moves, one for the quarantine after them."""
    setup_shop(manager)
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                     "serials": [imei(1)]}).status_code == 200
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        db.session.execute(text("CREATE TABLE status_named (n INTEGER)"))
        if postgres:
            db.session.execute(text(
                "CREATE FUNCTION status_named_f() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO status_named VALUES (1); RETURN NULL; END $$"))
            db.session.execute(text(
                "CREATE TRIGGER status_named_t AFTER UPDATE OF status ON serials "
                "FOR EACH ROW EXECUTE FUNCTION status_named_f()"))
        else:
            db.session.execute(text(
                "CREATE TRIGGER status_named_t AFTER UPDATE OF status ON serials "
                "BEGIN INSERT INTO status_named VALUES (1); END"))
        db.session.commit()

    def named() -> int:
        with app.app_context():
            return db.session.scalar(text("SELECT count(*) FROM status_named"))
    try:
        for n, (action, body) in enumerate((
                ("/move", {"location": "A2", "serials": [imei(1)]}),
                ("/move", {"location": "A1", "serials": [imei(1)]}),
                ("/quarantine", {"serials": [imei(1)], "reason": "dented"}))):
            answer = manager.post(action, body, key=f"status-{n}")
            assert answer.get_json()["results"][0]["ok"], answer.get_json()
        assert named() == 1
        assert manager.get(f"/serials/{imei(1)}").get_json()["status"] == "quarantined"
    finally:
        with app.app_context():
            db.session.execute(text("DROP TRIGGER status_named_t" + (" ON serials" if postgres else "")))
            if postgres:
                db.session.execute(text("DROP FUNCTION status_named_f()"))
            db.session.execute(text("DROP TABLE status_named"))
            db.session.commit()


def test_a_keyed_pick_or_unpick_costs_one_commit_with_the_order_settled_in_it(app, manager):
    """The order's status is written with the pick's own step and the answer: one commit,
    and the order reads right at once."""
    setup_shop(manager)
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                     "serials": [imei(1), imei(2)]}).status_code == 200
    for key, action, body, status in (
            ("pick", "/pick", {"order": "SO2", "serials": [imei(1)]}, "picked"),
            ("unpick", "/unpick", {"order": "SO2", "location": "A2", "serials": [imei(1)]},
             "open"),
            # Refused (the line of 1 is full after the first): still one commit, the answer.
            ("pick-again", "/pick", {"order": "SO2", "serials": [imei(2)]}, "picked"),
            ("refused", "/pick", {"order": "SO2", "serials": [imei(1)]}, "picked")):
        with Commits(app) as counted:
            answer = manager.post(action, body, key=key)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["results"][0]["ok"] is (key != "refused"), answer.get_json()
        assert counted.count == 1, key
        assert manager.get("/sales-orders/SO2").get_json()["status"] == status, key
        again = manager.post(action, body, key=key)
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.get_json() == answer.get_json()
    with Commits(app) as counted:
        shipped = manager.post("/ship", {"order": "SO2"})
    assert shipped.status_code == 200 and counted.count == 1  # steps and status at once
    assert manager.get("/sales-orders/SO2").get_json()["status"] == "shipped"


def test_same_key_for_a_different_request_is_refused(manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}, key="k")
    r = manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(2)]}, key="k")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "idempotency_key_reused"


def test_error_answers_are_replayed_too(manager):
    setup_shop(manager)
    first = manager.post("/pick", {"order": "NOPE", "serials": ["x"]}, key="k-404")
    again = manager.post("/pick", {"order": "NOPE", "serials": ["x"]}, key="k-404")
    assert first.status_code == again.status_code == 404
    assert again.get_json() == first.get_json()


def test_keys_survive_a_restart(app, manager, users):
    """The record is in the database, so a new process answers the retry the same way."""
    setup_shop(manager)
    body = {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}
    first = manager.post("/receive", body, key="before-restart").get_json()
    restarted = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "SECRET_KEY": "other"})
    r = restarted.test_client().post("/api/receive", json=body, headers={
        "Authorization": f"Bearer {users['manager']}", "Idempotency-Key": "before-restart"})
    assert r.get_json() == first
    assert event_count(app, "receive") == 1
    with restarted.app_context():
        db.engine.dispose()


def test_keys_are_per_user(app, manager, picker):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}, key="k")
    r = picker.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(2)]}, key="k")
    assert r.get_json()["results"][0]["ok"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 2


def _post(url, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_twelve_pickers_race_for_one_serial(app, manager, users, live_server):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    for n in range(12):
        manager.post("/sales-orders", {"number": f"RACE-{n}", "customer": "C1",
                                       "lines": [{"sku": "PHONE", "qty": 1}]})
    barrier = threading.Barrier(12)
    answers = [None] * 12

    def picker_thread(n):
        barrier.wait()
        answers[n] = _post(f"{live_server}/api/pick", users["picker"],
                           {"order": f"RACE-{n}", "serials": [imei(1)]})

    threads = [threading.Thread(target=picker_thread, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [status for status, _ in answers]
    assert statuses == [200] * 12, answers
    results = [body["results"][0] for _, body in answers]
    winners = [r for r in results if r["ok"]]
    assert len(winners) == 1
    assert {r["error"]["code"] for r in results if not r["ok"]} == {"serial_not_available"}
    assert event_count(app, "pick") == 1
    serial = manager.get(f"/serials/{imei(1)}").get_json()
    assert serial["status"] == "picked" and serial["order"].startswith("RACE-")
    filled = [manager.get(f"/sales-orders/RACE-{n}").get_json()["lines"][0]["picked"]
              for n in range(12)]
    assert sorted(filled) == [0] * 11 + [1]


def test_racing_pickers_cannot_overfill_a_line(app, manager, users, live_server):
    """Two different serials, one order line of 1: only one may land."""
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE",
                              "serials": [imei(n) for n in range(1, 9)]})
    barrier = threading.Barrier(8)
    answers = [None] * 8

    def picker_thread(n):
        barrier.wait()
        answers[n] = _post(f"{live_server}/api/pick", users["picker"],
                           {"order": "SO2", "serials": [imei(n + 1)]})

    threads = [threading.Thread(target=picker_thread, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results = [body["results"][0] for _, body in answers]
    assert sum(r["ok"] for r in results) == 1
    assert {r["error"]["code"] for r in results if not r["ok"]} == {"order_line_full"}
    assert manager.get("/sales-orders/SO2").get_json()["lines"][0]["picked"] == 1


def _user_id(app, name):
    from serialapp.models import User
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.name == name))


def test_a_retry_waits_for_a_first_attempt_still_running_then_replays_it(app, manager):
    """While the first attempt holds the key, a retry waits for it instead of a 409; it
    then answers from the finished record."""
    from serialapp import keylock
    setup_shop(manager)
    body = {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}
    answers = {}
    with app.app_context():
        with keylock.held(db.engine, _user_id(app, "manager"), "slow", 5):
            # The "first attempt" (this test) holds the key and finishes the request itself.
            first = manager.post("/receive", body)  # no key: the work itself
            assert first.get_json()["results"][0]["ok"]
            t = threading.Thread(target=lambda: answers.update(
                r=manager.post("/move", {"location": "A2", "serials": [imei(1)]}, key="slow")))
            t.start()
            t.join(0.5)
            assert t.is_alive(), "the retry must wait while the key is held"
        t.join(10)
    assert answers["r"].status_code == 200
    assert answers["r"].get_json()["results"][0]["ok"] is True


def test_a_retry_held_up_too_long_is_told_to_come_back_with_retry_after(app, manager):
    from serialapp import keylock
    setup_shop(manager)
    app.config["IDEMPOTENCY_WAIT_S"] = 0.3
    with app.app_context():
        with keylock.held(db.engine, _user_id(app, "manager"), "stuck", 5):
            r = manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                          "serials": [imei(1)]}, key="stuck")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "idempotency_in_progress"
    assert int(r.headers["Retry-After"]) > 0
    # Nothing was done, and the key works once the first attempt is gone.
    again = manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]},
                         key="stuck")
    assert again.get_json()["results"][0]["ok"] is True


def test_final_refusals_carry_no_retry_after_and_are_replayed(manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    manager.post("/pick", {"order": "SO2", "serials": [imei(1)]})
    assert manager.post("/ship", {"order": "SO2"}, key="ship-1").status_code == 200
    closed = manager.post("/ship", {"order": "SO2"}, key="ship-2")
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "order_closed"
    assert "Retry-After" not in closed.headers
    assert manager.post("/ship", {"order": "SO2"}, key="ship-2").headers.get(
        "Idempotent-Replayed") == "true"
    incomplete = manager.post("/ship", {"order": "SO1"}, key="ship-3")
    assert incomplete.status_code == 409 and "Retry-After" not in incomplete.headers


def test_scans_leave_every_pooled_connection_durable(app, manager):
    """A scan's steps commit with SQLite's synchronous=NORMAL and sync the log themselves
    after the write lock (steps._sync_log); the connection must go back to the pool at
    FULL, or a page's later commit on it would not wait for the disk."""
    setup_shop(manager)
    serials = [imei(n) for n in range(1, 9)]
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": serials},
                        key="in").status_code == 200
    for n, serial in enumerate(serials):
        answer = manager.post("/move", {"location": "A2", "serials": [serial]}, key=f"m{n}")
        assert answer.status_code == 200 and answer.get_json()["results"][0]["ok"]
    with app.app_context():
        held = [db.engine.connect() for _ in range(4)]  # more than one of the pool's
        try:
            for conn in held:
                if conn.dialect.name == "sqlite":
                    assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
                else:
                    assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        finally:
            for conn in held:
                conn.close()


def test_pickers_filling_different_lines_at_once_leave_the_order_picked(app, manager, users,
                                                                       live_server):
    """Each pick writes the order's status in its own transaction. Two pickers filling the
    two lines of one order at the same moment must leave it "picked", not "open" (each
    judging from before the other's pick).

    On PostgreSQL a trigger makes writing an order's status take 0.3 s, so the second
    picker surely reaches its own while the first has not committed: the order of events
    that needs the second to wait for the first is forced, not hoped for. (SQLite has one
    writer at a time: the same test, without the wait.)"""
    setup_shop(manager)
    orders = 3
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [
        imei(n) for n in range(1, orders + 1)]}).status_code == 200
    assert manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": [
        f"CS-{n:04d}" for n in range(1, orders + 1)]}).status_code == 200
    for n in range(orders):
        assert manager.post("/sales-orders", {"number": f"TWO-{n}", "customer": "C1", "lines": [
            {"sku": "PHONE", "qty": 1}, {"sku": "CASE", "qty": 1}]}).status_code == 201
    with app.app_context(), db.engine.begin() as conn:
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            conn.execute(text("CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER test_slow AFTER UPDATE OF status ON sales_orders "
                              "FOR EACH ROW EXECUTE FUNCTION test_slow()"))
    answers = []

    def picker(n, serial, barrier):
        barrier.wait()
        answers.append(_post(f"{live_server}/api/pick", users["picker"],
                             {"order": f"TWO-{n}", "serials": [serial]}, key=f"{n}-{serial}"))

    for n in range(orders):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=picker, args=(n, serial, barrier))
                   for serial in (imei(n + 1), f"CS-{n + 1:04d}")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    if postgresql:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER test_slow ON sales_orders"))
    assert len(answers) == 2 * orders
    assert all(status == 200 and body["results"][0]["ok"] for status, body in answers), answers
    statuses = [manager.get(f"/sales-orders/TWO-{n}").get_json()["status"] for n in range(orders)]
    assert statuses == ["picked"] * orders
