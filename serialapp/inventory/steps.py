"""How serial state is written: each serial its own transaction on the service's own
connection, a conditional UPDATE on the unit's version plus its event, lost races read
again, and (for a keyed request) each step's result stored with it (steplog)."""
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import chain, identifiers, keylock, lifecycle, messages, steplog
from ..errors import StepError, refusal, refuse
from ..extensions import db, session_in_use
from ..hotpath import Prepared, connection_to_write, on_driver, reading
from ..models import Event, Location, Product, Serial, utcnow
from .base import MAX_SERIALS_PER_REQUEST, Actor, Outcome, _Conflict
from .lookups import Unit, _interpret_text, find_serial, get_location, get_product, product_by_gtin

_EVENT_COLUMNS = ("serial_id", "type", "from_status", "to_status", "from_location_id",
                  "to_location_id", "purchase_order_id", "sales_order_id", "customer_id",
                  "user_id", "at", "source", "note", "warranty_return", "hash", "prev")
_INSERT_EVENT_SQL = Prepared(insert(Event).values({c: bindparam(c) for c in _EVENT_COLUMNS}))


@lru_cache(maxsize=None)
def _update_statement(columns: tuple[str, ...]) -> Prepared:
    """UPDATE ... WHERE id = :id AND version = :version, for one set of changed columns.
    `status` is among them only when it changes: a move leaves it alone, and an UPDATE
    that names a column rewrites every index on it (and fires the stock counts' trigger)
    even when the value stays the same."""
    return Prepared(update(Serial)
                    .where(Serial.id == bindparam("_id"), Serial.version == bindparam("_version"))
                    .values(version=bindparam("_new_version"), history_head=bindparam("_head"),
                            **{name: bindparam(name) for name in columns}))


def _transition(conn: Connection, unit: Unit, actor: Actor, event_type: str, to_status: str,
                changes: dict | None = None, note: str | None = None, **event_fields) -> dict:
    """The one place serial state changes: conditional UPDATE on version + its Event.
    Prebuilt statements on the step's connection: this is the hot path of every scan.
    The event is chained to the unit's last one (chain.py); the new head is written by the
    same conditional UPDATE, so two racing steps cannot both extend one head."""
    changes = dict(changes or {})
    event = {
        "serial_id": unit.id, "type": event_type, "from_status": unit.status,
        "to_status": to_status, "from_location_id": unit.location_id,
        "to_location_id": changes.get("location_id", unit.location_id),
        "user_id": actor.user_id, "source": actor.source, "note": note, "at": utcnow(),
        "purchase_order_id": None, "sales_order_id": None, "customer_id": None,
        "warranty_return": None, **event_fields}
    head = chain.written_hash(unit.head, product_id=unit.product_id, serial=unit.serial, **event)
    if to_status != unit.status:
        changes["status"] = to_status
    result = _update_statement(tuple(sorted(changes))).run(conn, {
        "_id": unit.id, "_version": unit.version, "_new_version": unit.version + 1,
        "_head": head, **changes})
    if result.rowcount != 1:
        raise _Conflict()
    event["hash"], event["prev"] = head, chain.link(unit.head)
    _INSERT_EVENT_SQL.run(conn, event)
    return {"serial": unit.serial, "sku": unit.sku, "ok": True, "status": to_status}


def _bump_line(conn: Connection, model, line_id: int, counter: str, delta: int) -> bool:
    """Add `delta` to an order line's counter unless that would pass `qty` (or go below 0)."""
    column = getattr(model, counter)
    guard = column < model.qty if delta > 0 else column > 0
    result = conn.execute(
        update(model).where(model.id == line_id, guard).values({counter: column + delta}))
    return result.rowcount == 1


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


# A request's steps commit in groups: each serial is still its own atomic step (a
# SAVEPOINT that a refusal or a lost race rolls back alone), but one commit, and one wait
# for the disk (_sync_log), carries up to GROUP_STEPS of them. Nothing is answered before
# its commit is on the disk. The bounds keep the write lock (SQLite) and row locks (PostgreSQL) short
# enough that a single scan queued behind a batch still answers within a few ms.
GROUP_STEPS = 50
GROUP_S = 0.025


class _Group:
    """The open transaction a run of steps shares, committed every GROUP_STEPS steps or
    GROUP_S seconds and at the end; with `whole`, only at the end (all or nothing).
    `pending` counts the steps done in the open transaction, not yet committed."""

    def __init__(self, conn: Connection, log: steplog.StepLog | None, whole: bool = False):
        self.conn, self.log, self.whole = conn, log, whole
        self.tx = None
        self.gate = None
        self.pending = 0
        self.started = 0.0

    def savepoint(self):
        """Where one step starts: a SAVEPOINT in the open transaction, or, for the first
        step of a transaction, the transaction itself (nothing else in it to keep when
        the step is undone: a single scan pays no savepoint)."""
        if self.tx is None:
            self.begin()
            return _WholeTransaction(self)
        return _Savepoint(self.conn)

    def begin(self) -> None:
        """Open the group's transaction."""
        self.gate = keylock.sqlite_writer(self.conn.engine)
        self.gate.__enter__()
        self.tx = self.conn.begin()
        if self.conn.dialect.name == "sqlite":
            # Take the write lock now: a deferred transaction that read first could
            # not upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT), and
            # would have to throw away every step of the group.
            # NORMAL: the commit writes the log without waiting for the disk; the
            # disk is waited for after the write lock is let go (_sync_log), before
            # anything is answered.
            on_driver(self.conn, "PRAGMA synchronous=NORMAL", "BEGIN IMMEDIATE")
        self.started = time.monotonic()

    def done_one(self, more: bool = True) -> None:
        """One more step done; commit the group if it is full and `more` steps follow (after
        the last one, the caller commits, or holds the group for the answer)."""
        self.pending += 1
        if more and not self.whole and (self.pending >= GROUP_STEPS
                               or time.monotonic() - self.started >= GROUP_S):
            self.commit()

    def commit(self, write=None) -> None:
        """Commit the open transaction, with the step log's rows in it (or, given, what
        `write(conn)` writes instead: a held group's final answer). If that fails, its
        steps are not done (`pending` still counts them) and the error goes on to the
        caller."""
        if self.tx is not None:
            tx, self.tx = self.tx, None
            try:
                if write is not None:
                    write(self.conn)
                elif self.log is not None:
                    self.log.write_rows(self.conn)
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                if self.log is not None:
                    self.log.rolled_back()
                raise
            finally:
                self._open_gate()
            _sync_log(self.conn.engine)
            self.pending = 0
            if self.log is not None:
                self.log.recorded()

    def rollback(self) -> None:
        """Undo the open transaction (`pending` still counts the steps it undid)."""
        if self.tx is not None:
            tx, self.tx = self.tx, None
            try:
                tx.rollback()
            finally:
                self._open_gate()
            if self.log is not None:
                self.log.rolled_back()

    def close(self) -> None:
        """Let go of a held group: roll back what is still open, and close its connection."""
        try:
            self.rollback()
        finally:
            self.conn.close()

    def _open_gate(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            if self.conn.dialect.name == "sqlite":
                on_driver(self.conn, "PRAGMA synchronous=FULL")  # as the pool gave it
            gate.__exit__(None, None, None)


def _sync_log(engine) -> None:
    """Wait until SQLite's write-ahead log is on the disk: the steps just committed (and
    every commit before them, the log being written in order) survive a power cut.

    A group commits with synchronous=NORMAL and syncs here, after SQLite's write lock is
    let go: the next writer does its steps while this one waits for the disk, and writers
    waiting at once share one flush. With FULL, each commit waited for the disk inside
    the lock, and the lock was the limit on scans per second. Nothing is answered before
    this returns, so an answered scan is as durable as with FULL; a commit not yet synced
    when the power goes is lost whole (the log's checksums end it), and was not answered:
    its phone sends it again with its Idempotency-Key."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    try:
        fd = os.open(engine.url.database + "-wal", os.O_RDONLY)
    except FileNotFoundError:  # not in WAL mode (a file system that refused it)
        fd = os.open(engine.url.database, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Savepoint:
    """A SAVEPOINT on the driver's cursor: a step of a batch is undone alone. SQLAlchemy's
    begin_nested() costs some 25 times more per step; the outer transaction stays
    SQLAlchemy's, and each savepoint is released or rolled back before the next."""

    def __init__(self, conn: Connection):
        self.cursor = conn.connection.cursor()
        self.cursor.execute("SAVEPOINT step")

    def commit(self) -> None:
        self.cursor.execute("RELEASE SAVEPOINT step")
        self.cursor.close()

    def rollback(self) -> None:
        self.cursor.execute("ROLLBACK TO SAVEPOINT step")
        self.cursor.execute("RELEASE SAVEPOINT step")
        self.cursor.close()


class _WholeTransaction:
    """The first step of a transaction: undone by rolling the transaction back."""

    def __init__(self, group: "_Group"):
        self.group = group

    def commit(self) -> None:
        pass  # kept in the open transaction, committed with the group

    def rollback(self) -> None:
        self.group.rollback()


def _run_step(group: _Group, text: str, step, index: int = 0) -> dict:
    """Run `step(conn)` for one serial in a savepoint of the group's transaction, retrying
    lost races; a refusal is its result. With a step log (a keyed request), the result is
    stored in the transaction that does the step. Anything else that goes wrong (a bug, a
    database failure) is raised, with the step's savepoint rolled back: the step did
    nothing."""
    log = group.log
    failure: BaseException | None = None
    for attempt in range(12):
        try:
            savepoint = group.savepoint()
        except OperationalError as exc:  # BEGIN IMMEDIATE waited its whole busy timeout
            if not _is_locked(exc) or group.pending:
                raise
            group.rollback()
            time.sleep(0.005 * (attempt + 1))
            continue
        try:
            result = step(group.conn)
            savepoint.commit()
        except StepError as exc:
            savepoint.rollback()
            result = exc.as_result(text)
        except _Conflict:
            savepoint.rollback()
            continue  # someone else changed it: read again and decide again
        except IntegrityError as exc:
            savepoint.rollback()
            # Most likely a racing request inserted the same row: read again. One that
            # stays through every try is no race but a real failure (raised below).
            failure = exc
            continue
        except OperationalError as exc:
            savepoint.rollback()
            if not _is_locked(exc):
                raise
            time.sleep(0.005 * (attempt + 1))
            continue
        except BaseException:
            savepoint.rollback()
            raise
        if log is not None:
            log.record(index, result)
        return result
    if failure is not None:
        raise failure
    return refusal("busy/step").as_result(text)


def _not_done(text: str, key: str) -> dict:
    return {"serial": text, "ok": False, "error": {"code": "not_done",
                                                    "message": messages.say(key)}}


def _run_steps(outcome: "Outcome", items: list[tuple[str, object]], *,
               whole: bool = False, last: bool = False, finish=None) -> "Outcome":
    """Each (text, step) in order, each its own atomic step, committed in groups on the
    service's connection; all committed when this returns.

    An unexpected error in a step (a bug, a database failure) stops the run there and is
    logged; the answer stays honest: the steps before it answer as done (they are
    committed), it and the steps after it answer `not_done` (nothing of theirs is), and
    the request is left unfinished, so that a retry with its Idempotency-Key does the rest.
    With `whole` (a ship of several serials), the steps are one transaction: all of them
    are done, or, when one is refused or fails, none is (the others answer `not_done`).

    The steps run on a connection of the service's own: cheaper than the ORM session's
    commit, which the hot path does not need. The request's session writes nothing while
    steps run, so the two never wait on each other.

    `last`: the service writes nothing after these steps. If the request's step log may
    hold (its answer is made of the steps' results alone), the last group is then left
    open, on its connection, for the answer to be committed with it (steplog.StepLog.held;
    idempotency._store commits or lets go of it).

    `finish(conn)`: what the service writes after its steps (an order's status after a
    pick), in the last group's transaction, so that it costs no commit of its own and
    is held with the answer like the steps; if no group is open (every step refused, or
    done by an earlier attempt), in a transaction of its own. Not after a whole run that
    was refused: nothing of it is done."""
    log = steplog.current()
    hold = last and not whole and log is not None and log.may_hold
    results: list[tuple[str, dict]] = []
    in_step = False  # an error now is the step's own, else a commit's
    unfinished = False
    conn = connection_to_write(db.engine)
    held = False
    try:
        group = _Group(conn, log, whole=whole)
        try:
            for index, (text, step) in enumerate(items):
                if log is not None and index in log.done:  # done by an earlier attempt
                    results.append((text, log.done[index]))
                    continue
                in_step = True
                result = _run_step(group, text, step, index)
                in_step = False
                results.append((text, result))
                if whole and not result["ok"]:
                    break  # refused: nothing of the whole is done (rolled back below)
                group.done_one(more=index + 1 < len(items))
            if whole and results and not results[-1][1]["ok"]:
                group.rollback()
                culprit = len(results) - 1
                results = [(t, r if i == culprit else _not_done(t, "not_done/whole"))
                           for i, (t, r) in enumerate(results)] + \
                          [(t, _not_done(t, "not_done/whole")) for t, _ in items[culprit + 1:]]
            else:
                if finish is not None:
                    if group.tx is None:
                        group.begin()
                    finish(group.conn)
                if hold and group.tx is not None:
                    log.held, held = group, True  # committed with the answer
                else:
                    group.commit()
        except Exception as exc:  # noqa: BLE001  (anything: the answer says what was done)
            unfinished = True
            results = _after_failure(group, items, results, whole, exc,
                                     len(results) if in_step else None)
        except BaseException:
            group.rollback()
            raise
    finally:
        if not held:
            conn.close()
        if session_in_use():  # what the session read before the steps may have changed
            db.session.expire_all()
    for text, result in results:
        outcome.add(text, result)
    if unfinished:
        outcome.unfinished = True
        if log is not None:
            log.unfinished = True
    return outcome


def _after_failure(group: _Group, items, results, whole: bool, exc: Exception,
                   failed: int | None) -> list:
    """The honest results after an unexpected error in step `failed` (the next one after
    `results`), or, with None, in committing the steps done so far."""
    stopped = len(results)  # the first step not answered yet
    _log_failure(exc, stopped, len(items))
    if not whole and group.tx is not None:
        # The failed step's savepoint was rolled back: the steps before it in the open
        # transaction are whole, and committed now. If even that fails, they are not done.
        try:
            group.commit()
        except Exception as again:  # noqa: BLE001
            _log_failure(again, stopped, len(items))
    try:
        group.rollback()  # whole: nothing is kept; else only a transaction that failed
    except Exception as again:  # noqa: BLE001  (a dead connection: nothing of it is kept)
        _log_failure(again, stopped, len(items))
    undone = len(results) if whole else group.pending  # the last ones were never committed
    group.pending = 0
    done = len(results) - undone

    def why(i: int) -> str:
        if i == failed:
            return "not_done/failed"
        if whole:
            # undone because another unit of the order failed, or the whole one's commit
            return "not_done/whole" if failed is not None else "not_done/failed"
        return "not_done/failed" if i < stopped else "not_done/after"
    return results[:done] + [(t, _not_done(t, why(i))) for i, (t, _) in enumerate(items)
                             if i >= done]


def _log_failure(exc: Exception, index: int, total: int) -> None:
    """The traceback to the app's log; the request's log line names the error."""
    from flask import current_app, has_app_context

    from .. import requestlog
    if has_app_context():
        current_app.logger.error("a batch of %d steps failed unexpectedly at step %d; the "
                                 "steps not committed answer not_done", total, index + 1,
                                 exc_info=exc)
    requestlog.note_error(exc)


def _texts(serials) -> list[str]:
    if serials is None:
        raise refuse(400, "missing_field/serials")
    if isinstance(serials, str):
        serials = serials.splitlines()
    if not isinstance(serials, list) or not all(isinstance(s, (str, int)) for s in serials):
        raise refuse(400, "invalid_field/serials")
    texts = [str(s).strip() for s in serials if str(s).strip()]
    if not texts:
        raise refuse(400, "missing_field/serials")
    if len(texts) > MAX_SERIALS_PER_REQUEST:
        raise refuse(400, "too_many", limit=MAX_SERIALS_PER_REQUEST)
    return texts


def _scanned(serials, decoded: list[str] | None, outcome: Outcome) -> tuple[list[str], list]:
    """Typed serials and codes decoded from photos, with product barcodes set aside. A
    resumed request takes the list its first attempt made."""
    def compute() -> dict:
        typed = _texts(serials) if serials not in (None, "", []) or decoded is None else []
        codes = list(dict.fromkeys(t for t in (decoded or []) if t.strip()))
        if not typed and not codes:
            raise refuse(422, "no_code_found")
        first = Outcome()
        texts, products = _split_product_codes(typed + codes, first)
        return {"texts": texts, "from_images": [t for t in codes if t not in typed],
                "ignored": first.ignored, "products": [p.id for p in products]}
    plan = steplog.plan(compute)
    outcome.from_images.update(plan["from_images"])
    outcome.ignored.extend(plan["ignored"])
    return plan["texts"], [db.session.get(Product, pid) for pid in plan["products"]]


def _split_product_codes(texts: list[str], outcome: Outcome) -> tuple[list[str], list[Product]]:
    """Separate bare product barcodes (EAN/UPC) from serials: they name the product."""
    serials, products = [], []
    for text in texts:
        try:
            interp = _interpret_text(text)
        except identifiers.IdentifierError:
            serials.append(text)
            continue
        if interp.kind != "gtin" or db.session.scalar(
                select(func.count()).select_from(Serial).where(Serial.serial_key == text)):
            serials.append(text)
            continue
        product = product_by_gtin(interp.gtin)
        if product is None:
            outcome.ignored.append({"text": text, "kind": "gtin", "message":
                                    f"Product barcode {interp.gtin} matches no product."})
        else:
            products.append(product)
            outcome.ignored.append({"text": text, "kind": "gtin", "sku": product.sku,
                                    "message": f"Product barcode of {product.sku}, not a serial."})
    return serials, products



# ---------------------------------------------------------------- move, quarantine, scrap
# Steps see plain values captured before the loop: ORM objects expire at every commit and
# would be re-read once per serial.

@dataclass(frozen=True)
class Place:
    id: int
    code: str


_PLACE = Prepared(select(Location.id, Location.code).where(Location.code == bindparam("code")))


def _place(code, *, required: bool = True) -> Place | None:
    """Like get_location, as plain values, on a prebuilt statement (asked once per scan)."""
    if not code:
        return get_location(code, required=required)
    with reading(db.engine) as conn:  # not the session's: it would then need a rollback
        row = _PLACE.run(conn, {"code": str(code).strip()}).fetchone()
    if row is None:
        return get_location(code)  # raises the 404 with its message
    return Place(*row)


def _serial_steps(texts: list[str], sku: str | None, outcome: Outcome, step, *,
                  last: bool = False, finish=None) -> Outcome:
    """`step(conn, unit)` for the serial each text names, each its own transaction
    (`last`, `finish`: see _run_steps)."""
    product = get_product(sku)
    product_id = product.id if product else None
    return _run_steps(outcome, [(t, lambda c, t=t: step(c, find_serial(t, product_id, c)))
                                for t in texts], last=last, finish=finish)


def _ok(unit: Unit, note: str) -> dict:
    """A scan that had already been done: nothing changes, and the page says so apart from
    both a success and a refusal (`repeat`), the same on every page."""
    return {"serial": unit.serial, "sku": unit.sku, "ok": True, "status": unit.status,
            "note": note, "repeat": True}


def _next(unit: Unit, action: str, disposition: str | None = None) -> str:
    try:
        return lifecycle.next_status(action, unit.status, disposition)
    except lifecycle.TransitionError as exc:
        raise StepError(exc.code, messages.say("transition", reason=exc.message),
                        unit.sku) from None
