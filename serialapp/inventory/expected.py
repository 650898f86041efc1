"""Expected serials: a supplier's list attached to a purchase order (epcis.py reads it), what
receiving checks each scan against, and the cases (SSCC) whose packs one scan receives.

Attaching is one transaction: every unit of the document is checked first (its product
known by GTIN or SKU and on the order, its serial a serial of that product, none already
expected on the order), and then the shipment, its units and its cases are written and
committed together, or nothing is."""
import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from .. import epcis, messages, serials
from ..errors import RequestError, refusal
from ..extensions import db
from ..models import (ExpectedCase, ExpectedSerial, Product, PurchaseOrder, Shipment,
                      SuspectReceipt, utcnow)
from .. import lifecycle
from .base import Actor

MAX_DOCUMENT_BYTES = epcis.MAX_DOCUMENT_BYTES


def _unprocessable(code: str, message: str, status: int = 422) -> RequestError:
    return RequestError(status, code, message)


def _products(units: list[epcis.Unit]) -> dict[tuple, Product]:
    """(gtin, sku) -> product for every unit, or a 422 naming the first unknown one."""
    gtins = {u.gtin for u in units if u.gtin}
    skus = {u.sku for u in units if u.sku}
    by_gtin = {p.gtin: p for p in db.session.scalars(select(Product).where(
        Product.gtin.in_(gtins)))} if gtins else {}
    by_sku = {p.sku: p for p in db.session.scalars(select(Product).where(
        Product.sku.in_(skus)))} if skus else {}
    found = {}
    for unit in units:
        ref = (unit.gtin, unit.sku)
        if ref in found:
            continue
        product = by_gtin.get(unit.gtin) or by_sku.get(unit.sku)
        if product is None:
            if unit.gtin:
                raise _unprocessable("unknown_gtin", f"No product has the GTIN {unit.gtin} "
                                     f"({unit.where}), so nothing was attached: add the product "
                                     f"with that GTIN first.")
            raise _unprocessable("unknown_sku", f"There is no product {unit.sku} "
                                 f"({unit.where}), so nothing was attached.")
        found[ref] = product
    return found


def _canonical(text: str) -> str:
    """serials.canonical, with a shortcut for what suppliers send: plain printable ASCII
    already is its own canonical form (NFC, no invisible character, one alphabet), so only
    its length and a letter or digit are left to check."""
    if text.isascii() and text.isprintable() and 0 < len(text) <= serials.MAX_LENGTH and \
            text == text.strip() and any(c.isalnum() for c in text):
        return text
    return serials.canonical(text)


@dataclass
class _Row:
    product: Product
    serial: str
    key: str
    unit: epcis.Unit


def _rows(po: PurchaseOrder, doc: epcis.Document) -> list[_Row]:
    from .receive import fits
    products = _products(doc.units)
    on_order = {line.product_id for line in po.lines}
    rows, seen = [], {}
    for unit in doc.units:
        product = products[(unit.gtin, unit.sku)]
        if product.id not in on_order:
            raise _unprocessable(
                "sku_not_on_order", f"The document lists {product.sku} ({unit.where}), which is "
                f"not on purchase order {po.number}: is it the document of another order? "
                f"Nothing was attached.")
        try:
            serial = _canonical(unit.serial)
        except serials.SerialTextError as exc:
            raise _unprocessable("invalid_serial", f"The serial \"{unit.serial}\" ({unit.where}) "
                                 f"cannot be a serial: {exc} Nothing was attached.") from None
        if not fits(product, serial):
            raise _unprocessable("invalid_serial", f"The serial {serial} ({unit.where}) does "
                                 f"not look like a {product.sku} serial, so nothing was "
                                 f"attached: check the product, or the document.")
        key = serials.key(serial, product.serials_case_sensitive)
        if (product.id, key) in seen:
            raise _unprocessable("duplicate_serial", f"The document lists {product.sku} "
                                 f"{serial} twice ({seen[(product.id, key)]} and {unit.where}), "
                                 f"so nothing was attached.")
        seen[(product.id, key)] = unit.where
        rows.append(_Row(product, serial, key, unit))
    return rows


def attach(actor: Actor, po: PurchaseOrder, data: bytes, filename: str = "") -> dict:
    """Read a supplier's document and keep its serials as the order's expected ones."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _document_error(epcis.too_large())
    if po.status != lifecycle.PO_OPEN:
        raise RequestError(409, "po_not_open", messages.say(
            "po_not_open", po=po.number, status=po.status.replace("_", " ")))
    try:
        doc = epcis.read(data, filename)
    except epcis.DocumentError as exc:
        raise _document_error(exc) from None
    digest = hashlib.sha256(data).hexdigest()
    if db.session.scalar(select(exists().where(Shipment.purchase_order_id == po.id,
                                               Shipment.sha256 == digest))):
        raise RequestError(409, "already_attached", f"This document is already attached to "
                           f"purchase order {po.number}.")
    rows = _rows(po, doc)
    earlier = set(db.session.execute(select(ExpectedSerial.product_id, ExpectedSerial.serial_key)
                                     .where(ExpectedSerial.purchase_order_id == po.id)).all())
    clash = next((r for r in rows if (r.product.id, r.key) in earlier), None)
    if clash is not None:
        raise RequestError(409, "already_expected", f"{clash.product.sku} {clash.serial} "
                           f"({clash.unit.where}) is already expected on purchase order "
                           f"{po.number} from another document, so nothing was attached.")
    known_cases = set(db.session.scalars(select(ExpectedCase.sscc).where(
        ExpectedCase.purchase_order_id == po.id)))
    case_clash = next((c for c in doc.cases if c.sscc in known_cases), None)
    if case_clash is not None:
        raise RequestError(409, "already_expected", f"Case {case_clash.sscc} is already "
                           f"expected on purchase order {po.number} from another document, "
                           f"so nothing was attached.")
    shipment = Shipment(purchase_order_id=po.id, format=doc.format,
                        filename=(filename or "")[:200], media_type=doc.media_type,
                        sha256=digest, size=len(data), units=len(rows),
                        shipped_at=doc.shipped_at, info=doc.info(), user_id=actor.user_id,
                        document=data)
    try:
        db.session.add(shipment)
        db.session.flush()
        db.session.execute(insert(ExpectedSerial), [
            {"shipment_id": shipment.id, "purchase_order_id": po.id,
             "product_id": r.product.id, "gtin": r.unit.gtin or r.product.gtin,
             "serial": r.serial, "serial_key": r.key, "lot": r.unit.lot,
             "expiry": r.unit.expiry, "case_sscc": r.unit.case} for r in rows])
        if doc.cases:
            db.session.execute(insert(ExpectedCase), [
                {"shipment_id": shipment.id, "purchase_order_id": po.id, "sscc": c.sscc,
                 "parent_sscc": c.parent} for c in doc.cases])
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return {"shipment": shipment_summary(shipment, po.number), "expected": len(rows),
            "cases": len(doc.cases), "by_product": _by_product(po, rows),
            "warnings": doc.warnings + _over_order(po, rows)}


def _document_error(exc: epcis.DocumentError) -> RequestError:
    return RequestError(exc.status, exc.code, exc.message)


def _by_product(po: PurchaseOrder, rows: list[_Row]) -> list[dict]:
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.product.id] = counts.get(row.product.id, 0) + 1
    return [{"sku": line.product.sku, "gtin": line.product.gtin, "listed": counts[line.product_id],
             "ordered": line.qty} for line in po.lines if line.product_id in counts]


def _over_order(po: PurchaseOrder, rows: list[_Row]) -> list[str]:
    """Warnings where the lists so far hold more units of a product than the order."""
    listed = dict(db.session.execute(
        select(ExpectedSerial.product_id, func.count()).where(
            ExpectedSerial.purchase_order_id == po.id).group_by(ExpectedSerial.product_id)).all())
    return [f"The lists hold {listed[line.product_id]} of {line.product.sku}, and the order is "
            f"for {line.qty}: units past {line.qty} will be refused as over the order."
            for line in po.lines if listed.get(line.product_id, 0) > line.qty]


def shipment_summary(shipment: Shipment, po_number: str) -> dict:
    from ..queries import iso
    return {"id": shipment.id, "purchase_order": po_number, "format": shipment.format,
            "filename": shipment.filename, "media_type": shipment.media_type,
            "sha256": shipment.sha256, "size": shipment.size, "units": shipment.units,
            "shipped_at": iso(shipment.shipped_at), "attached_at": iso(shipment.created_at),
            "document_url": f"/api/shipments/{shipment.id}/document"}


# ------------------------------------------------------------------ receiving

def has_expected(po_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        ExpectedSerial.purchase_order_id == po_id))))


_LISTED = (select(ExpectedSerial.lot, ExpectedSerial.expiry)
           .where(ExpectedSerial.purchase_order_id == bindparam("po"),
                  ExpectedSerial.product_id == bindparam("product"),
                  ExpectedSerial.serial_key == bindparam("key")))


def check(conn: Connection, po: PurchaseOrder, product_id: int, key: str, lot: str | None,
          expiry: date | None) -> tuple[str | None, str | None, date | None]:
    """(why it is suspect or None, lot, expiry) for a unit received on a purchase order with
    expected serials. A unit scanned without its lot or expiry takes the listed ones."""
    listed = conn.execute(_LISTED, {"po": po.id, "product": product_id, "key": key}).first()
    if listed is None:
        return messages.say("suspect/not_listed", po=po.number), lot, expiry
    if lot and listed.lot and lot != listed.lot:
        return messages.say("suspect/lot", lot=lot, listed=listed.lot), lot, expiry
    if expiry and listed.expiry and expiry != listed.expiry:
        return messages.say("suspect/expiry", expiry=expiry.isoformat(),
                            listed=listed.expiry.isoformat()), lot, expiry
    return None, lot or listed.lot, expiry or listed.expiry


def record_suspect(conn: Connection, serial_id: int, po_id: int, reason: str) -> None:
    conn.execute(insert(SuspectReceipt).values(serial_id=serial_id, purchase_order_id=po_id,
                                               reason=reason, at=utcnow()))


def suspect_reason(conn: Connection, serial_id: int) -> str | None:
    return conn.execute(select(SuspectReceipt.reason).where(
        SuspectReceipt.serial_id == serial_id)).scalar()


# ------------------------------------------------------------------ cases

@dataclass(frozen=True)
class Pack:
    product_id: int
    sku: str
    gtin: str | None
    serial: str
    lot: str | None
    expiry: date | None


@dataclass
class CaseFound:
    sscc: str
    po: PurchaseOrder
    ids: list[int]            # this case and every case inside it
    opened_at: object
    packs: list[Pack]


def find_case(sscc: str, po: PurchaseOrder | None) -> CaseFound | None:
    """The case an SSCC names on `po` (or, without one, on the one open order listing it),
    with every pack inside it at any depth, in the document's order."""
    query = select(ExpectedCase).join(PurchaseOrder, PurchaseOrder.id ==
                                      ExpectedCase.purchase_order_id).where(
        ExpectedCase.sscc == sscc)
    if po is not None:
        query = query.where(ExpectedCase.purchase_order_id == po.id)
    else:
        query = query.where(PurchaseOrder.status == lifecycle.PO_OPEN)
    found = db.session.scalars(query.order_by(ExpectedCase.id)).all()
    if len(found) != 1:
        return None
    case = found[0]
    everything = db.session.execute(select(ExpectedCase.id, ExpectedCase.sscc,
                                           ExpectedCase.parent_sscc).where(
        ExpectedCase.purchase_order_id == case.purchase_order_id)).all()
    inside, frontier = {case.sscc: case.id}, [case.sscc]
    while frontier:
        nxt = []
        for cid, code, parent in everything:
            if parent in frontier and code not in inside:
                inside[code] = cid
                nxt.append(code)
        frontier = nxt
    rows = db.session.execute(
        select(ExpectedSerial.product_id, Product.sku, ExpectedSerial.gtin, ExpectedSerial.serial,
               ExpectedSerial.lot, ExpectedSerial.expiry)
        .join(Product, Product.id == ExpectedSerial.product_id)
        .where(ExpectedSerial.purchase_order_id == case.purchase_order_id,
               ExpectedSerial.case_sscc.in_(list(inside)))
        .order_by(ExpectedSerial.id)).all()
    return CaseFound(sscc=sscc, po=db.session.get(PurchaseOrder, case.purchase_order_id),
                     ids=list(inside.values()), opened_at=case.opened_at,
                     packs=[Pack(*row) for row in rows])


def mark_opened(case: CaseFound, actor: Actor) -> None:
    """The case counts as opened: its packs were all received on a confirmed scan. Only the
    first confirmation is kept (a retry after a crash changes nothing)."""
    db.session.execute(update(ExpectedCase).where(ExpectedCase.id.in_(case.ids),
                                                  ExpectedCase.opened_at.is_(None))
                       .values(opened_at=utcnow(), opened_by=actor.user_id))
    db.session.commit()


def unknown_case(text: str, po: PurchaseOrder | None) -> dict:
    key = "unknown_case" if po is not None else "unknown_case/any"
    return refusal(key, po=po.number if po else "").as_result(text)
