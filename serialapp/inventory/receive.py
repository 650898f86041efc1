"""Receive: new serials into stock, scanned, from a photo, or minted from a template."""
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from .. import chain, identifiers, lifecycle, messages, serials, steplog
from ..errors import StepError, busy, refusal, refuse
from ..extensions import db
from ..hotpath import Prepared
from ..models import Product, PurchaseOrder, PurchaseOrderLine, Serial, utcnow
from . import expected
from .base import MAX_GENERATE, Actor, Outcome
from .lookups import (
    _interpret,
    canonical_serial,
    get_location,
    get_product,
    get_purchase_order,
    product_by_gtin,
)
from .steps import _INSERT_EVENT_SQL, _bump_line, _run_steps, _scanned, _texts

_SET_HEAD_SQL = Prepared(update(Serial).where(Serial.id == bindparam("_id"))
                         .values(history_head=bindparam("_head")))


def _parse_expiry(value) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise refuse(400, "invalid_field/expiry", value=value) from None


def fits(product: Product, serial_text: str) -> bool:
    """Whether the serial fits the product's pattern. Where letter case does not count for
    the product, it does not count for its pattern either (cs-0001 is CS-0001). A pattern
    saved before patterns had to run in linear time may be one the matcher refuses: that
    is the product's fault, said as such, never a failed request."""
    forms = [serial_text] if product.serials_case_sensitive else \
        list(dict.fromkeys([serial_text, serial_text.upper(), serial_text.lower()]))
    try:
        return any(identifiers.serial_matches(product.serial_pattern, f) for f in forms)
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
    literal: bool = False  # each text is a serial as it is (an import, a minted serial)
    expected: bool = False  # the order has a supplier's list of serials to check against


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
                          if p.serial_pattern and fits(p, text)]
        if len(candidates) == 1:
            return candidates[0]
    if _misread_check_digit(text, ("imei",)):  # 15 digits is an IMEI, whatever the product
        raise refusal("invalid_serial/imei_check")
    raise refusal("unknown_sku/which")


def _receive_one(conn: Connection, actor: Actor, ctx: _ReceiveContext, text: str,
                 pack: "expected.Pack | None" = None) -> dict:
    """One unit: a scanned text, or (`pack`) a unit its case's document lists."""
    if pack is not None:
        product = db.session.get(Product, pack.product_id)
        serial_text, lot, expiry = pack.serial, pack.lot, pack.expiry
    else:
        interp = identifiers.Interpretation(text=text, kind="text") if ctx.literal \
            else _interpret(text)
        serial_text = interp.serial if interp.kind in ("gs1", "imei", "vin") else interp.text
        if serial_text:  # a text that cannot be a serial says so before "which product?"
            serial_text = canonical_serial(serial_text,
                                           ctx.product.sku if ctx.product else None)
        product = _product_for(interp, ctx, text)
        if not serial_text:
            raise refusal("invalid_serial/no_serial_in_gs1", product.sku)
        lot, expiry = interp.lot or ctx.lot, interp.expiry or ctx.expiry
    serial_key = serials.key(serial_text, product.serials_case_sensitive)
    if not fits(product, serial_text):
        raise _pattern_refusal(product, serial_text)
    existing = conn.execute(select(Serial.id, Serial.serial, Serial.status, Serial.location_id,
                                   Serial.purchase_order_id).where(
        Serial.product_id == product.id, Serial.serial_key == serial_key)).first()
    if existing is not None:
        po_id = ctx.po.id if ctx.po else None
        if existing.status in lifecycle.RECEIVE_STATUSES and \
                existing.location_id == ctx.location_id \
                and po_id in (None, existing.purchase_order_id):
            # The same label scanned twice while receiving: already done, not a second unit.
            repeat = {"serial": existing.serial, "sku": product.sku, "ok": True,
                      "status": existing.status, "note": messages.repeat("received"),
                      "repeat": True}
            if existing.status == lifecycle.IN_STOCK:
                return repeat
            reason = expected.suspect_reason(conn, existing.id)
            if reason is not None:  # a suspect scanned again: still said in red, and why
                return {**repeat, "suspect": True, "reason": reason}
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
    suspect = None
    if ctx.expected and ctx.po is not None:
        suspect, lot, expiry = expected.check(conn, ctx.po, product.id, serial_key, lot, expiry)
    status = lifecycle.received_status(suspect is not None)
    now = utcnow()
    serial_id = conn.execute(insert(Serial).values(
        product_id=product.id, serial=serial_text, serial_key=serial_key,
        search_key=serials.search_key(serial_text), search_rev=serials.search_key(serial_text)[::-1],
        status=status, version=1, location_id=ctx.location_id, lot=lot, expiry=expiry,
        purchase_order_id=po_id, received_at=now)
    ).inserted_primary_key[0]
    event = {"serial_id": serial_id, "type": "receive", "from_status": None,
             "to_status": status, "from_location_id": None,
             "to_location_id": ctx.location_id, "purchase_order_id": po_id,
             "sales_order_id": None, "customer_id": None, "user_id": actor.user_id,
             "at": now, "source": actor.source,
             "note": f"Suspect: {suspect}" if suspect else None, "warranty_return": None}
    # The first link of the serial's chain (chain.py); its hash covers the serial's id, so
    # the head is written once the row has one.
    head = chain.written_hash(None, product_id=product.id, serial=serial_text, **event)
    event["hash"], event["prev"] = head, chain.link(None)
    _INSERT_EVENT_SQL.run(conn, event)
    _SET_HEAD_SQL.run(conn, {"_id": serial_id, "_head": head})
    answer = {"serial": serial_text, "sku": product.sku, "ok": True, "status": status}
    if suspect:
        expected.record_suspect(conn, serial_id, po_id, suspect)
        answer.update(suspect=True, reason=suspect)
    return answer


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


MAX_LOT = Serial.__table__.c.lot.type.length


def _lot(value) -> str | None:
    lot = str(value).strip() if value not in (None, "") else ""
    if len(lot) > MAX_LOT:
        # The column's length: PostgreSQL would refuse it mid-batch, SQLite keep it whole.
        raise refuse(400, "invalid_field/lot", limit=MAX_LOT)
    return lot or None


def receive(actor: Actor, *, location=None, purchase_order=None, sku=None, lot=None, expiry=None,
            serials=None, generate=None, decoded=None, literal=False,
            open_case=False) -> Outcome:
    """Receive scanned texts (each interpreted: GS1, IMEI, a product barcode...), or with
    `literal` (an import) serial numbers taken as they are, or `generate` new ones.

    On an order with a supplier's list of expected serials, each unit is checked against
    it: one the list does not vouch for is received into quarantine as suspect. A scanned
    case (SSCC) the list knows answers with the packs it holds; sent again with
    `open_case`, it receives them all and the case counts as opened."""
    ctx = _ReceiveContext(location_id=get_location(location).id, product=get_product(sku),
                          po=get_purchase_order(purchase_order), lot=_lot(lot),
                          expiry=_parse_expiry(expiry),
                          literal=literal or generate is not None)
    ctx.expected = ctx.po is not None and expected.has_expected(ctx.po.id)
    log = steplog.current()
    resuming = log is not None and log.plan is not None
    if ctx.po is not None and ctx.po.status != lifecycle.PO_OPEN and not resuming:
        raise refuse(409, "po_not_open", po=ctx.po.number,
                     status=ctx.po.status.replace("_", " "))
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
    elif literal:
        if ctx.product is None:
            raise refuse(400, "missing_field/generate_product")
        texts = steplog.plan(lambda: _texts(serials))
    else:
        texts, products = _scanned(serials, decoded, outcome)
        if ctx.product is None and len({p.id for p in products}) == 1:
            ctx.product = products[0]
        texts, steps, opened = _cases(actor, ctx, texts, outcome, open_case)
        if not texts and not steps and (outcome.ignored or outcome.cases):
            return outcome  # only product barcodes or cases: the page asks for what is next
        items = [(t, lambda c, t=t: _receive_one(c, actor, ctx, t)) for t in texts] + steps
        _run_steps(outcome, items, last=not opened)
        # Opened only once every pack is in: a batch cut short (not_done) leaves the case
        # closed, and the retry that finishes it opens it.
        if not outcome.unfinished:
            for case in opened:
                expected.mark_opened(case, actor)
        elif opened:
            _cases_not_opened(outcome, opened)
        return outcome
    return _run_steps(outcome, [(t, lambda c, t=t: _receive_one(c, actor, ctx, t))
                                for t in texts], last=True)


def _sscc_of(text: str) -> tuple[str | None, bool]:
    """(the SSCC, surely a case) when a scanned text is a case label's (00) naming no unit.
    A GS1 code says so itself; 00 and 18 digits with a right check digit, as a scanner
    without symbology identifiers types it, may also be a long numeric serial: it is a case
    only if a document lists one by that number."""
    try:
        interp = identifiers.interpret(text)
    except identifiers.IdentifierError:
        return None, False
    if interp.kind == "gs1" and "00" in interp.ais and not interp.gtin and not interp.serial:
        return interp.ais["00"], True
    digits = interp.text
    if len(digits) == 20 and digits.startswith("00") and digits.isascii() and digits.isdigit() \
            and identifiers.gtin_check_digit(digits[2:19]) == digits[19]:
        return digits[2:], False
    return None, False


def _cases(actor: Actor, ctx: _ReceiveContext, texts: list[str], outcome: Outcome,
           open_case: bool) -> tuple[list[str], list, list]:
    """Set scanned cases apart from the units: each case the order's list knows is answered
    with the packs inside it, and, confirmed (`open_case`), becomes one step per pack."""
    rest, steps, opened = [], [], []
    for text in texts:
        sscc, surely = _sscc_of(text)
        case = expected.find_case(sscc, ctx.po) if sscc else None
        if case is None:
            if surely:
                outcome.results.append(expected.unknown_case(text, ctx.po))
            else:
                rest.append(text)
            continue
        log = steplog.current()
        if case.po.status != lifecycle.PO_OPEN and not (log is not None and log.plan is not None):
            raise refuse(409, "po_not_open", po=case.po.number,
                         status=case.po.status.replace("_", " "))
        outcome.cases.append(_case_view(case, confirmed=open_case))
        if open_case:
            case_ctx = replace(ctx, po=case.po, product=None, expected=True)
            steps += [(p.serial, lambda c, p=p: _receive_one(c, actor, case_ctx, p.serial, p))
                      for p in case.packs]
            opened.append(case)
    return rest, steps, opened


def _cases_not_opened(outcome: Outcome, opened: list) -> None:
    """A confirmed case's view was written before its packs were received, as if all would
    be; when the run stopped part way (`not_done`), the case stays unopened until a retry
    finishes it, and its answer says so, with how many of its packs are in."""
    # With `open_case`, each case found has its view and its packs' steps, in the same
    # order; the packs' steps come after every loose unit's, one answer each.
    answers = outcome.results[len(outcome.results) - sum(len(c.packs) for c in opened):]
    for view, case in zip(outcome.cases, opened):
        mine, answers = answers[:len(case.packs)], answers[len(case.packs):]
        received = sum(1 for a in mine if a["ok"])
        not_done = sum(1 for a in mine if a.get("error", {}).get("code") == "not_done")
        view["opened"] = bool(case.opened_at)  # opened by an earlier scan, or not yet
        state = " (opened before)" if case.opened_at else " is not opened yet"
        view["message"] = (f"Case {case.sscc}{state}: {received} of {len(case.packs)} "
                           f"received, {not_done} not done, so send it again to finish.")


def _case_view(case: "expected.CaseFound", confirmed: bool) -> dict:
    from ..queries import iso
    skus: dict[str, int] = {}
    for pack in case.packs:
        skus[pack.sku] = skus.get(pack.sku, 0) + 1
    held = ", ".join(f"{n} of {sku}" for sku, n in skus.items()) or "nothing listed"
    view = {"sscc": case.sscc, "purchase_order": case.po.number, "count": len(case.packs),
            "opened": bool(case.opened_at) or confirmed, "opened_at": iso(case.opened_at),
            "confirm": not confirmed,
            "packs": [{"serial": p.serial, "sku": p.sku, "gtin": p.gtin, "lot": p.lot,
                       "expiry": iso(p.expiry)} for p in case.packs]}
    if confirmed:
        view["message"] = f"Case {case.sscc} opened: {len(case.packs)} received ({held})."
    else:
        again = " It was opened before; its units are received again only once." \
            if case.opened_at else ""
        view["message"] = (f"Case {case.sscc} on {case.po.number} holds {len(case.packs)} "
                           f"({held}): receive them all?{again}")
    return view
