"""The supplier's lists on a purchase order, read: expected, received, missing and suspect;
the receiving report (a page, a CSV); and the transaction data of one unit (GTIN + serial)
for a regulator: the transaction information, the transaction statement and the document.

Received is found by joining each expected unit to the serial received on the same order
(same product, same serial by the product's case rule); nothing is stored twice."""
from sqlalchemy import and_, func, select

from .. import identifiers, serials
from ..csvfiles import write_rows
from ..errors import RequestError, bad_request
from ..extensions import db
from ..inventory.expected import shipment_summary
from ..models import (ExpectedCase, ExpectedSerial, Location, Product, PurchaseOrder, Serial,
                      Shipment, Supplier, SuspectReceipt)

# What the purchase order's page lists of missing and suspect units; the report has all.
PAGE_LIST = 200


def _iso(value):
    from ..queries import iso
    return iso(value)


def _received_join():
    return and_(Serial.product_id == ExpectedSerial.product_id,
                Serial.serial_key == ExpectedSerial.serial_key,
                Serial.purchase_order_id == ExpectedSerial.purchase_order_id)


def _expected_rows(po_id: int, only_missing: bool = False, limit: int | None = None):
    query = (select(ExpectedSerial.id, Product.sku, ExpectedSerial.gtin, ExpectedSerial.serial,
                    ExpectedSerial.lot, ExpectedSerial.expiry, ExpectedSerial.case_sscc,
                    ExpectedSerial.shipment_id, Serial.status, Location.code, Serial.received_at)
             .join(Product, Product.id == ExpectedSerial.product_id)
             .outerjoin(Serial, _received_join())
             .outerjoin(Location, Location.id == Serial.location_id)
             .where(ExpectedSerial.purchase_order_id == po_id).order_by(ExpectedSerial.id))
    if only_missing:
        query = query.where(Serial.id.is_(None))
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).all()


def _suspects(po_id: int, limit: int | None = None):
    query = (select(Serial.serial, Product.sku, Product.gtin, Serial.lot, Serial.expiry,
                    Serial.status, Location.code, SuspectReceipt.reason, SuspectReceipt.at)
             .join(Serial, Serial.id == SuspectReceipt.serial_id)
             .join(Product, Product.id == Serial.product_id)
             .outerjoin(Location, Location.id == Serial.location_id)
             .where(SuspectReceipt.purchase_order_id == po_id).order_by(SuspectReceipt.id))
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).all()


def _missing_view(row) -> dict:
    return {"sku": row.sku, "gtin": row.gtin, "serial": row.serial, "lot": row.lot,
            "expiry": _iso(row.expiry), "case": row.case_sscc}


def _suspect_view(row) -> dict:
    return {"sku": row.sku, "gtin": row.gtin, "serial": row.serial, "lot": row.lot,
            "expiry": _iso(row.expiry), "status": row.status, "location": row.code,
            "reason": row.reason, "at": _iso(row.at)}


def summary(po: PurchaseOrder, limit: int | None = None) -> dict:
    """Expected, received, missing and suspect on a purchase order, with the units missing
    and suspect (the first `limit` of each, or all), and its shipments."""
    expected = db.session.scalar(select(func.count()).select_from(ExpectedSerial).where(
        ExpectedSerial.purchase_order_id == po.id)) or 0
    arrived = db.session.scalar(
        select(func.count()).select_from(ExpectedSerial).join(Serial, _received_join())
        .where(ExpectedSerial.purchase_order_id == po.id)) or 0
    # Listed units that arrived but not as listed (another lot or expiry) are suspect, not
    # received: expected = received + missing + those.
    listed_suspect = db.session.scalar(
        select(func.count()).select_from(ExpectedSerial).join(Serial, _received_join())
        .join(SuspectReceipt, SuspectReceipt.serial_id == Serial.id)
        .where(ExpectedSerial.purchase_order_id == po.id)) or 0
    suspect = db.session.scalar(select(func.count()).select_from(SuspectReceipt).where(
        SuspectReceipt.purchase_order_id == po.id)) or 0
    shipments = db.session.scalars(select(Shipment).where(Shipment.purchase_order_id == po.id)
                                   .order_by(Shipment.id)).all()
    cases = db.session.execute(select(func.count(), func.count(ExpectedCase.opened_at)).where(
        ExpectedCase.purchase_order_id == po.id)).one()
    return {
        "listed": bool(shipments), "expected": expected,
        "received": arrived - listed_suspect, "missing": expected - arrived, "suspect": suspect,
        "cases": cases[0], "cases_opened": cases[1],
        "missing_serials": [_missing_view(r) for r in _expected_rows(po.id, True, limit)],
        "suspect_serials": [_suspect_view(r) for r in _suspects(po.id, limit)],
        "shipments": [shipment_summary(s, po.number) for s in shipments],
    }


REPORT_COLUMNS = ["state", "sku", "gtin", "serial", "lot", "expiry", "case", "status",
                  "location", "received_at", "reason"]


def report_rows(po: PurchaseOrder):
    """Every expected unit (received or missing), then every suspect one, as report rows."""
    suspects = {(r.sku, r.serial) for r in _suspects(po.id)}
    for row in _expected_rows(po.id):
        state = "missing" if row.status is None else \
            "suspect" if (row.sku, row.serial) in suspects else "received"
        if state == "suspect":
            continue  # listed below with its reason
        yield {"state": state, "sku": row.sku, "gtin": row.gtin, "serial": row.serial,
               "lot": row.lot, "expiry": _iso(row.expiry), "case": row.case_sscc,
               "status": row.status, "location": row.code, "received_at": _iso(row.received_at),
               "reason": None}
    for row in _suspects(po.id):
        yield {"state": "suspect", "sku": row.sku, "gtin": row.gtin, "serial": row.serial,
               "lot": row.lot, "expiry": _iso(row.expiry), "case": None,
               "status": row.status, "location": row.code, "received_at": _iso(row.at),
               "reason": row.reason}


def report_csv(po: PurchaseOrder):
    return write_rows(REPORT_COLUMNS, ([row[c] for c in REPORT_COLUMNS]
                                       for row in report_rows(po)))


# ------------------------------------------------------------------ transaction data

def _party_of_supplier(supplier: Supplier) -> dict:
    return {"name": supplier.name, "code": supplier.code, "address": supplier.address,
            "licence": supplier.licence, "contact": supplier.contact, "email": supplier.email,
            "phone": supplier.phone}


def ndc_of(gtin: str | None) -> str | None:
    """The US National Drug Code inside a GTIN-14 of a US drug (indicator, 03, NDC, check)."""
    if gtin and len(gtin) == 14 and gtin[1:3] == "03":
        return gtin[3:13]
    return None


def find_units(gtin: str | None = None, serial: str | None = None, sku: str | None = None,
               q: str | None = None) -> tuple[dict, list]:
    """The expected units a product identifier names: GTIN + serial, SKU + serial, or one
    scanned text (a GS1 code, a Digital Link, an SGTIN EPC URI) holding both."""
    if q:
        gtin, serial = _identifier(q)
    if not serial or not (gtin or sku):
        raise bad_request("Give the product (GTIN or SKU) and the serial, or scan the unit's "
                          "code.", "missing_field", "serial")
    query = select(ExpectedSerial).join(Product, Product.id == ExpectedSerial.product_id)
    if gtin:
        normal = identifiers.normalize_gtin(gtin.strip()) if gtin.strip().isdigit() else None
        if normal is None or not identifiers.is_valid_gtin(gtin.strip()):
            raise bad_request(f"{gtin} is not a GTIN: check its digits.", "invalid_field", "gtin")
        query = query.where(ExpectedSerial.gtin == normal)
        gtin = normal
    else:
        query = query.where(Product.sku == sku.strip())
    try:
        text = serials.canonical(serial)
    except serials.SerialTextError as exc:
        raise bad_request(str(exc), "invalid_field", "serial") from None
    candidates = db.session.scalars(query.where(
        ExpectedSerial.serial_key.in_(serials.candidate_keys(text)))
        .order_by(ExpectedSerial.id)).all()
    found = [e for e in candidates
             if e.serial_key == serials.key(text, e.product.serials_case_sensitive)]
    return {"gtin": gtin, "sku": sku, "serial": text}, found


def _identifier(q: str) -> tuple[str | None, str | None]:
    from .. import epcis
    text = q.strip()
    try:
        kind, key, serial = epcis.identify(text)
    except epcis.DocumentError as exc:
        raise bad_request(exc.message, "invalid_field", "q") from None
    if kind == "sgtin":
        return key, serial
    try:
        interp = identifiers.interpret(text)
    except identifiers.IdentifierError as exc:
        raise bad_request(exc.message, "invalid_field", "q") from None
    if interp.gtin and interp.serial:
        return interp.gtin, interp.serial
    raise bad_request("This code does not hold both a GTIN and a serial: scan the unit's "
                      "GS1 DataMatrix, or give the GTIN and the serial.", "invalid_field", "q")


def transaction_data(gtin=None, serial=None, sku=None, q=None) -> dict:
    """What a regulator asks about one unit, from one search: per shipment that listed it,
    the transaction information, the transaction statement and the document."""
    asked, found = find_units(gtin, serial, sku, q)
    matches = []
    for unit in found:
        shipment, po = unit.shipment, db.session.get(PurchaseOrder, unit.purchase_order_id)
        info = shipment.info or {}
        quantity = db.session.scalar(select(func.count()).select_from(ExpectedSerial).where(
            ExpectedSerial.shipment_id == shipment.id,
            ExpectedSerial.product_id == unit.product_id))
        lot_quantity = db.session.scalar(select(func.count()).select_from(ExpectedSerial).where(
            ExpectedSerial.shipment_id == shipment.id,
            ExpectedSerial.product_id == unit.product_id, ExpectedSerial.lot == unit.lot)) \
            if unit.lot else None
        received = db.session.scalar(select(Serial).where(
            Serial.product_id == unit.product_id, Serial.serial_key == unit.serial_key))
        product = unit.product
        matches.append({
            "shipment": shipment_summary(shipment, po.number),
            "transaction_information": {
                "product": product.name, "sku": product.sku,
                "strength_and_form": (product.attributes or {}).get("strength_and_form")
                or (product.attributes or {}).get("dosage_form"),
                "container_size": (product.attributes or {}).get("container_size"),
                "gtin": unit.gtin, "ndc": ndc_of(unit.gtin), "serial": unit.serial,
                "lot": unit.lot, "expiry": _iso(unit.expiry), "quantity": quantity,
                "lot_quantity": lot_quantity,
                "transaction_date": _iso(shipment.shipped_at) or _iso(shipment.created_at),
                "purchase_order": po.number,
                "business_transactions": info.get("transactions") or [],
                "seller": {**_party_of_supplier(po.supplier),
                           "in_document": info.get("seller")},
                "buyer": {"in_document": info.get("buyer")},
            },
            "transaction_statement": info.get("statement"),
            "received": None if received is None else {
                "status": received.status, "received_at": _iso(received.received_at),
                "location": received.location.code if received.location else None,
                "lot": received.lot, "expiry": _iso(received.expiry)},
        })
    return {"asked": asked, "matches": matches}


def shipment_or_404(shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise RequestError(404, "unknown_shipment", f"There is no shipment {shipment_id}.")
    return shipment


def download_name(shipment: Shipment) -> str:
    ext = {"csv": "csv", "epcis-2.0-jsonld": "jsonld"}.get(shipment.format, "xml")
    return f"shipment-{shipment.id}.{ext}"
