"""Stocktakes (cycle counts): start one, count serials into it, close it, resolve what it
found different. The comparison itself is pure (serialapp/stocktake.py); this module reads
the two sets in bulk and writes.

Counting changes no serial: a scan is a row of the count (who, where, when, how), once per
serial per count (unique key), so several people scanning one unit at once count it once and
a resent offline scan adds nothing. Each scan is a step like any action's (steps._run_steps:
its own savepoint, committed in groups, and recorded for an Idempotency-Key), which also
takes a shared lock on the count's row (PostgreSQL), so closing (an UPDATE of that row)
waits for the scans in flight and a scan after the close is refused: none is lost between
the two.

Resolving a difference is an ordinary event on the serial (move, found, mark_missing,
receive, quarantine), in the same step as the difference's own `resolution`, so the two
are written together or not at all."""
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from .. import keylock, lifecycle, messages, steplog, stocktake
from ..errors import StepError, refusal, refuse
from ..extensions import db
from ..hotpath import Prepared
from ..models import (Location, Serial, Stocktake, StocktakeDifference, StocktakeScan, User,
                      utcnow)
from .base import Actor, Outcome, _Conflict
from .lookups import _interpret, canonical_serial, find_serial, get_location, get_product
from .orders import _unit_by_id
from .receive import _receive_one, _ReceiveContext
from .steps import _next, _ok, _place, _run_steps, _scanned, _transition

# Ids go to the database in lists of this many (SQLite's bound-parameter limit is 32,766).
CHUNK = 900


def get_count(count_id) -> Stocktake:
    take = db.session.get(Stocktake, count_id) if isinstance(count_id, int) else None
    if take is None:
        raise refuse(404, "unknown_stocktake", value=count_id)
    return take


def title(take: Stocktake) -> str:
    """What a count is of, as the lists say it: "A1", "PHONE", "PHONE at A1", "the whole site"."""
    if take.location is not None and take.product is not None:
        return f"{take.product.sku} at {take.location.code}"
    if take.location is not None:
        return take.location.code
    if take.product is not None:
        return take.product.sku
    return "the whole site"


def start(actor: Actor, *, location=None, sku=None) -> Stocktake:
    """Open a count of a location, a product, both, or (neither) the whole site. One open
    count per scope: a second manager starting the same count joins the first."""
    place = get_location(location, required=False)
    product = get_product(sku)
    scope = (place.id if place else None, product.id if product else None)
    already = db.session.scalar(select(Stocktake).where(
        Stocktake.status == stocktake.OPEN,
        Stocktake.location_id.is_(None) if scope[0] is None else Stocktake.location_id == scope[0],
        Stocktake.product_id.is_(None) if scope[1] is None else Stocktake.product_id == scope[1]))
    if already is not None:
        raise refuse(409, "stocktake_already_open", value=title(already))
    take = Stocktake(location_id=scope[0], product_id=scope[1], status=stocktake.OPEN,
                     user_id=actor.user_id, created_at=utcnow())
    db.session.add(take)
    db.session.commit()
    return take


# ---------------------------------------------------------------- counting

@dataclass(frozen=True)
class _Count:
    """What a scan step needs of its count, as plain values (ORM objects expire at commits)."""
    id: int
    product_id: int | None
    product_sku: str | None
    here_id: int | None   # where these scans are made (the count's location, or the one chosen)


# A scan's statements, built once and run on the driver (hotpath): a count is thousands of
# scans. The guard takes FOR SHARE on PostgreSQL, which holds a close (an UPDATE of the
# count's row) off until this step's transaction commits; on SQLite the close waits for the
# one writer anyway.
_COUNT_STATUS_SQL = Prepared(select(Stocktake.status).where(
    Stocktake.id == bindparam("count_id")).with_for_update(read=True))
_ALREADY_SQL = Prepared(select(StocktakeScan.id).where(
    StocktakeScan.stocktake_id == bindparam("count_id"), StocktakeScan.key == bindparam("key")))
_SCAN_COLUMNS = ("stocktake_id", "key", "serial_id", "text", "location_id", "user_id", "at",
                 "source")
_INSERT_SCAN_SQL = Prepared(insert(StocktakeScan).values(
    {c: bindparam(c) for c in _SCAN_COLUMNS}))


def _count_is_open(conn: Connection, count_id: int) -> None:
    row = _COUNT_STATUS_SQL.run(conn, {"count_id": count_id}).fetchone()
    if row is None or row[0] != stocktake.OPEN:
        raise refusal("stocktake_closed")


def _already(conn: Connection, count_id: int, key: str) -> bool:
    return _ALREADY_SQL.run(conn, {"count_id": count_id, "key": key}).fetchone() is not None


def _record(conn: Connection, actor: Actor, count: _Count, key: str, text: str,
            serial_id: int | None) -> None:
    try:
        _INSERT_SCAN_SQL.run(conn, {
            "stocktake_id": count.id, "key": key, "serial_id": serial_id, "text": text[:100],
            "location_id": count.here_id, "user_id": actor.user_id, "at": utcnow(),
            "source": actor.source})
    except conn.dialect.dbapi.IntegrityError:
        raise _Conflict() from None  # someone counted it this instant: read again


def _count_one(conn: Connection, actor: Actor, count: _Count, product_id: int | None,
               text: str, from_photo: bool) -> dict:
    _count_is_open(conn, count.id)
    try:
        unit = find_serial(text, product_id, conn)
    except StepError as exc:
        # Typed or scanned one by one, a serial not known here is counted: the manager
        # decides about it at the close. Read off a photo, it may be any code on the label.
        if exc.code != "unknown_serial" or from_photo:
            raise
        return _count_unknown(conn, actor, count, text)
    if count.product_id is not None and unit.product_id != count.product_id:
        raise refusal("not_in_count", unit.sku, sku=count.product_sku)
    key = f"s{unit.id}"
    if _already(conn, count.id, key):
        return _ok(unit, messages.repeat("counted")) | {"status": "counted"}
    _record(conn, actor, count, key, unit.serial, unit.id)
    expected, note = stocktake.scan_note(unit.status, unit.location_id, count.here_id)
    return {"serial": unit.serial, "sku": unit.sku, "ok": True, "status": "counted",
            "expected": expected, "note": note}


def _count_unknown(conn: Connection, actor: Actor, count: _Count, text: str) -> dict:
    interp = _interpret(text)
    serial_text = interp.serial if interp.kind in ("gs1", "imei", "vin") else interp.text
    if not serial_text:
        raise refusal("invalid_serial/no_serial_in_gs1")
    serial_text = canonical_serial(serial_text)
    place = conn.execute(select(Location.code).where(
        func.upper(Location.code) == serial_text.upper())).scalar()
    if place is not None:
        raise refusal("not_a_serial/location", location=place)
    key = "t" + serial_text.casefold()
    result = {"serial": serial_text, "ok": True, "status": "counted", "expected": False}
    if _already(conn, count.id, key):
        return result | {"note": messages.repeat("counted"), "repeat": True}
    _record(conn, actor, count, key, text if len(text) <= 100 else serial_text, None)
    return result | {"note": "not known here: the manager decides at the close"}


def scan(actor: Actor, count_id, *, serials=None, sku=None, location=None,
         decoded=None) -> Outcome:
    """Count scanned texts (typed, the camera's, or every code of `decoded` photos) into
    an open count. `location`: where, for a count of a product or of the site."""
    take = get_count(count_id)
    log = steplog.current()
    resuming = log is not None and log.plan is not None
    if take.status != stocktake.OPEN and not resuming:
        raise refuse(409, "stocktake_closed")
    if take.location_id is not None:
        if location and str(location).strip().upper() != take.location.code.upper():
            raise refuse(400, "not_in_count/location", location=take.location.code)
        here = take.location_id
    else:
        place = _place(location, required=False)
        here = place.id if place else None
    product = get_product(sku)
    count = _Count(take.id, take.product_id, take.product.sku if take.product else None, here)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)
    product_id = product.id if product else None
    return _run_steps(outcome, [
        (t, lambda c, t=t: _count_one(c, actor, count, product_id, t, t in outcome.from_images))
        for t in texts])


# ---------------------------------------------------------------- comparing

def _chunks(ids: list) -> list:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _expected_query(take: Stocktake):
    query = select(Serial.id, Serial.location_id, Serial.status, Serial.serial).where(
        Serial.status.in_(stocktake.ON_SHELF))
    if take.location_id is not None:
        query = query.where(Serial.location_id == take.location_id)
    if take.product_id is not None:
        query = query.where(Serial.product_id == take.product_id)
    return query


@dataclass
class Reading:
    """Both sides of a count, read in bulk, and their comparison."""
    comparison: stocktake.Comparison
    expected: dict   # serial id -> (location id, status, serial text)
    scans: dict      # scan id -> (serial id, location id, text)
    recorded: dict   # serial id -> Recorded, for scanned serials not expected


def read(conn: Connection, take: Stocktake) -> Reading:
    """What the count expects and what was scanned, compared (stocktake.compare)."""
    expected = {row[0]: row[1:] for row in conn.execute(_expected_query(take))}
    scan_rows = conn.execute(select(StocktakeScan.id, StocktakeScan.serial_id,
                                    StocktakeScan.location_id, StocktakeScan.text)
                             .where(StocktakeScan.stocktake_id == take.id)
                             .order_by(StocktakeScan.id)).all()
    others = [r[1] for r in scan_rows if r[1] is not None and r[1] not in expected]
    recorded = {}
    for chunk in _chunks(others):
        for sid, status, loc in conn.execute(select(Serial.id, Serial.status, Serial.location_id)
                                             .where(Serial.id.in_(chunk))):
            recorded[sid] = stocktake.Recorded(status, loc)
    comparison = stocktake.compare(
        {sid: row[0] for sid, row in expected.items()},
        [stocktake.Scan(r[0], r[1], r[2]) for r in scan_rows], recorded)
    return Reading(comparison, expected, {r[0]: r[1:] for r in scan_rows}, recorded)


def summary(reading: Reading, codes: dict) -> dict:
    """Totals and, per location, expected and found (what the progress bar shows)."""
    cmp = reading.comparison
    places = sorted(cmp.expected_at, key=lambda loc: codes.get(loc) or "")
    return {**cmp.totals(), "scanned": len(reading.scans),
            "by_location": [{"location": codes.get(loc), "expected": cmp.expected_at[loc],
                             "found": cmp.found_at[loc]} for loc in places]}


def location_codes(conn: Connection) -> dict:
    return dict(conn.execute(select(Location.id, Location.code)).all())


def close(actor: Actor, count_id) -> Stocktake:
    """Close an open count: compare, and write its differences and totals, in one
    transaction. Missing, unexpected and found are as of this moment's records."""
    take = get_count(count_id)
    now = utcnow()
    with keylock.sqlite_writer(db.engine), db.engine.begin() as conn:
        # First, the write that claims the close: on SQLite the write lock (no read before
        # it to go stale), on PostgreSQL the row lock scans take a share of.
        claimed = conn.execute(update(Stocktake).where(
            Stocktake.id == take.id, Stocktake.status == stocktake.OPEN).values(
            status=stocktake.CLOSED, closed_at=now, closed_by_id=actor.user_id))
        if claimed.rowcount != 1:
            raise refuse(409, "stocktake_closed")
        reading = read(conn, take)
        codes = location_codes(conn)
        cmp = reading.comparison
        # Where the records put each unit is kept as its code (a snapshot, never joined),
        # so a missing unit's row has no location id to check: 10,000 missing rows are
        # two foreign keys each to check on PostgreSQL, not four.
        rows = []
        for sid in cmp.missing:
            loc, status, text = reading.expected[sid]
            rows.append({"kind": stocktake.MISSING, "reason": None, "serial_id": sid,
                         "scan_id": None, "text": text, "recorded_status": status,
                         "recorded_location": codes.get(loc), "location_id": None})
        for scan_row, reason in cmp.unexpected:
            sid, _, text = reading.scans[scan_row.id]
            if sid in reading.expected:
                loc, status, _ = reading.expected[sid]
            elif sid in reading.recorded:
                loc, status = reading.recorded[sid].location_id, reading.recorded[sid].status
            else:
                loc = status = None
            rows.append({"kind": stocktake.UNEXPECTED, "reason": reason, "serial_id": sid,
                         "scan_id": scan_row.id, "text": text, "recorded_status": status,
                         "recorded_location": codes.get(loc), "location_id": scan_row.location_id})
        if rows:
            conn.execute(insert(StocktakeDifference),
                         [{"stocktake_id": take.id, **row} for row in rows])
        conn.execute(update(Stocktake).where(Stocktake.id == take.id).values(
            summary=summary(reading, codes)))
    db.session.expire_all()
    return take


# ---------------------------------------------------------------- resolving

def _difference_ids(differences) -> list[int]:
    if differences == "all":
        return differences
    if not isinstance(differences, list) or not differences or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in differences):
        raise refuse(400, "invalid_field/differences")
    return list(dict.fromkeys(differences))


def resolve(actor: Actor, count_id, *, action=None, differences=None, sku=None,
            location=None) -> Outcome:
    """Do `action` (stocktake.RESOLUTIONS) about each of a closed count's `differences`
    (their ids, or "all" of those still open that `action` fits). `location`: where to
    move, receive or quarantine, when not where the count saw it; `sku`: what an unknown
    serial is, when the count does not say (a count of a product, a GS1 code)."""
    take = get_count(count_id)
    if take.status != stocktake.CLOSED:
        raise refuse(409, "stocktake_not_closed")
    if action not in stocktake.RESOLUTIONS:
        raise refuse(400, "invalid_field/resolution")
    to = _place(location, required=False)
    product = get_product(sku) or take.product
    count_id = take.id

    def plan() -> list:
        wanted = _difference_ids(differences)
        query = select(StocktakeDifference.id, StocktakeDifference.text).where(
            StocktakeDifference.stocktake_id == count_id).order_by(StocktakeDifference.id)
        if wanted == "all":  # those still open that this action fits, by the records now
            rows = db.session.execute(
                query.add_columns(StocktakeDifference.kind, StocktakeDifference.reason,
                                  Serial.status)
                .outerjoin(Serial, Serial.id == StocktakeDifference.serial_id)
                .where(StocktakeDifference.resolution.is_(None))).all()
            return [[i, text] for i, text, kind, reason, status in rows
                    if action in stocktake.resolutions(kind, reason, status)]
        texts = dict(db.session.execute(query.where(StocktakeDifference.id.in_(wanted))).all())
        return [[i, texts.get(i, f"#{i}")] for i in wanted]
    items = steplog.plan(plan)
    outcome = _run_steps(Outcome(), [
        (text, lambda c, i=i: _resolve_one(c, actor, count_id, action, i, to, product))
        for i, text in items])
    for (i, _), result in zip(items, outcome.results):
        result["difference"] = i
    return outcome


def _resolve_one(conn: Connection, actor: Actor, count_id: int, action: str,
                 difference_id: int, to, product) -> dict:
    d = conn.execute(select(StocktakeDifference.kind, StocktakeDifference.reason,
                            StocktakeDifference.serial_id, StocktakeDifference.text,
                            StocktakeDifference.location_id, StocktakeDifference.resolution)
                     .where(StocktakeDifference.id == difference_id,
                            StocktakeDifference.stocktake_id == count_id)).first()
    if d is None:
        raise refusal("unknown_difference")
    unit = _unit_by_id(conn, d.serial_id) if d.serial_id is not None else None
    status = unit.status if unit else None
    if d.resolution is not None:
        result = {"serial": d.text, "ok": True, "status": status, "repeat": True,
                  "note": messages.repeat("resolved"), "resolution": d.resolution}
        return result | ({"sku": unit.sku} if unit else {})
    if action not in stocktake.resolutions(d.kind, d.reason, status):
        raise refusal("resolution_not_allowed", unit.sku if unit else None)
    here = to.id if to else d.location_id
    note = f"Count {count_id}"
    found = action == stocktake.MOVE_HERE and status == lifecycle.MISSING
    resolution = "found" if found else action
    claimed = conn.execute(update(StocktakeDifference).where(
        StocktakeDifference.id == difference_id, StocktakeDifference.resolution.is_(None))
        .values(resolution=resolution, resolved_by_id=actor.user_id, resolved_at=utcnow()))
    if claimed.rowcount != 1:
        raise _Conflict()  # another manager's tap got there first: read again
    if action == stocktake.IGNORE:
        result = {"serial": d.text, "ok": True, "status": status}
    elif action == stocktake.MARK_MISSING:
        result = _transition(conn, unit, actor, "mark_missing", _next(unit, "mark_missing"),
                             note=note)
    elif unit is not None and action in (stocktake.MOVE_HERE, stocktake.QUARANTINE):
        if here is None:
            raise refusal("missing_field/location", unit.sku)
        kind = "found" if found else "move" if action == stocktake.MOVE_HERE else "quarantine"
        to_status = _next(unit, kind)
        if kind == "move" and unit.location_id == here:
            return _ok(unit, messages.repeat("at", location=unit.location_code))
        result = _transition(conn, unit, actor, kind, to_status, {"location_id": here},
                             note=note)
    else:  # an unknown serial: receive it here (and quarantine it)
        if here is None:
            raise refusal("missing_field/location")
        ctx = _ReceiveContext(location_id=here, product=product, po=None, lot=None, expiry=None)
        result = _receive_one(conn, actor, ctx, d.text)
        if action == stocktake.QUARANTINE:
            new = find_serial(result["serial"], product.id if product else None, conn)
            result = _transition(conn, new, actor, "quarantine", _next(new, "quarantine"),
                                 note=note)
    return result | {"resolution": resolution, "note": stocktake.DONE[resolution]}


def counted_by(conn: Connection, count_id: int) -> list[dict]:
    """Who counted how many, first scan to last."""
    rows = conn.execute(select(User.name, func.count(), func.min(StocktakeScan.at),
                               func.max(StocktakeScan.at))
                        .join(User, User.id == StocktakeScan.user_id)
                        .where(StocktakeScan.stocktake_id == count_id)
                        .group_by(User.name).order_by(User.name)).all()
    return [{"user": name, "scans": n, "first": first, "last": last}
            for name, n, first, last in rows]

