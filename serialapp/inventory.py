"""Receive, move, pick, unpick, ship, return, quarantine, release, scrap: the only code
that writes serial state. Each serial is its own transaction, so one bad scan in a batch
refuses that scan alone.

Concurrency: every serial carries a `version`; a transition is a conditional UPDATE on
(id, version) and a row count other than 1 means another request got there first, so
the step is rolled back and re-read (it then fails with the real reason). Order lines
are guarded the same way (`filled_qty < qty` in the UPDATE). This holds on SQLite (writes
are serialised, WAL + busy timeout) and on PostgreSQL (row locks, READ COMMITTED)."""
import time
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from . import identifiers, lifecycle, messages, serials, steplog
from .errors import RequestError, StepError, busy, refusal, refuse
from .extensions import db
from .hotpath import Prepared
from .models import (Event, Location, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder,
                     SalesOrderLine, Serial, utcnow)

MAX_SERIALS_PER_REQUEST = 1000
MAX_GENERATE = 1000


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    source: str = "manual"


class _Conflict(Exception):
    """A conditional UPDATE lost a race; the step is retried from a fresh read."""


# Refusals that, for a code read off a photo, mean "not a serial of ours": a box label
# carries an EAN, an IMEI and a S/N, and only the one that names a serial is acted on.
NOT_OURS = {"unknown_serial", "not_a_serial", "invalid_serial", "unknown_sku"}


@dataclass
class Outcome:
    results: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # scanned texts that are not serials
    from_images: set = field(default_factory=set)  # texts decoded from photos, not typed

    def add(self, text: str, result: dict) -> None:
        error = result.get("error")
        if error and text in self.from_images and error["code"] in NOT_OURS:
            self.ignored.append({"text": text, "kind": error["code"], "message": error["message"]})
        else:
            self.results.append(result)

    def as_dict(self) -> dict:
        body = {"results": self.results}
        if self.ignored:
            body["ignored"] = self.ignored
        return body


# ---------------------------------------------------------------- lookups

def by_key(column, value, field: str, what: str, code: str, *, required: bool):
    """The row whose `column` is `value`: None if not given and optional, else 400/404."""
    if value is None or not str(value).strip():
        if required:
            raise refuse(400, f"missing_field/{field}")
        return None
    row = db.session.scalar(select(column.class_).where(column == str(value).strip()))
    if row is None:
        raise refuse(404, code, value=value)
    return row


def get_location(code, *, required: bool = True) -> Location | None:
    return by_key(Location.code, code, "location", "location", "unknown_location",
                   required=required)


def get_product(sku) -> Product | None:
    return by_key(Product.sku, sku, "sku", "product with SKU", "unknown_sku", required=False)


def product_by_gtin(gtin14: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.gtin == gtin14))


def get_sales_order(number) -> SalesOrder:
    return by_key(SalesOrder.number, number, "order", "sales order", "unknown_order",
                   required=True)


def get_purchase_order(number) -> PurchaseOrder | None:
    return by_key(PurchaseOrder.number, number, "purchase_order", "purchase order",
                   "unknown_order", required=False)


# Interpretation is pure, and each scanned text is read twice (product code or serial?).
_interpret_text = lru_cache(maxsize=4096)(identifiers.interpret)


def _interpret(text: str) -> identifiers.Interpretation:
    try:
        return _interpret_text(text)
    except identifiers.IdentifierError as exc:
        raise refusal("invalid_serial/text", reason=str(exc)) from None


@dataclass(frozen=True)
class Unit:
    """A serial as one step sees it: a plain snapshot, read in one query."""
    id: int
    serial: str
    product_id: int
    sku: str
    warranty_days: int
    status: str
    version: int
    location_id: int | None
    location_code: str | None
    pickable: bool | None
    sales_order_id: int | None
    order_number: str | None
    customer_id: int | None
    key: str
    case_sensitive: bool

    def named_by(self, text: str) -> bool:
        """Whether a scanned (canonical) text names this unit, by its product's case rule."""
        return self.key == serials.key(text, self.case_sensitive)


_UNIT_COLUMNS = (Serial.id, Serial.serial, Serial.product_id, Product.sku, Product.warranty_days,
                 Serial.status, Serial.version, Serial.location_id, Location.code,
                 Location.pickable, Serial.sales_order_id, SalesOrder.number, Serial.customer_id,
                 Serial.serial_key, Product.serials_case_sensitive)


def _unit_query():
    return (select(*_UNIT_COLUMNS).join(Product, Product.id == Serial.product_id)
            .outerjoin(Location, Location.id == Serial.location_id)
            .outerjoin(SalesOrder, SalesOrder.id == Serial.sales_order_id))


# Statements built once (building them per scan cost more than running them) and run on
# the driver. A scanned text names at most two candidate serial texts (as scanned, and as
# interpreted), each as it is and case-folded, so the IN list has four fixed places.
_BY_TEXT = _unit_query().where(Serial.serial_key.in_(
    [bindparam("w0"), bindparam("w1"), bindparam("w2"), bindparam("w3")])).limit(10)
_BY_TEXT_SQL = Prepared(_BY_TEXT)
_BY_TEXT_AND_PRODUCT_SQL = Prepared(_BY_TEXT.where(Serial.product_id == bindparam("product_id")))
_BY_ID_SQL = Prepared(_unit_query().where(Serial.id == bindparam("serial_id")))
_EVENT_COLUMNS = ("serial_id", "type", "from_status", "to_status", "from_location_id",
                  "to_location_id", "purchase_order_id", "sales_order_id", "customer_id",
                  "user_id", "at", "source", "note")
_INSERT_EVENT_SQL = Prepared(insert(Event).values({c: bindparam(c) for c in _EVENT_COLUMNS}))


def _units(conn: Connection, wanted: list[str], product_id: int | None) -> list[Unit]:
    """The units the canonical texts in `wanted` name, each by its product's case rule."""
    first, last = wanted[0], wanted[-1]
    params = {"w0": first, "w1": first.casefold(), "w2": last, "w3": last.casefold()}
    if product_id is None:
        rows = _BY_TEXT_SQL.run(conn, params)
    else:
        rows = _BY_TEXT_AND_PRODUCT_SQL.run(conn, {**params, "product_id": product_id})
    units = [Unit(*row) for row in rows.fetchall()]
    return [u for u in units if any(u.named_by(w) for w in wanted)]


def canonical_serial(text: str, sku: str | None = None) -> str:
    """The serial rules (serials.canonical), as a step's refusal."""
    try:
        return serials.canonical(text)
    except serials.SerialTextError as exc:
        raise refusal("invalid_serial/text", sku, reason=str(exc)) from None


def find_serial(text: str, product_id: int | None = None, conn: Connection | None = None) -> Unit:
    """The one serial a scanned text names, or StepError saying why not."""
    interp = _interpret(text)
    if interp.kind == "gs1":
        if not interp.serial:
            raise refusal("invalid_serial/no_serial_in_gs1")
        if interp.gtin and product_id is None:
            product = product_by_gtin(interp.gtin)
            if product is None:
                raise refusal("unknown_sku/gtin", gtin=interp.gtin)
            product_id = product.id
        wanted = [canonical_serial(interp.serial)]
    else:
        # A bare GTIN may also be somebody's serial; try the text itself first.
        wanted = [canonical_serial(interp.text)] + (
            [canonical_serial(interp.serial)] if interp.serial not in (None, interp.text) else [])
    found = _units(conn or db.session.connection(), wanted, product_id)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        skus = ", ".join(sorted(u.sku for u in found))
        raise refusal("ambiguous_serial", skus=skus)
    if interp.kind == "gtin" and product_by_gtin(interp.gtin):
        raise refusal("not_a_serial")
    raise refusal("unknown_serial")


# ---------------------------------------------------------------- writing

@lru_cache(maxsize=None)
def _update_statement(columns: tuple[str, ...]) -> Prepared:
    """UPDATE ... WHERE id = :id AND version = :version, for one set of changed columns."""
    return Prepared(update(Serial)
                    .where(Serial.id == bindparam("_id"), Serial.version == bindparam("_version"))
                    .values(status=bindparam("_status"), version=bindparam("_new_version"),
                            **{name: bindparam(name) for name in columns}))


def _transition(conn: Connection, unit: Unit, actor: Actor, event_type: str, to_status: str,
                changes: dict | None = None, note: str | None = None, **event_fields) -> dict:
    """The one place serial state changes: conditional UPDATE on version + its Event.
    Prebuilt statements on the step's connection: this is the hot path of every scan."""
    changes = dict(changes or {})
    result = _update_statement(tuple(sorted(changes))).run(conn, {
        "_id": unit.id, "_version": unit.version, "_new_version": unit.version + 1,
        "_status": to_status, **changes})
    if result.rowcount != 1:
        raise _Conflict()
    _INSERT_EVENT_SQL.run(conn, {
        "serial_id": unit.id, "type": event_type, "from_status": unit.status,
        "to_status": to_status, "from_location_id": unit.location_id,
        "to_location_id": changes.get("location_id", unit.location_id),
        "user_id": actor.user_id, "source": actor.source, "note": note, "at": utcnow(),
        "purchase_order_id": None, "sales_order_id": None, "customer_id": None,
        **event_fields})
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


@contextmanager
def _step_connection():
    """A connection of the service's own for the per-serial steps, each one a transaction
    on it: cheaper than the ORM session's commit, which the hot path does not need. The
    request's session writes nothing while steps run, so the two never wait on each other."""
    with db.engine.connect() as conn:
        yield conn
    db.session.expire_all()  # what the session read before the steps may have changed


def _run_step(conn: Connection, text: str, step, log: steplog.StepLog | None = None,
              index: int = 0) -> dict:
    """Run `step(conn)` for one serial in its own transaction, retrying lost races. With a
    step log (a keyed request), a step an earlier attempt did answers as it did then, and a
    new step's result is stored in the transaction that does it."""
    if log is not None and index in log.done:
        return log.done[index]
    for attempt in range(12):
        try:
            with conn.begin():  # commits when the step returns, rolls back when it raises
                result = step(conn)
                if log is not None:
                    log.record(conn, index, result)
            if log is not None:
                log.recorded(index)
            return result
        except StepError as exc:
            result = exc.as_result(text)
            if log is not None:
                with conn.begin():
                    log.record(conn, index, result)
                log.recorded(index)
            return result
        except (_Conflict, IntegrityError):
            pass  # someone else changed it: read again and decide again
        except OperationalError as exc:
            if not _is_locked(exc):
                raise
            time.sleep(0.005 * (attempt + 1))
    return refusal("busy/step").as_result(text)


def _run_steps(outcome: "Outcome", items: list[tuple[str, object]]) -> "Outcome":
    """Each (text, step) in order, each its own transaction, on the service's connection."""
    log = steplog.current()
    with _step_connection() as conn:
        for index, (text, step) in enumerate(items):
            outcome.add(text, _run_step(conn, text, step, log, index))
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


# ---------------------------------------------------------------- receive

def _parse_expiry(value) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise refuse(400, "invalid_field/expiry", value=value) from None


def _fits(product: Product, serial_text: str) -> bool:
    """Whether the serial fits the product's pattern. A pattern saved before patterns had
    to run in linear time may be one the matcher refuses: that is the product's fault, said
    as such, never a failed request."""
    try:
        return identifiers.serial_matches(product.serial_pattern, serial_text)
    except identifiers.IdentifierError:
        raise refusal("invalid_serial/broken_pattern", product.sku, sku=product.sku) from None


def _pattern_refusal(product: Product, serial_text: str) -> StepError:
    """Why a serial does not fit its product's pattern, in words: a check digit that fails
    (a misread), or what the product's serials look like. Never the pattern itself."""
    kind = (product.serial_pattern or "").strip().lower()
    misread = _misread_check_digit(serial_text, (kind,))
    if misread:
        return refusal(misread, product.sku)
    if kind in ("imei", "vin", "gs1"):
        return refusal(f"invalid_serial/{kind}", product.sku, sku=product.sku)
    if identifiers.is_template(product.serial_pattern):
        return refusal("invalid_serial/template", product.sku, sku=product.sku,
                       example=identifiers.mint_serial(product.serial_pattern, 1))
    return refusal("invalid_serial/pattern", product.sku, sku=product.sku)


def _misread_check_digit(text: str, kinds: tuple) -> str | None:
    """The message key when `text` has the shape of an IMEI or VIN (of `kinds`) but fails
    its check digit: a misread or mistyped character, not a wrong product."""
    text = text.strip()
    if "imei" in kinds and len(text) == 15 and text.isdigit() and \
            not identifiers.is_valid_imei(text):
        return "invalid_serial/imei_check"
    vin = text.upper()
    if "vin" in kinds and len(vin) == 17 and vin.isascii() and vin.isalnum() and \
            not set(vin) & set("IOQ") and not identifiers.is_valid_vin(vin):
        return "invalid_serial/vin_check"
    return None


@dataclass
class _ReceiveContext:
    location_id: int
    product: Product | None
    po: PurchaseOrder | None
    lot: str | None
    expiry: date | None


def _product_for(interp, ctx: _ReceiveContext, text: str) -> Product:
    if interp.kind == "gs1" and interp.gtin:
        product = product_by_gtin(interp.gtin)
        if product is None:
            raise refusal("unknown_sku/gtin", gtin=interp.gtin)
        if ctx.product and ctx.product.id != product.id:
            raise refusal("sku_mismatch", found=product.sku, chosen=ctx.product.sku)
        return product
    if ctx.product:
        return ctx.product
    if ctx.po:
        # With no SKU given, the PO's lines narrow it down: one line, or one pattern that fits.
        candidates = [line.product for line in ctx.po.lines]
        if len(candidates) > 1:
            candidates = [p for p in candidates
                          if p.serial_pattern and _fits(p, text)]
        if len(candidates) == 1:
            return candidates[0]
    if _misread_check_digit(text, ("imei",)):  # 15 digits is an IMEI, whatever the product
        raise refusal("invalid_serial/imei_check")
    raise refusal("unknown_sku/which")


def _receive_one(conn: Connection, actor: Actor, ctx: _ReceiveContext, text: str) -> dict:
    interp = _interpret(text)
    product = _product_for(interp, ctx, text)
    serial_text = interp.serial if interp.kind in ("gs1", "imei", "vin") else interp.text
    if not serial_text:
        raise refusal("invalid_serial/no_serial_in_gs1", product.sku)
    serial_text = canonical_serial(serial_text, product.sku)
    serial_key = serials.key(serial_text, product.serials_case_sensitive)
    if not _fits(product, serial_text):
        raise _pattern_refusal(product, serial_text)
    existing = conn.execute(select(Serial.serial, Serial.status, Serial.location_id,
                                   Serial.purchase_order_id).where(
        Serial.product_id == product.id, Serial.serial_key == serial_key)).first()
    if existing is not None:
        po_id = ctx.po.id if ctx.po else None
        if existing.status == lifecycle.IN_STOCK and existing.location_id == ctx.location_id \
                and po_id in (None, existing.purchase_order_id):
            # The same label scanned twice while receiving: already done, not a second unit.
            return {"serial": existing.serial, "sku": product.sku, "ok": True,
                    "status": lifecycle.IN_STOCK, "note": messages.repeat("received"),
                    "repeat": True}
        raise refusal("duplicate_serial", product.sku, sku=product.sku)
    po_id = None
    if ctx.po:
        line = next((ln for ln in ctx.po.lines if ln.product_id == product.id), None)
        if line is None:
            raise refusal("sku_not_on_order/purchase", product.sku, sku=product.sku,
                          po=ctx.po.number)
        if not _bump_line(conn, PurchaseOrderLine, line.id, "received_qty", +1):
            raise refusal("over_receipt", product.sku, po=ctx.po.number, qty=line.qty,
                          sku=product.sku)
        po_id = ctx.po.id
    now = utcnow()
    serial_id = conn.execute(insert(Serial).values(
        product_id=product.id, serial=serial_text, serial_key=serial_key,
        status=lifecycle.IN_STOCK, version=1,
        location_id=ctx.location_id, lot=interp.lot or ctx.lot,
        expiry=interp.expiry or ctx.expiry, purchase_order_id=po_id, received_at=now)
    ).inserted_primary_key[0]
    conn.execute(insert(Event).values(
        serial_id=serial_id, type="receive", to_status=lifecycle.IN_STOCK,
        to_location_id=ctx.location_id, purchase_order_id=po_id, user_id=actor.user_id,
        source=actor.source, at=now))
    return {"serial": serial_text, "sku": product.sku, "ok": True, "status": lifecycle.IN_STOCK}


def _mint(product: Product, count: int) -> list[str]:
    """Reserve `count` sequence numbers atomically and format them with the pattern."""
    if not identifiers.is_template(product.serial_pattern):
        raise refuse(400, "no_serial_template", sku=product.sku)
    for _ in range(12):
        start = db.session.scalar(select(Product.next_seq).where(Product.id == product.id))
        done = db.session.execute(
            update(Product).where(Product.id == product.id, Product.next_seq == start)
            .values(next_seq=start + count).execution_options(synchronize_session=False))
        if done.rowcount == 1:
            db.session.commit()
            return [identifiers.mint_serial(product.serial_pattern, n)
                    for n in range(start, start + count)]
        db.session.rollback()
    raise busy()


def receive(actor: Actor, *, location=None, purchase_order=None, sku=None, lot=None, expiry=None,
            serials=None, generate=None, decoded=None) -> Outcome:
    ctx = _ReceiveContext(location_id=get_location(location).id, product=get_product(sku),
                          po=get_purchase_order(purchase_order), lot=(str(lot).strip() or None)
                          if lot else None, expiry=_parse_expiry(expiry))
    outcome = Outcome()
    if generate is not None:
        if serials:
            raise refuse(400, "invalid_field/serials_or_generate")
        if not isinstance(generate, int) or isinstance(generate, bool) or \
                not 1 <= generate <= MAX_GENERATE:
            raise refuse(400, "invalid_field/generate", limit=MAX_GENERATE)
        if ctx.product is None:
            raise refuse(400, "missing_field/generate_product")
        # Minted once: a retry of a crashed request receives the same serials, not new ones.
        texts = steplog.plan(lambda: _mint(ctx.product, generate))
    else:
        texts, products = _scanned(serials, decoded, outcome)
        if ctx.product is None and len({p.id for p in products}) == 1:
            ctx.product = products[0]
        if not texts and outcome.ignored:
            return outcome  # only product barcodes: the page asks for the serial next
    return _run_steps(outcome, [(t, lambda c, t=t: _receive_one(c, actor, ctx, t))
                                for t in texts])


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


def move(actor: Actor, *, location=None, serials=None, sku=None, decoded=None) -> Outcome:
    to = _place(location)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        status = _next(unit, "move")
        if unit.location_id == to.id:
            return _ok(unit, messages.repeat("at", location=to.code))
        return _transition(conn, unit, actor, "move", status, {"location_id": to.id})
    return _serial_steps(texts, sku, outcome, step)


def set_aside(actor: Actor, action: str, *, serials=None, sku=None, location=None,
              reason=None, decoded=None) -> Outcome:
    """quarantine, release or scrap: a manager's decision about units in stock."""
    to = _place(location, required=False)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        status = _next(unit, action)
        changes = {"location_id": to.id} if to else {}
        return _transition(conn, unit, actor, action, status, changes, note=reason)
    return _serial_steps(texts, sku, outcome, step)


# ---------------------------------------------------------------- pick, unpick, ship

@dataclass(frozen=True)
class OpenOrder:
    id: int
    number: str
    customer_id: int
    lines: dict  # product_id -> (line id, qty)

    def line_for(self, unit: Unit) -> tuple[int, int]:
        if unit.product_id not in self.lines:
            raise refusal("sku_not_on_order", unit.sku, sku=unit.sku, order=self.number)
        return self.lines[unit.product_id]


def _open_order(number) -> OpenOrder:
    so = get_sales_order(number)
    log = steplog.current()
    resuming = log is not None and log.plan is not None
    if so.status == "shipped" and not resuming:  # a resumed ship may have settled it
        raise refuse(409, "order_closed", order=so.number)
    return OpenOrder(so.id, so.number, so.customer_id,
                     {ln.product_id: (ln.id, ln.qty) for ln in so.lines})


def pick(actor: Actor, *, order=None, serials=None, sku=None, decoded=None) -> Outcome:
    so = _open_order(order)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        if unit.status == lifecycle.PICKED and unit.sales_order_id == so.id:
            return _ok(unit, messages.repeat("picked", order=so.number))
        if unit.status == lifecycle.PICKED:
            raise refusal("serial_not_available/picked_elsewhere", unit.sku,
                          other=unit.order_number)
        status = _next(unit, "pick")
        if unit.location_id is not None and not unit.pickable:
            raise refusal("serial_not_available/not_pickable", unit.sku,
                          location=unit.location_code)
        line_id, qty = so.line_for(unit)
        if not _bump_line(conn, SalesOrderLine, line_id, "filled_qty", +1):
            raise refusal("order_line_full", unit.sku, order=so.number, qty=qty, sku=unit.sku)
        return _transition(conn, unit, actor, "pick", status, {"sales_order_id": so.id},
                           sales_order_id=so.id)
    return _serial_steps(texts, sku, outcome, step)


def unpick(actor: Actor, *, order=None, location=None, serials=None, sku=None,
           decoded=None) -> Outcome:
    so = _open_order(order)
    to = _place(location)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        if unit.sales_order_id != so.id or unit.status != lifecycle.PICKED:
            raise refusal("serial_not_on_order", unit.sku, order=so.number)
        status = _next(unit, "unpick")
        _bump_line(conn, SalesOrderLine, so.line_for(unit)[0], "filled_qty", -1)
        return _transition(conn, unit, actor, "unpick", status,
                           {"sales_order_id": None, "location_id": to.id}, sales_order_id=so.id)
    return _serial_steps(texts, sku, outcome, step)


def ship(actor: Actor, *, order=None, partial=False) -> Outcome:
    so = _open_order(order)
    lines = db.session.scalars(select(SalesOrderLine).where(
        SalesOrderLine.sales_order_id == so.id)).all()
    short = [f"{ln.product.sku}: {ln.filled_qty} of {ln.qty}" for ln in lines
             if ln.filled_qty < ln.qty]
    if short and not partial:
        raise refuse(409, "order_incomplete", order=so.number, short="; ".join(short))

    def compute() -> list:
        picked = db.session.execute(select(Serial.id, Serial.serial).where(
            Serial.sales_order_id == so.id, Serial.status == lifecycle.PICKED)
            .order_by(Serial.id)).all()
        if not picked:
            raise refuse(409, "nothing_to_ship", order=so.number)
        return [list(row) for row in picked]
    picked = steplog.plan(compute)
    outcome = _run_steps(Outcome(), [
        (text, lambda c, sid=serial_id: _ship_one(c, actor, so, _unit_by_id(c, sid)))
        for serial_id, text in picked])
    _settle_order(so.id)
    return outcome


def _ship_one(conn: Connection, actor: Actor, so: OpenOrder, unit: Unit) -> dict:
    status = _next(unit, "ship")
    now = utcnow()
    warranty = now.date() + timedelta(days=unit.warranty_days or 0)
    return _transition(conn, unit, actor, "ship", status, {
        "customer_id": so.customer_id, "shipped_at": now, "warranty_until": warranty},
        sales_order_id=so.id, customer_id=so.customer_id)


def _unit_by_id(conn: Connection, serial_id: int) -> Unit:
    return Unit(*_BY_ID_SQL.run(conn, {"serial_id": serial_id}).fetchone())


def _settle_order(order_id: int) -> None:
    """An order is shipped once every line is filled and nothing is left picked."""
    so = db.session.get(SalesOrder, order_id)
    left = db.session.scalar(select(func.count()).select_from(Serial).where(
        Serial.sales_order_id == so.id, Serial.status == lifecycle.PICKED))
    complete = all(ln.filled_qty >= ln.qty for ln in so.lines)
    so.status = "shipped" if complete and not left else "partially_shipped"
    db.session.commit()


# ---------------------------------------------------------------- return

def return_(actor: Actor, *, serials=None, sku=None, reason=None, disposition=None,
            location=None, decoded=None) -> Outcome:
    if not reason or not str(reason).strip():
        raise refuse(400, "missing_field/reason")
    if disposition not in lifecycle.DISPOSITIONS:
        raise refuse(400, "invalid_field/disposition")
    to = _place(location, required=disposition == "restock")
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        status = _next(unit, "return", disposition)
        changes = {"sales_order_id": None, "customer_id": None, "warranty_until": None,
                   "location_id": to.id if to else None}
        return _transition(conn, unit, actor, "return", status, changes, note=str(reason).strip(),
                           sales_order_id=unit.sales_order_id, customer_id=unit.customer_id)
    return _serial_steps(texts, sku, outcome, step)
