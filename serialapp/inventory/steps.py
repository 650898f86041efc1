"""How serial state is written: each serial its own transaction on the service's own
connection, a conditional UPDATE on the unit's version plus its event, lost races read
again, and (for a keyed request) each step's result stored with it (steplog)."""
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import chain, identifiers, keylock, lifecycle, messages, steplog
from ..errors import StepError, refusal, refuse
from ..extensions import db
from ..hotpath import Prepared
from ..models import Event, Location, Product, Serial, utcnow
from .base import MAX_SERIALS_PER_REQUEST, Actor, Outcome, _Conflict
from .lookups import Unit, _interpret_text, find_serial, get_location, get_product, product_by_gtin

_EVENT_COLUMNS = ("serial_id", "type", "from_status", "to_status", "from_location_id",
                  "to_location_id", "purchase_order_id", "sales_order_id", "customer_id",
                  "user_id", "at", "source", "note", "warranty_return", "hash", "prev")
_INSERT_EVENT_SQL = Prepared(insert(Event).values({c: bindparam(c) for c in _EVENT_COLUMNS}))


@lru_cache(maxsize=None)
def _update_statement(columns: tuple[str, ...]) -> Prepared:
    """UPDATE ... WHERE id = :id AND version = :version, for one set of changed columns."""
    return Prepared(update(Serial)
                    .where(Serial.id == bindparam("_id"), Serial.version == bindparam("_version"))
                    .values(status=bindparam("_status"), version=bindparam("_new_version"),
                            history_head=bindparam("_head"),
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
    result = _update_statement(tuple(sorted(changes))).run(conn, {
        "_id": unit.id, "_version": unit.version, "_new_version": unit.version + 1,
        "_status": to_status, "_head": head, **changes})
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
# SAVEPOINT that a refusal or a lost race rolls back alone), but one commit, one fsync on
# SQLite's synchronous=FULL, carries up to GROUP_STEPS of them. Nothing is answered before
# its commit. The bounds keep the write lock (SQLite) and row locks (PostgreSQL) short
# enough that a single scan queued behind a batch still answers within a few ms.
GROUP_STEPS = 50
GROUP_S = 0.025


@contextmanager
def _step_connection():
    """A connection of the service's own for the per-serial steps: cheaper than the ORM
    session's commit, which the hot path does not need. The request's session writes
    nothing while steps run, so the two never wait on each other."""
    with db.engine.connect() as conn:
        yield conn
    db.session.expire_all()  # what the session read before the steps may have changed


class _Group:
    """The open transaction a run of steps shares, committed every GROUP_STEPS steps or
    GROUP_S seconds and at the end."""

    def __init__(self, conn: Connection, log: steplog.StepLog | None):
        self.conn, self.log = conn, log
        self.tx = None
        self.gate = None
        self.steps = 0
        self.started = 0.0

    def savepoint(self):
        if self.tx is None:
            self.gate = keylock.sqlite_writer(self.conn.engine)
            self.gate.__enter__()
            self.tx = self.conn.begin()
            if self.conn.dialect.name == "sqlite":
                # Take the write lock now: a deferred transaction that read first could
                # not upgrade once another writer committed (SQLITE_BUSY_SNAPSHOT), and
                # would have to throw away every step of the group.
                self.conn.exec_driver_sql("BEGIN IMMEDIATE")
            self.started = time.monotonic()
        return self.conn.begin_nested()

    def done_one(self) -> None:
        self.steps += 1
        if self.steps >= GROUP_STEPS or time.monotonic() - self.started >= GROUP_S:
            self.commit()

    def commit(self) -> None:
        if self.tx is not None:
            tx, self.tx, self.steps = self.tx, None, 0
            try:
                tx.commit()
            except BaseException:
                if self.log is not None:
                    self.log.rolled_back()
                raise
            finally:
                self._open_gate()
            if self.log is not None:
                self.log.recorded()

    def rollback(self) -> None:
        if self.tx is not None:
            tx, self.tx, self.steps = self.tx, None, 0
            try:
                tx.rollback()
            finally:
                self._open_gate()
            if self.log is not None:
                self.log.rolled_back()

    def _open_gate(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.__exit__(None, None, None)


def _run_step(group: _Group, text: str, step, index: int = 0) -> dict:
    """Run `step(conn)` for one serial in a savepoint of the group's transaction, retrying
    lost races. With a step log (a keyed request), a step an earlier attempt did answers as
    it did then, and a new step's result is stored in the transaction that does it."""
    log = group.log
    if log is not None and index in log.done:
        return log.done[index]
    for attempt in range(12):
        try:
            savepoint = group.savepoint()
        except OperationalError as exc:  # BEGIN IMMEDIATE waited its whole busy timeout
            if not _is_locked(exc):
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
        except (_Conflict, IntegrityError):
            savepoint.rollback()
            continue  # someone else changed it: read again and decide again
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
            log.record(group.conn, index, result)
        group.done_one()
        return result
    return refusal("busy/step").as_result(text)


def _run_steps(outcome: "Outcome", items: list[tuple[str, object]]) -> "Outcome":
    """Each (text, step) in order, each its own atomic step, committed in groups on the
    service's connection; all committed when this returns."""
    log = steplog.current()
    with _step_connection() as conn:
        group = _Group(conn, log)
        try:
            for index, (text, step) in enumerate(items):
                outcome.add(text, _run_step(group, text, step, index))
            group.commit()
        except BaseException:
            group.rollback()
            raise
    return outcome


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
    row = _PLACE.run(db.session.connection(), {"code": str(code).strip()}).fetchone()
    if row is None:
        return get_location(code)  # raises the 404 with its message
    return Place(*row)


def _serial_steps(texts: list[str], sku: str | None, outcome: Outcome, step) -> Outcome:
    """`step(conn, unit)` for the serial each text names, each its own transaction."""
    product = get_product(sku)
    product_id = product.id if product else None
    return _run_steps(outcome, [(t, lambda c, t=t: step(c, find_serial(t, product_id, c)))
                                for t in texts])


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
