"""Receive, move, pick, unpick, ship, return, quarantine, release, scrap: the only code
that writes serial state. Each serial is its own transaction, so one bad scan in a batch
refuses that scan alone.

Concurrency: every serial carries a `version`; a transition is a conditional UPDATE on
(id, version) and a row count other than 1 means another request got there first, so
the step is rolled back and re-read (it then fails with the real reason). Order lines
are guarded the same way (`filled_qty < qty` in the UPDATE). This holds on SQLite (writes
are serialised, WAL + busy timeout) and on PostgreSQL (row locks, READ COMMITTED)."""
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from . import identifiers, lifecycle
from .errors import RequestError, StepError, bad_request, not_found
from .extensions import db
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


@dataclass
class Outcome:
    results: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # scanned texts that are not serials

    def as_dict(self) -> dict:
        body = {"results": self.results}
        if self.ignored:
            body["ignored"] = self.ignored
        return body


# ---------------------------------------------------------------- lookups

def get_location(code: str | None, *, required: bool = True) -> Location | None:
    if not code:
        if required:
            raise bad_request("Say which location (field 'location').", "missing_field")
        return None
    loc = db.session.scalar(select(Location).where(Location.code == str(code).strip()))
    if loc is None:
        raise not_found("unknown_location", f"There is no location '{code}'.")
    return loc


def get_product(sku: str | None) -> Product | None:
    if not sku:
        return None
    product = db.session.scalar(select(Product).where(Product.sku == str(sku).strip()))
    if product is None:
        raise not_found("unknown_sku", f"There is no product with SKU '{sku}'.")
    return product


def product_by_gtin(gtin14: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.gtin == gtin14))


def get_sales_order(number: str | None) -> SalesOrder:
    if not number:
        raise bad_request("Say which sales order (field 'order').", "missing_field")
    order = db.session.scalar(select(SalesOrder).where(SalesOrder.number == str(number).strip()))
    if order is None:
        raise not_found("unknown_order", f"There is no sales order '{number}'.")
    return order


def get_purchase_order(number: str | None) -> PurchaseOrder | None:
    if not number:
        return None
    po = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == str(number).strip()))
    if po is None:
        raise not_found("unknown_order", f"There is no purchase order '{number}'.")
    return po


def _interpret(text: str) -> identifiers.Interpretation:
    try:
        return identifiers.interpret(text)
    except identifiers.IdentifierError as exc:
        raise StepError("invalid_serial", str(exc)) from None


def find_serial(text: str, product_id: int | None = None) -> Serial:
    """The one serial a scanned text names, or StepError saying why not."""
    interp = _interpret(text)
    if interp.kind == "gs1":
        if not interp.serial:
            raise StepError("invalid_serial", "This GS1 code carries no serial number (AI 21).")
        if interp.gtin and product_id is None:
            product = product_by_gtin(interp.gtin)
            if product is None:
                raise StepError("unknown_sku", f"No product has GTIN {interp.gtin}.")
            product_id = product.id
        wanted = [interp.serial]
    else:
        # A bare GTIN may also be somebody's serial; try the text itself first.
        wanted = [interp.text] + ([interp.serial] if interp.serial not in (None, interp.text) else [])
    query = select(Serial).where(Serial.serial.in_(wanted))
    if product_id is not None:
        query = query.where(Serial.product_id == product_id)
    found = db.session.scalars(query.limit(5)).all()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        skus = ", ".join(sorted(s.product.sku for s in found))
        raise StepError("ambiguous_serial",
                        f"Serial {interp.serial or text} exists for several products ({skus}); "
                        "say which SKU.")
    if interp.kind == "gtin" and product_by_gtin(interp.gtin):
        raise StepError("not_a_serial", "That is a product barcode, not a serial.")
    raise StepError("unknown_serial", f"Serial {interp.serial or text} is not known here.")


# ---------------------------------------------------------------- writing

def _transition(serial: Serial, actor: Actor, event_type: str, to_status: str,
                changes: dict | None = None, note: str | None = None, **event_fields) -> dict:
    """The one place serial state changes: conditional UPDATE on version + its Event."""
    changes = dict(changes or {})
    from_status, from_location_id = serial.status, serial.location_id
    result = db.session.execute(
        update(Serial)
        .where(Serial.id == serial.id, Serial.version == serial.version)
        .values(status=to_status, version=serial.version + 1, **changes)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise _Conflict()
    to_location_id = changes.get("location_id", from_location_id)
    db.session.add(Event(
        serial_id=serial.id, type=event_type, from_status=from_status, to_status=to_status,
        from_location_id=from_location_id, to_location_id=to_location_id,
        user_id=actor.user_id, source=actor.source, note=note, at=utcnow(), **event_fields))
    return {"serial": serial.serial, "sku": serial.product.sku, "ok": True, "status": to_status}


def _bump_line(model, line_id: int, counter: str, delta: int) -> bool:
    """Add `delta` to an order line's counter unless that would pass `qty` (or go below 0)."""
    column = getattr(model, counter)
    guard = column < model.qty if delta > 0 else column > 0
    result = db.session.execute(
        update(model).where(model.id == line_id, guard)
        .values({counter: column + delta}).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def _run_step(text: str, step) -> dict:
    """Run one serial's step in its own transaction, retrying lost races."""
    for attempt in range(12):
        try:
            result = step()
            db.session.commit()
            return result
        except StepError as exc:
            db.session.rollback()
            return exc.as_result(text)
        except (_Conflict, IntegrityError):
            db.session.rollback()  # someone else changed it: read again and decide again
        except OperationalError as exc:
            db.session.rollback()
            if not _is_locked(exc):
                raise
            time.sleep(0.005 * (attempt + 1))
    return {"serial": text, "ok": False,
            "error": {"code": "busy", "message": "The system is busy; scan this serial again."}}


def _texts(serials) -> list[str]:
    if serials is None:
        raise bad_request("Give the serials to act on (field 'serials', a list).", "missing_field")
    if isinstance(serials, str):
        serials = serials.splitlines()
    if not isinstance(serials, list) or not all(isinstance(s, (str, int)) for s in serials):
        raise bad_request("'serials' must be a list of texts.", "invalid_field")
    texts = [str(s).strip() for s in serials if str(s).strip()]
    if not texts:
        raise bad_request("'serials' is empty: scan at least one serial.", "missing_field")
    if len(texts) > MAX_SERIALS_PER_REQUEST:
        raise bad_request(f"At most {MAX_SERIALS_PER_REQUEST} serials per request.", "too_many")
    return texts


def _split_product_codes(texts: list[str], outcome: Outcome) -> tuple[list[str], list[Product]]:
    """Separate bare product barcodes (EAN/UPC) from serials: they name the product."""
    serials, products = [], []
    for text in texts:
        try:
            interp = identifiers.interpret(text)
        except identifiers.IdentifierError:
            serials.append(text)
            continue
        if interp.kind != "gtin" or db.session.scalar(
                select(func.count()).select_from(Serial).where(Serial.serial == text)):
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
        raise bad_request(f"expiry '{value}' is not a date (YYYY-MM-DD).", "invalid_field") from None


def _pattern_help(pattern: str | None) -> str:
    return {"imei": "an IMEI is 15 digits whose last is a Luhn check digit",
            "vin": "a VIN is 17 letters and digits (no I, O, Q) with a check digit at position 9",
            "gs1": "a GS1 serial is up to 20 characters"}.get(
                pattern or "", f"it must match the pattern {pattern}")


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
            raise StepError("unknown_sku", f"No product has GTIN {interp.gtin}; create it first.")
        if ctx.product and ctx.product.id != product.id:
            raise StepError("sku_mismatch",
                            f"This code is for {product.sku}, not {ctx.product.sku}.")
        return product
    if ctx.product:
        return ctx.product
    if ctx.po:
        # With no SKU given, the PO's lines narrow it down: one line, or one pattern that fits.
        candidates = [line.product for line in ctx.po.lines]
        if len(candidates) > 1:
            candidates = [p for p in candidates
                          if p.serial_pattern and identifiers.serial_matches(p.serial_pattern, text)]
        if len(candidates) == 1:
            return candidates[0]
    raise StepError("unknown_sku", "Which product is this? Choose a SKU, or scan its product barcode.")


def _receive_one(actor: Actor, ctx: _ReceiveContext, text: str, interp=None) -> dict:
    interp = interp or _interpret(text)
    product = _product_for(interp, ctx, text)
    serial_text = interp.serial if interp.kind in ("gs1", "imei", "vin") else interp.text
    if not serial_text:
        raise StepError("invalid_serial", "This GS1 code carries no serial number (AI 21).",
                        product.sku)
    if not identifiers.serial_matches(product.serial_pattern, serial_text):
        raise StepError("invalid_serial",
                        f"{serial_text} is not a valid serial for {product.sku}: "
                        f"{_pattern_help(product.serial_pattern)}.", product.sku)
    if db.session.scalar(select(Serial.id).where(Serial.product_id == product.id,
                                                 Serial.serial == serial_text)):
        raise StepError("duplicate_serial",
                        f"{serial_text} was already received for {product.sku}.", product.sku)
    po_id = None
    if ctx.po:
        line = next((ln for ln in ctx.po.lines if ln.product_id == product.id), None)
        if line is None:
            raise StepError("sku_not_on_order",
                            f"{product.sku} is not on purchase order {ctx.po.number}.", product.sku)
        if not _bump_line(PurchaseOrderLine, line.id, "received_qty", +1):
            raise StepError("over_receipt",
                            f"Purchase order {ctx.po.number} expects only {line.qty} of "
                            f"{product.sku}, all received.", product.sku)
        po_id = ctx.po.id
    serial = Serial(product_id=product.id, serial=serial_text, status=lifecycle.IN_STOCK,
                    location_id=ctx.location_id, lot=interp.lot or ctx.lot,
                    expiry=interp.expiry or ctx.expiry, purchase_order_id=po_id)
    db.session.add(serial)
    db.session.flush()
    db.session.add(Event(serial_id=serial.id, type="receive", from_status=None,
                         to_status=lifecycle.IN_STOCK, to_location_id=ctx.location_id,
                         purchase_order_id=po_id, user_id=actor.user_id, source=actor.source,
                         at=utcnow()))
    return {"serial": serial_text, "sku": product.sku, "ok": True, "status": lifecycle.IN_STOCK}


def _mint(product: Product, count: int) -> list[str]:
    """Reserve `count` sequence numbers atomically and format them with the pattern."""
    if not identifiers.is_template(product.serial_pattern):
        raise bad_request(f"{product.sku} has no serial template like OWN-{{seq:06}} to generate "
                          "from.", "no_serial_template")
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
    raise RequestError(503, "busy", "The system is busy; try again.")


def receive(actor: Actor, *, location=None, purchase_order=None, sku=None, lot=None, expiry=None,
            serials=None, generate=None) -> Outcome:
    ctx = _ReceiveContext(location_id=get_location(location).id, product=get_product(sku),
                          po=get_purchase_order(purchase_order), lot=(str(lot).strip() or None)
                          if lot else None, expiry=_parse_expiry(expiry))
    outcome = Outcome()
    if generate is not None:
        if serials:
            raise bad_request("Give either 'serials' or 'generate', not both.")
        if not isinstance(generate, int) or isinstance(generate, bool) or \
                not 1 <= generate <= MAX_GENERATE:
            raise bad_request(f"'generate' must be a whole number from 1 to {MAX_GENERATE}.",
                              "invalid_field")
        if ctx.product is None:
            raise bad_request("Say which product to generate serials for (field 'sku').",
                              "missing_field")
        texts = _mint(ctx.product, generate)
    else:
        texts, products = _split_product_codes(_texts(serials), outcome)
        if ctx.product is None and len({p.id for p in products}) == 1:
            ctx.product = products[0]
        if not texts and outcome.ignored:
            return outcome  # only product barcodes: the page asks for the serial next
    for text in texts:
        outcome.results.append(_run_step(text, lambda t=text: _receive_one(actor, ctx, t)))
    return outcome


# ---------------------------------------------------------------- move, quarantine, scrap

def _serial_steps(texts: list[str], sku: str | None, outcome: Outcome, step) -> Outcome:
    product = get_product(sku)
    product_id = product.id if product else None
    for text in texts:
        outcome.results.append(_run_step(text, lambda t=text: step(find_serial(t, product_id))))
    return outcome


def move(actor: Actor, *, location=None, serials=None, sku=None) -> Outcome:
    loc = get_location(location)
    outcome = Outcome()
    texts, _ = _split_product_codes(_texts(serials), outcome)

    def step(serial: Serial) -> dict:
        status = _next(serial, "move")
        if serial.location_id == loc.id:
            return {**_ok(serial), "note": f"Already at {loc.code}."}
        return _transition(serial, actor, "move", status, {"location_id": loc.id})
    return _serial_steps(texts, sku, outcome, step)


def _ok(serial: Serial) -> dict:
    return {"serial": serial.serial, "sku": serial.product.sku, "ok": True, "status": serial.status}


def _next(serial: Serial, action: str, disposition: str | None = None) -> str:
    try:
        return lifecycle.next_status(action, serial.status, disposition)
    except lifecycle.TransitionError as exc:
        raise StepError(exc.code, f"{serial.serial}: {exc.message}", serial.product.sku) from None


def set_aside(actor: Actor, action: str, *, serials=None, sku=None, location=None,
              reason=None) -> Outcome:
    """quarantine, release or scrap: a manager's decision about units in stock."""
    loc = get_location(location, required=False)
    outcome = Outcome()
    texts, _ = _split_product_codes(_texts(serials), outcome)

    def step(serial: Serial) -> dict:
        status = _next(serial, action)
        changes = {"location_id": loc.id} if loc else {}
        return _transition(serial, actor, action, status, changes, note=reason)
    return _serial_steps(texts, sku, outcome, step)


# ---------------------------------------------------------------- pick, unpick, ship

def _open_order(number) -> SalesOrder:
    order = get_sales_order(number)
    if order.status == "shipped":
        raise RequestError(409, "order_closed", f"Sales order {order.number} has already shipped.")
    return order


def _line_for(order: SalesOrder, serial: Serial) -> SalesOrderLine:
    line = next((ln for ln in order.lines if ln.product_id == serial.product_id), None)
    if line is None:
        raise StepError("sku_not_on_order",
                        f"{serial.product.sku} is not on order {order.number}.", serial.product.sku)
    return line


def pick(actor: Actor, *, order=None, serials=None, sku=None) -> Outcome:
    so = _open_order(order)
    outcome = Outcome()
    texts, _ = _split_product_codes(_texts(serials), outcome)

    def step(serial: Serial) -> dict:
        sku_ = serial.product.sku
        if serial.status == lifecycle.PICKED and serial.sales_order_id == so.id:
            return {**_ok(serial), "note": f"Already picked for {so.number}."}
        if serial.status == lifecycle.PICKED:
            raise StepError("serial_not_available",
                            f"{serial.serial} is already picked for order "
                            f"{serial.sales_order.number}.", sku_)
        status = _next(serial, "pick")
        if serial.location and not serial.location.pickable:
            raise StepError("serial_not_available",
                            f"{serial.serial} is at {serial.location.code}, which is not a "
                            "pickable location.", sku_)
        line = _line_for(so, serial)
        if not _bump_line(SalesOrderLine, line.id, "filled_qty", +1):
            raise StepError("order_line_full",
                            f"Order {so.number} needs only {line.qty} of {sku_}; that line "
                            "is already full.", sku_)
        return _transition(serial, actor, "pick", status, {"sales_order_id": so.id},
                           sales_order_id=so.id)
    return _serial_steps(texts, sku, outcome, step)


def unpick(actor: Actor, *, order=None, location=None, serials=None, sku=None) -> Outcome:
    so = _open_order(order)
    loc = get_location(location)
    outcome = Outcome()
    texts, _ = _split_product_codes(_texts(serials), outcome)

    def step(serial: Serial) -> dict:
        if serial.sales_order_id != so.id or serial.status != lifecycle.PICKED:
            raise StepError("serial_not_on_order",
                            f"{serial.serial} is not picked for order {so.number}.",
                            serial.product.sku)
        status = _next(serial, "unpick")
        _bump_line(SalesOrderLine, _line_for(so, serial).id, "filled_qty", -1)
        return _transition(serial, actor, "unpick", status,
                           {"sales_order_id": None, "location_id": loc.id}, sales_order_id=so.id)
    return _serial_steps(texts, sku, outcome, step)


def ship(actor: Actor, *, order=None, partial=False) -> Outcome:
    so = _open_order(order)
    short = [f"{ln.product.sku}: {ln.filled_qty} of {ln.qty}" for ln in so.lines
             if ln.filled_qty < ln.qty]
    if short and not partial:
        raise RequestError(409, "order_incomplete",
                           f"Order {so.number} is not fully picked ({'; '.join(short)}). "
                           "Pick the rest, or ship with partial=true.")
    picked = db.session.scalars(select(Serial).where(
        Serial.sales_order_id == so.id, Serial.status == lifecycle.PICKED)
        .order_by(Serial.id)).all()
    if not picked:
        raise RequestError(409, "nothing_to_ship", f"Nothing is picked for order {so.number}.")
    customer_id = so.customer_id
    outcome = Outcome()
    for serial_id, text in [(s.id, s.serial) for s in picked]:
        def step(sid=serial_id) -> dict:
            serial = db.session.get(Serial, sid)
            status = _next(serial, "ship")
            today = utcnow().date()
            warranty = today + timedelta(days=serial.product.warranty_days or 0)
            return _transition(serial, actor, "ship", status, {
                "customer_id": customer_id, "shipped_at": utcnow(), "warranty_until": warranty},
                sales_order_id=so.id, customer_id=customer_id)
        outcome.results.append(_run_step(text, step))
    _settle_order(so.id)
    return outcome


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
            location=None) -> Outcome:
    if not reason or not str(reason).strip():
        raise bad_request("Say why it came back (field 'reason').", "missing_field")
    if disposition not in lifecycle.DISPOSITIONS:
        raise bad_request("'disposition' must be restock, quarantine or scrap.", "invalid_field")
    loc = get_location(location, required=disposition == "restock")
    outcome = Outcome()
    texts, _ = _split_product_codes(_texts(serials), outcome)

    def step(serial: Serial) -> dict:
        status = _next(serial, "return", disposition)
        changes = {"sales_order_id": None, "customer_id": None, "warranty_until": None,
                   "location_id": loc.id if loc else None}
        return _transition(serial, actor, "return", status, changes, note=str(reason).strip(),
                           sales_order_id=serial.sales_order_id, customer_id=serial.customer_id)
    return _serial_steps(texts, sku, outcome, step)
