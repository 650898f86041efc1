"""Time in stage from the kept stays (records.stays): figures equal to the events' own
times, whether a week is read back from its kept figures or worked out from the stays,
and the same answer caught up bit by bit as rebuilt from nothing."""
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select

from serialapp.extensions import db
from serialapp.models import Event, Location, Product, Serial, StageStay, StageWeek, utcnow
from serialapp.records import stats, stays
from tests.factories import imei, setup_shop


class Clock:
    """The time the scans write on their events, set by the test."""

    def __init__(self):
        self.at = None

    def __call__(self):
        return self.at or utcnow()


@pytest.fixture
def clock(monkeypatch):
    import importlib
    c = Clock()
    for name in ("receive", "steps", "orders"):
        monkeypatch.setattr(importlib.import_module(f"serialapp.inventory.{name}"), "utcnow", c)
    return c


def _ok(response):
    body = response.get_json()
    assert response.status_code == 200 and all(r["ok"] for r in body["results"]), body
    return body


def _report(api, weeks):
    r = api.get(f"/reports/stage-times?weeks={weeks}&threshold_hours=1")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _rebuilt_report(app, api, weeks):
    with app.app_context():
        with db.engine.begin() as conn:
            stays.rebuild(conn)
    return _report(api, weeks)


def _from_the_events(app, weeks):
    """The report's rows worked out in Python from every event (stats.stays), the way the
    report's SQL is meant to: the independent answer to compare with."""
    with app.app_context():
        now = utcnow()
        rows = db.session.execute(
            select(Event.serial_id, Event.at, Event.to_status, Location.code, Product.sku)
            .outerjoin(Location, Location.id == Event.to_location_id)
            .join(Serial, Serial.id == Event.serial_id)
            .join(Product, Product.id == Serial.product_id)
            .order_by(Event.serial_id, Event.id)).all()
    histories = defaultdict(list)
    for serial_id, at, status, code, sku in rows:
        histories[(serial_id, sku)].append((at, status, code))
    first = stats.week_start(now) - timedelta(weeks=weeks - 1)
    groups = defaultdict(list)
    for (_, sku), events in histories.items():
        for stay in stats.stays(events):
            if (stay.end is not None and stay.location is not None
                    and stay.status in stays.REPORTED and stats.week_start(stay.end) >= first):
                groups[(stay.location, stay.status, sku, stats.week_start(stay.end).isoformat())
                       ].append(stay.hours(now))
    return [{"location": loc, "status": st, "sku": sku, "week": week, **stats.summarise(h)}
            for (loc, st, sku, week), h in sorted(groups.items())]


def test_units_moved_through_two_stages_at_known_times_give_those_medians(app, manager, clock):
    """Four units through A1 and TEST-BENCH three weeks ago (a finished week: its figures
    are kept and read back), two more that left A1 a few hours ago (this week, usually:
    worked out from the stays). Every figure is the one the known times give."""
    setup_shop(manager)
    real = utcnow()
    t0 = datetime.combine(stats.week_start(real) - timedelta(weeks=3), time(8))
    old = [imei(n) for n in range(1, 5)]
    clock.at = t0
    _ok(manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": old}))
    at_a1, at_bench = (2, 4, 6, 8), (1, 2, 3, 10)
    for serial, h in zip(old, at_a1):
        clock.at = t0 + timedelta(hours=h)
        _ok(manager.post("/move", {"location": "TEST-BENCH", "serials": [serial]}))
    for serial, h, b in zip(old, at_a1, at_bench):
        clock.at = t0 + timedelta(hours=h + b)
        _ok(manager.post("/move", {"location": "A2", "serials": [serial]}))
    recent = [imei(n) for n in range(5, 7)]
    left = real - timedelta(hours=3)
    for serial, h in zip(recent, (1, 0.5)):
        clock.at = left - timedelta(hours=h)
        _ok(manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [serial]}))
    clock.at = left
    _ok(manager.post("/move", {"location": "TEST-BENCH", "serials": recent}))
    clock.at = None

    body = _report(manager, 4)
    week0 = stats.week_start(t0).isoformat()
    recent_week = stats.week_start(left).isoformat()
    assert body["rows"] == [
        {"location": "A1", "status": "in_stock", "sku": "PHONE", "week": week0,
         "units": 4, "median_hours": 5.0, "p90_hours": 7.4},
        {"location": "A1", "status": "in_stock", "sku": "PHONE", "week": recent_week,
         "units": 2, **{k: v for k, v in stats.summarise([1.0, 0.5]).items() if k != "units"}},
        {"location": "TEST-BENCH", "status": "in_stock", "sku": "PHONE", "week": week0,
         "units": 4, "median_hours": 2.5, "p90_hours": 7.9}]
    with app.app_context():  # the finished week's figures were kept, and read back
        assert db.session.get(StageWeek, stats.week_start(t0)) is not None
    assert body == _report(manager, 4)  # read again: the same
    assert body["stuck_total"] == 6  # four at A2 for weeks, two at TEST-BENCH for 3 hours
    assert [s["serial"] for s in body["stuck"][:4]] == old  # longest first
    # A week outside the window is left out.
    assert {r["week"] for r in _report(manager, 2)["rows"]} <= {recent_week}


def test_caught_up_bit_by_bit_equals_rebuilt_from_nothing(app, manager, clock, monkeypatch):
    """Histories over five weeks with moves, quarantine and release, the report run between
    batches (a few events a catch-up step), then more events: some now, some written late
    into a week already summarised. The answer equals a full rebuild's and the one worked
    out in Python from every event."""
    monkeypatch.setattr(stays, "CHUNK", 3)
    setup_shop(manager)
    real = utcnow()
    start = datetime.combine(stats.week_start(real) - timedelta(weeks=5), time(9))
    units = [imei(n) for n in range(1, 9)]
    for n, serial in enumerate(units):
        clock.at = start + timedelta(hours=7 * n)
        _ok(manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [serial]}))
    plan = []  # (hours after start, action, body)
    for n, serial in enumerate(units):
        plan.append((40 + 9 * n, "/move", {"location": "TEST-BENCH", "serials": [serial]}))
        plan.append((200 + 13 * n, "/move", {"location": "A2", "serials": [serial]}))
    for serial in units[:3]:
        plan.append((300, "/quarantine", {"serials": [serial], "reason": "dented",
                                          "location": "Q"}))
        plan.append((420, "/release", {"serials": [serial], "location": "A1"}))
    for hours, action, body in sorted(plan, key=lambda p: p[0]):
        clock.at = start + timedelta(hours=hours)
        _ok(manager.post(action, body))
        if hours in (200, 300):
            _report(manager, 6)  # catch up part way
    clock.at = None
    first = _report(manager, 6)
    with app.app_context():
        kept = db.session.scalar(select(func.count()).select_from(StageWeek))
    assert kept > 0  # finished weeks are read back from their kept figures

    # More events: two units move now, one (untouched for weeks) is written late into a
    # week already summarised, the way an import of old history would.
    _ok(manager.post("/move", {"location": "TEST-BENCH", "serials": units[6:8]}))
    clock.at = start + timedelta(hours=500)
    _ok(manager.post("/move", {"location": "TEST-BENCH", "serials": [units[5]]}))
    clock.at = None
    caught_up = _report(manager, 6)
    assert caught_up != first
    assert caught_up["rows"] == _from_the_events(app, 6)
    rebuilt = _rebuilt_report(app, manager, 6)
    assert caught_up["rows"] == rebuilt["rows"]
    assert caught_up["stuck_total"] == rebuilt["stuck_total"]
    assert [s["serial"] for s in caught_up["stuck"]] == [s["serial"] for s in rebuilt["stuck"]]


def test_a_migrated_shop_gets_its_stays_built(app, manager):
    """The migration that adds the tables builds them from the events already there."""
    from flask_migrate import downgrade, upgrade
    setup_shop(manager)
    serials = [imei(n) for n in range(1, 4)]
    _ok(manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": serials}))
    _ok(manager.post("/move", {"location": "TEST-BENCH", "serials": serials}))
    before = _report(manager, 2)
    assert before["rows"]
    with app.app_context():
        downgrade(revision="0936958c53db")
        upgrade()
        assert db.session.scalar(select(func.count()).select_from(StageStay)) == 6
    assert _report(manager, 2) == before


@pytest.mark.postgresql
def test_an_event_committed_after_a_higher_one_is_not_missed(app, manager):
    """PostgreSQL hands out ids in one order and commits in another: the catch-up must not
    step over an id still being written, and takes it once it is in."""
    setup_shop(manager)
    serials = [imei(n) for n in range(1, 3)]
    _ok(manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": serials}))
    _report(manager, 1)
    with app.app_context():
        ids = dict(db.session.execute(select(Serial.serial, Serial.id)).all())
        bench = db.session.scalar(select(Location.id).where(Location.code == "TEST-BENCH"))
        a1 = db.session.scalar(select(Location.id).where(Location.code == "A1"))

        a2 = db.session.scalar(select(Location.id).where(Location.code == "A2"))

        def move(conn, serial, to=bench):
            conn.execute(insert(Event).values(
                serial_id=ids[serial], type="move", from_status="in_stock",
                to_status="in_stock", from_location_id=a1, to_location_id=to,
                at=utcnow(), source="manual"))
        slow = db.engine.connect()
        slow_tx = slow.begin()
        move(slow, serials[0])  # takes the lower id, commits last
        with db.engine.begin() as conn:
            move(conn, serials[1])
    caught = {(r["location"], r["units"]) for r in _report(manager, 1)["rows"]}
    assert caught == {("A1", 1)}  # the second unit's move is in; the first's is not yet
    slow_tx.commit()
    slow.close()
    with app.app_context():  # and the first unit moves on before the next report: its
        with db.engine.begin() as conn:  # late event is rebuilt, this one added once
            move(conn, serials[0], a2)
    caught = {(r["location"], r["units"]) for r in _report(manager, 1)["rows"]}
    assert caught == {("A1", 2), ("TEST-BENCH", 1)}
    assert _report(manager, 1)["rows"] == _from_the_events(app, 1)
