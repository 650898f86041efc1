"""Time in stage, kept: each unit's stays (stage_stays) and finished weeks' figures
(stage_weeks, stage_week_stats), caught up from the events when the report runs.

The scans never write here: their path stays as short as it was. Instead
- stage_stay_marks holds the id of the last event the stays are caught up to. catch_up()
  takes the events after it, CHUNK at a time, each chunk in one transaction with the mark.
  New events (above every id seen before) extend each unit they touch: its open stay is
  closed where the next one begins, and the new stays are added, following the rules of
  stats.stays. A unit's stays are a function of all its events, in id order, so catching
  up in any number of steps gives exactly what one full rebuild gives (tests/integration/
  test_stage_times.py checks it against a rebuild and against stats.stays).
- An id can be seen before a lower one on PostgreSQL: two scans take ids 7 and 8 from the
  sequence and 8 commits first. A missing id is either rolled back (gone for good) or still
  being written; the mark stops below it until the event after it is GAP_WAIT old (a scan's
  transaction lasts milliseconds), and the events after it, seen already, are taken again:
  those units are rebuilt from their whole history (a DELETE and an INSERT ... SELECT with
  window functions), which is right whatever order their events came in. On SQLite the
  catch-up holds the write lock, so no lower id can still appear.
- A week's figures are those of the stays that ended in it. Once the week is over and its
  events are in, they never change: the week is worked out once (summarise) and read back
  from stage_week_stats. Events written late into a summarised week (an import of old
  history) make it forget that week and every week after, which are worked out again."""
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, DateTime, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .. import keylock, lifecycle
from ..extensions import db
from ..models import (Event, Location, Product, Serial, StageStay, StageStayMark, StageWeek,
                      StageWeekStat, utcnow)
from . import stats

REPORTED = (lifecycle.IN_STOCK, lifecycle.QUARANTINED)  # the statuses a place's stay counts in
CHUNK = 2_000  # events per catch-up transaction: SQLite's write lock is held for one chunk
GAP_WAIT = timedelta(minutes=10)
KEEP_WEEKS = 104  # finished weeks kept summarised: as far back as the report goes
LOCK_WAIT_S = 300


# ---------------------------------------------------------------- a stay's length, by the database

class _micros(FunctionElement):
    """end - start in whole microseconds (NULL while the stay is open)."""
    type = BigInteger()
    inherit_cache = True
    name = "stay_micros"


@compiles(_micros, "sqlite")
def _micros_sqlite(element, compiler, **kw):
    # strftime('%s') is whole seconds; the microseconds are the stored text's last six
    # digits (SQLAlchemy writes 'YYYY-MM-DD HH:MM:SS.ffffff'). Integers throughout, so the
    # length is exact and equals Python's end - start.
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return (f"((strftime('%s', {end}) - strftime('%s', {start})) * 1000000"
            f" + (CAST(substr({end}, 21) AS INTEGER) - CAST(substr({start}, 21) AS INTEGER)))")


@compiles(_micros, "postgresql")
def _micros_postgresql(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) * 1000000 AS BIGINT)"


def hours(micros: int) -> float:
    """A stay's hours from its microseconds: the same float as
    (end - start).total_seconds() / 3600, so the figures match the events' own times."""
    return micros / 1e6 / 3600


# ---------------------------------------------------------------- stays from events

_COLUMNS = ("serial_id", "product_id", "location_id", "status", "start_at", "end_at", "micros",
            "start_event_id")


def _stays_of(serial_ids, upto: int):
    """The reported stays of the units whose ids `serial_ids` (a SELECT) gives, or of every
    unit (None), from their histories up to event `upto`, in event order. A stay begins at
    an event that changes the unit's place or status and ends where the next one begins; an
    event that changes neither (none do today) does not end it (the rules of stats.stays).
    Events after `upto` are left to the next step of the catch-up, which extends the stays
    from there: taking them now too would count them twice."""
    order = {"partition_by": Event.serial_id, "order_by": Event.id}
    ev = select(Event.serial_id, Event.id, Event.at, Event.to_status, Event.to_location_id,
                func.lag(Event.to_status).over(**order).label("prev_status"),
                func.lag(Event.to_location_id).over(**order).label("prev_loc")
                ).where(Event.id <= upto)
    if serial_ids is not None:
        ev = ev.where(Event.serial_id.in_(serial_ids))
    ev = ev.subquery()
    starts = select(ev).where(
        ev.c.prev_status.is_(None) | (ev.c.prev_status != ev.c.to_status)
        | ev.c.prev_loc.is_distinct_from(ev.c.to_location_id)).subquery()
    stays = select(starts.c.serial_id, starts.c.id, starts.c.to_location_id.label("loc"),
                   starts.c.to_status.label("status"), starts.c.at.label("start"),
                   # type_: SQLite would hand back the text of the timestamp otherwise
                   func.lead(starts.c.at, type_=DateTime).over(
                       partition_by=starts.c.serial_id, order_by=starts.c.id).label("end")
                   ).subquery()
    return (select(stays.c.serial_id, Serial.product_id, stays.c.loc, stays.c.status,
                   stays.c.start, stays.c.end, _micros(stays.c.start, stays.c.end), stays.c.id)
            .join(Serial, Serial.id == stays.c.serial_id)
            .where(stays.c.loc.is_not(None), stays.c.status.in_(REPORTED)))


def _safe_mark(conn: Connection, after: int, upto: int, now: datetime) -> int:
    """The highest id up to `upto` below which no event can still appear: `upto`, or the
    last id before a missing one that may still be being written (PostgreSQL only)."""
    if conn.dialect.name == "sqlite":
        return upto
    before = Event.__table__.alias("before")
    first_after_gap = conn.scalar(
        select(func.min(Event.id)).where(
            Event.id > after + 1, Event.id <= upto, Event.at >= now - GAP_WAIT,
            ~select(before.c.id).where(before.c.id == Event.id - 1).exists()))
    if first_after_gap is None:
        return upto
    return conn.scalar(select(func.max(Event.id)).where(Event.id < first_after_gap,
                                                        Event.id > after)) or after


@contextmanager
def _writing(engine):
    """A write transaction on a connection of its own: SQLite's write slot taken at once
    (in turn with the scans, keylock.sqlite_writer), PostgreSQL on one snapshot throughout
    (REPEATABLE READ: the events it counts are the events it rebuilds from)."""
    if engine.dialect.name == "sqlite":
        with keylock.sqlite_writer(engine), engine.connect() as conn:
            # Not synced to disk at each commit (the app's connections are, FULL): these
            # rows are worked out again from the events if a power cut loses them, and the
            # mark goes back with them. A sync per chunk took longer than the chunk.
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.commit()
            try:
                tx = conn.begin()
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    tx.rollback()
                    raise
                tx.commit()
            finally:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
                conn.commit()
    else:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                yield conn


def _forget_weeks_from(conn: Connection, week: date) -> None:
    conn.execute(delete(StageWeekStat).where(StageWeekStat.week >= week))
    conn.execute(delete(StageWeek).where(StageWeek.week >= week))


def _set_mark(conn: Connection, last_event_id: int, processed_to: int, now: datetime) -> None:
    values = {"last_event_id": last_event_id, "processed_to": processed_to, "at": now}
    if conn.execute(update(StageStayMark).where(StageStayMark.id == 1)
                    .values(**values)).rowcount == 0:
        conn.execute(insert(StageStayMark).values(id=1, **values))


def _rebuild_units(conn: Connection, taken, upto: int) -> None:
    """The stays of every unit an event in `taken` touches, from its whole history up to
    `upto`: right whatever order its events came in."""
    touched = select(Event.serial_id).where(taken)
    conn.execute(delete(StageStay).where(StageStay.serial_id.in_(touched)))
    conn.execute(insert(StageStay).from_select(_COLUMNS, _stays_of(touched, upto)))


def _extend_units(conn: Connection, after: int, taken) -> None:
    """The stays the new events in `taken` make, when each touched unit's earlier events
    (all at or below `after`) are in already: its open stay is closed where its next one
    begins, and the new ones are added. Only those rows are written: rewriting every stay
    of every touched unit touched pages all over the indexes, and took seconds a chunk."""
    events = conn.execute(select(Event.serial_id, Event.id, Event.at, Event.to_status,
                                 Event.to_location_id).where(taken)
                          .order_by(Event.serial_id, Event.id)).all()
    units = sorted({e.serial_id for e in events})
    last_before = (select(func.max(Event.id)).where(Event.serial_id.in_(units),
                                                    Event.id <= after)
                   .group_by(Event.serial_id))
    state = {sid: (status, loc) for sid, status, loc in conn.execute(
        select(Event.serial_id, Event.to_status, Event.to_location_id)
        .where(Event.id.in_(last_before))).all()}
    # "Open" is looked at per row, not in WHERE: there, SQLite walked the open stays of
    # every unit through the end_at index (650,000 of them in bench/records.py).
    open_stays = {sid: (row_id, start) for row_id, sid, start, is_open in conn.execute(
        select(StageStay.id, StageStay.serial_id, StageStay.start_at,
               StageStay.end_at.is_(None)).where(StageStay.serial_id.in_(units))).all()
        if is_open}
    products = dict(conn.execute(select(Serial.id, Serial.product_id)
                                 .where(Serial.id.in_(units))).all())
    starts: dict[int, list] = defaultdict(list)
    for e in events:  # the stays.stays rules: a change of place or status begins a stay
        if state.get(e.serial_id) != (e.to_status, e.to_location_id):
            starts[e.serial_id].append(e)
            state[e.serial_id] = (e.to_status, e.to_location_id)
    closed, added = [], []
    for sid, begun in starts.items():
        if sid in open_stays:
            row_id, start = open_stays[sid]
            closed.append({"row": row_id, "end": begun[0].at,
                           "micros": _micros_between(start, begun[0].at)})
        for n, e in enumerate(begun):
            if e.to_location_id is None or e.to_status not in REPORTED:
                continue
            end = begun[n + 1].at if n + 1 < len(begun) else None
            added.append({"serial_id": sid, "product_id": products[sid],
                          "location_id": e.to_location_id, "status": e.to_status,
                          "start_at": e.at, "end_at": end,
                          "micros": None if end is None else _micros_between(e.at, end),
                          "start_event_id": e.id})
    if closed:
        conn.execute(update(StageStay).where(StageStay.id == bindparam("row")).values(
            end_at=bindparam("end"), micros=bindparam("micros")), closed)
    if added:
        conn.execute(insert(StageStay), added)


def _micros_between(start: datetime, end: datetime) -> int:
    return (end - start) // timedelta(microseconds=1)


def _catch_up_chunk(conn: Connection, after: int, seen: int, safe: int | None,
                    now: datetime):
    """Take the next CHUNK events after `after` into the stays. Returns the last id taken
    and the mark's new value, or None when there is nothing after `after`. Events above
    `seen` are new: each touched unit's stays are extended. Events at or below it were
    taken before, past an id that was missing then: the units they touch are rebuilt."""
    upto = conn.scalar(select(Event.id).where(Event.id > after).order_by(Event.id)
                       .offset(CHUNK - 1).limit(1))
    if upto is None:
        upto = conn.scalar(select(func.max(Event.id)).where(Event.id > after))
        if upto is None:
            return None
    if after < seen:
        upto = min(upto, seen)  # a chunk is either all seen before or all new
    if safe is None:
        mark = _safe_mark(conn, after, upto, now)
        safe = None if mark == upto else mark
    taken = (Event.id > after) & (Event.id <= upto)
    earliest = conn.scalar(select(func.min(Event.at)).where(taken))
    if after < seen:
        _rebuild_units(conn, taken, upto)
    else:
        _extend_units(conn, after, taken)
    _forget_weeks_from(conn, stats.week_start(earliest))
    _set_mark(conn, upto if safe is None else safe, max(seen, upto), now)
    return upto, safe


def catch_up(now: datetime | None = None) -> None:
    """Bring the stays and the finished weeks' figures up to the events written so far."""
    engine = db.engine
    now = now or utcnow()
    with keylock.held(engine, 0, "stage_stays", LOCK_WAIT_S):
        with engine.connect() as conn:
            mark = conn.execute(select(StageStayMark.last_event_id, StageStayMark.processed_to)
                                .where(StageStayMark.id == 1)).first()
        after, seen = tuple(mark) if mark else (0, 0)
        safe = None
        while True:
            with _writing(engine) as conn:
                step = _catch_up_chunk(conn, after, seen, safe, now)
            if step is None:
                break
            after, safe = step
            seen = max(seen, after)
        summarise(engine, now)


def rebuild(conn: Connection, now: datetime | None = None) -> None:
    """Everything worked out afresh from the events in one statement (the migration that
    adds these tables; repairs). On SQLite it holds the write lock while it runs."""
    now = now or utcnow()
    for table in (StageWeekStat, StageWeek, StageStay):
        conn.execute(delete(table))
    upto = conn.scalar(select(func.max(Event.id))) or 0
    # Millions of rows go in quicker with the indexes built after them than kept up row by row.
    indexes = list(StageStay.__table__.indexes)
    for index in indexes:
        index.drop(conn)
    conn.execute(insert(StageStay).from_select(_COLUMNS, _stays_of(None, upto)))
    for index in indexes:
        index.create(conn)
    _set_mark(conn, _safe_mark(conn, 0, upto, now), upto, now)
    for week in _weeks_to_summarise(conn, now):
        _summarise_week(conn, week, now)


# ---------------------------------------------------------------- weeks

def _day_start(day: date) -> datetime:
    return datetime.combine(day, time())


def figures(conn: Connection, week: date) -> dict[tuple, dict]:
    """The stays that ended in the week starting `week`, per (location id, status, product
    id): count, median and 90th-percentile hours."""
    rows = conn.execute(
        select(StageStay.location_id, StageStay.status, StageStay.product_id, StageStay.micros)
        .where(StageStay.end_at >= _day_start(week),
               StageStay.end_at < _day_start(week + timedelta(days=7))))
    groups: dict[tuple, list[float]] = defaultdict(list)
    for loc, status, product, micros in rows:
        groups[(loc, status, product)].append(hours(micros))
    return {key: stats.summarise(values) for key, values in groups.items()}


def _weeks_to_summarise(conn: Connection, now: datetime) -> list[date]:
    """Finished weeks (over for GAP_WAIT: their last events are in), as far back as the
    report goes, not yet summarised, from the first week any stay ended."""
    last = stats.week_start(now - GAP_WAIT)
    first = last - timedelta(weeks=KEEP_WEEKS)
    earliest = conn.scalar(select(func.min(StageStay.end_at)))
    if earliest is None:
        return []
    first = max(first, stats.week_start(earliest))
    done = set(conn.scalars(select(StageWeek.week).where(StageWeek.week >= first)))
    weeks = []
    while first < last:
        if first not in done:
            weeks.append(first)
        first += timedelta(days=7)
    return weeks


def _summarise_week(conn: Connection, week: date, now: datetime) -> None:
    rows = [{"week": week, "location_id": loc, "status": status, "product_id": product,
             "units": f["units"], "median_hours": f["median_hours"], "p90_hours": f["p90_hours"]}
            for (loc, status, product), f in figures(conn, week).items()]
    if rows:
        conn.execute(insert(StageWeekStat), rows)
    conn.execute(insert(StageWeek).values(week=week, at=now))


def summarise(engine, now: datetime) -> None:
    """Work out and keep the figures of finished weeks not yet kept, a week a transaction."""
    with engine.connect() as conn:
        weeks = _weeks_to_summarise(conn, now)
    for week in weeks:
        with _writing(engine) as conn:
            _summarise_week(conn, week, now)


# ---------------------------------------------------------------- what the report reads

def week_rows(weeks: list[date]) -> dict[tuple, dict]:
    """Per (week, location id, status, product id): the figures, kept ones read back and
    the rest (this week, usually) worked out from the stays."""
    conn = db.session.connection()
    kept = set(conn.scalars(select(StageWeek.week).where(StageWeek.week.in_(weeks))))
    result: dict[tuple, dict] = {}
    if kept:
        for row in conn.execute(select(StageWeekStat).where(StageWeekStat.week.in_(kept))
                                .order_by(StageWeekStat.week)).mappings():
            result[(row["week"], row["location_id"], row["status"], row["product_id"])] = {
                "units": row["units"], "median_hours": row["median_hours"],
                "p90_hours": row["p90_hours"]}
    for week in weeks:
        if week not in kept:
            for (loc, status, product), f in figures(conn, week).items():
                result[(week, loc, status, product)] = f
    return result


def stuck(before: datetime, limit: int) -> tuple[int, list]:
    """Stays still open that began before `before`: how many, and the `limit` longest as
    (serial, sku, location code, status, start)."""
    conn = db.session.connection()
    open_long = (StageStay.end_at.is_(None), StageStay.start_at < before)
    total = conn.scalar(select(func.count()).select_from(StageStay).where(*open_long))
    longest = select(StageStay).where(*open_long).order_by(
        StageStay.start_at, StageStay.id).limit(limit).subquery()
    rows = conn.execute(
        select(Serial.serial, Product.sku, Location.code, longest.c.status, longest.c.start_at)
        .select_from(longest)
        .join(Serial, Serial.id == longest.c.serial_id)
        .join(Product, Product.id == longest.c.product_id)
        .join(Location, Location.id == longest.c.location_id)
        .order_by(longest.c.start_at, longest.c.id)).all()
    return total, rows
