"""Recall: every unit in a scope (product, lots, serial range, receipt dates, supplier,
purchase order), where it is now and, once shipped, who has it and how to reach them."""
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import inventory, lifecycle
from ..csvfiles import write_rows
from ..errors import RequestError, bad_request, not_found
from ..extensions import db
from ..models import Customer, Product, PurchaseOrder, Recall, Serial, Supplier, utcnow
from . import stats

# The query parameters a recall takes (DESIGN §5's four plus the added scopes). Lots may
# be repeated (?lot=A&lot=B) or comma-separated.
SCOPE = ("sku", "lot", "serial_from", "serial_to", "received_from", "received_to",
         "supplier", "purchase_order")
EXTRA = ("format", "name")
MAX_UNITS = 50_000  # a scope wider than this is a mistake (no product, no lot): say so

CSV_COLUMNS = ["serial", "sku", "product", "lot", "status", "location", "received_at",
               "purchase_order", "supplier", "shipped_at", "order", "customer_code",
               "customer", "contact", "email", "phone", "address"]


def _text(args, name) -> str:
    value = args.get(name) or ""
    if not isinstance(value, str):
        raise bad_request(f"{name} must be text.", "invalid_field", field=name)
    return value.strip()


def _date(args, name) -> date | None:
    text = _text(args, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be a date like 2024-03-31.", "invalid_field",
                          field=name) from None


def parse_scope(args, allowed_extra=EXTRA) -> dict:
    """The scope from query parameters (or a form), checked: unknown names, bad dates and
    an empty scope are a 400 that says which field."""
    unknown = sorted(set(args) - set(SCOPE) - set(allowed_extra))
    if unknown:
        raise bad_request(f"Unknown query parameter: {', '.join(unknown)}. A recall takes "
                          f"{', '.join(SCOPE)}.", "unknown_parameter")
    scope: dict = {}
    for name in ("sku", "serial_from", "serial_to", "supplier", "purchase_order"):
        value = _text(args, name)
        if len(value) > 200:
            raise bad_request(f"{name} is too long.", "invalid_field", field=name)
        if value:
            scope[name] = value
    getlist = getattr(args, "getlist", None)
    raw = getlist("lot") if getlist else [args.get("lot") or ""]
    lots = sorted({part.strip() for text in raw for part in str(text).split(",") if part.strip()})
    if lots:
        scope["lot"] = lots
    for name in ("received_from", "received_to"):
        day = _date(args, name)
        if day:
            scope[name] = day.isoformat()
    if not scope:
        raise bad_request("Say what to recall: a product (sku), a lot, a serial range, "
                          "receipt dates, a supplier or a purchase order.", "missing_field")
    if ("serial_from" in scope or "serial_to" in scope) and "sku" not in scope:
        # Serial numbers only mean a range within one product's numbering.
        raise bad_request("A serial range needs the product (sku) it belongs to.",
                          "missing_field", field="sku")
    if scope.get("received_from", "") > scope.get("received_to", "9999"):
        raise bad_request("received_from is after received_to.", "invalid_field",
                          field="received_from")
    return scope


def _query(scope: dict):
    query = select(Serial).options(
        joinedload(Serial.product), joinedload(Serial.location), joinedload(Serial.customer),
        joinedload(Serial.sales_order),
        joinedload(Serial.purchase_order).joinedload(PurchaseOrder.supplier))
    if "sku" in scope:
        product = db.session.scalar(select(Product).where(Product.sku == scope["sku"]))
        if product is None:
            raise not_found("unknown_sku", f"There is no product with SKU '{scope['sku']}'.")
        query = query.where(Serial.product_id == product.id)
    if "lot" in scope:
        query = query.where(Serial.lot.in_(scope["lot"]))
    if "received_from" in scope:
        query = query.where(Serial.received_at >= datetime.fromisoformat(scope["received_from"]))
    if "received_to" in scope:  # the whole last day
        end = datetime.fromisoformat(scope["received_to"]) + timedelta(days=1)
        query = query.where(Serial.received_at < end)
    if "supplier" in scope:
        supplier = db.session.scalar(select(Supplier).where(Supplier.code == scope["supplier"]))
        if supplier is None:
            raise not_found("unknown_supplier", f"There is no supplier '{scope['supplier']}'.")
        query = query.where(Serial.purchase_order_id.in_(
            select(PurchaseOrder.id).where(PurchaseOrder.supplier_id == supplier.id)))
    if "purchase_order" in scope:
        po = db.session.scalar(select(PurchaseOrder)
                               .where(PurchaseOrder.number == scope["purchase_order"]))
        if po is None:
            raise not_found("unknown_order",
                            f"There is no purchase order '{scope['purchase_order']}'.")
        query = query.where(Serial.purchase_order_id == po.id)
    return query.order_by(Serial.id)


def units(scope: dict) -> list[Serial]:
    found = db.session.scalars(_query(scope).limit(MAX_UNITS + 1)).unique().all()
    if len(found) > MAX_UNITS:
        raise RequestError(422, "too_many", f"More than {MAX_UNITS} units are in this scope; "
                                            "narrow it (a lot, a serial range, dates).")
    low, high = scope.get("serial_from"), scope.get("serial_to")
    if low or high:
        found = [s for s in found if stats.in_range(s.serial, low, high)]
    return found


def _iso(value):
    if value is None:
        return None
    return value.isoformat() + ("Z" if isinstance(value, datetime) else "")


def unit_row(s: Serial) -> dict:
    shipped = s.status == lifecycle.SHIPPED and s.customer is not None
    c: Customer | None = s.customer if shipped else None
    return {
        "serial": s.serial, "sku": s.product.sku, "product": s.product.name, "lot": s.lot,
        "status": s.status, "location": s.location.code if s.location else None,
        "received_at": _iso(s.received_at),
        "purchase_order": s.purchase_order.number if s.purchase_order else None,
        "supplier": s.purchase_order.supplier.name if s.purchase_order else None,
        "shipped_at": _iso(s.shipped_at) if shipped else None,
        "order": s.sales_order.number if shipped and s.sales_order else None,
        "customer": None if c is None else {
            "code": c.code, "name": c.name, "contact": c.contact, "email": c.email,
            "phone": c.phone, "address": c.address},
    }


def result(scope: dict) -> dict:
    """Counts by status first (what a manager reads before the list), then the units,
    then the call list: each customer holding units, with their serials."""
    found = units(scope)
    rows = [unit_row(s) for s in found]
    counts = Counter(r["status"] for r in rows)
    return {"scope": scope, "total": len(rows),
            "by_status": {st: counts[st] for st in lifecycle.STATUSES if counts[st]},
            "in_stock": counts[lifecycle.IN_STOCK],
            "customers": call_list(rows), "units": rows}


def call_list(rows: list[dict]) -> list[dict]:
    """One entry per customer holding units in scope, with how to reach them."""
    by_code: dict[str, dict] = {}
    for r in rows:
        c = r["customer"]
        if c is None:
            continue
        entry = by_code.setdefault(c["code"], {**c, "units": []})
        entry["units"].append({"serial": r["serial"], "sku": r["sku"], "lot": r["lot"],
                               "shipped_at": r["shipped_at"], "order": r["order"]})
    return sorted(by_code.values(), key=lambda e: (e["name"].casefold(), e["code"]))


def csv_chunks(scope: dict):
    rows = [unit_row(s) for s in units(scope)]

    def flat(r):
        c = r["customer"] or {}
        return [r["serial"], r["sku"], r["product"], r["lot"] or "", r["status"],
                r["location"] or "", r["received_at"] or "", r["purchase_order"] or "",
                r["supplier"] or "", r["shipped_at"] or "", r["order"] or "",
                c.get("code") or "", c.get("name") or "", c.get("contact") or "",
                c.get("email") or "", c.get("phone") or "", c.get("address") or ""]
    return write_rows(CSV_COLUMNS, (flat(r) for r in rows))


def describe(scope: dict) -> str:
    """The scope in words, for the page's heading and a saved recall's default name."""
    parts = []
    if "sku" in scope:
        parts.append(scope["sku"])
    if "lot" in scope:
        parts.append("lot " + ", ".join(scope["lot"]))
    if "serial_from" in scope or "serial_to" in scope:
        parts.append(f"serials {scope.get('serial_from', '…')} to {scope.get('serial_to', '…')}")
    if "received_from" in scope or "received_to" in scope:
        parts.append(f"received {scope.get('received_from', '…')} to "
                     f"{scope.get('received_to', '…')}")
    if "supplier" in scope:
        parts.append(f"supplier {scope['supplier']}")
    if "purchase_order" in scope:
        parts.append(f"PO {scope['purchase_order']}")
    return " · ".join(parts)


def save(scope: dict, user_id: int | None, name: str | None = None) -> Recall:
    units(scope)  # a scope naming nothing known is refused before it is saved
    name = (name or "").strip()[:200] or f"Recall {describe(scope)}"[:200]
    recall = Recall(name=name, scope=scope, user_id=user_id)
    db.session.add(recall)
    db.session.commit()
    return recall


def quarantine(recall: Recall, actor: inventory.Actor, location: str | None = None) -> dict:
    """Quarantine every in-stock unit of the recall, through the service layer: one
    quarantine event per unit, its note naming the recall. Units picked, shipped or
    already set aside are left as they are (the list shows them)."""
    in_stock = [s for s in units(recall.scope) if s.status == lifecycle.IN_STOCK]
    by_sku: dict[str, list[str]] = {}
    for s in in_stock:
        by_sku.setdefault(s.product.sku, []).append(s.serial)
    note = f"Recall #{recall.id}: {recall.name}"
    results = []
    unfinished = False
    for sku, texts in by_sku.items():
        step = inventory.MAX_SERIALS_PER_REQUEST
        for i in range(0, len(texts), step):
            outcome = inventory.set_aside(actor, "quarantine", serials=texts[i:i + step],
                                          sku=sku, location=location, reason=note)
            results.extend(outcome.results)
            unfinished = unfinished or outcome.unfinished
    recall = db.session.get(Recall, recall.id)
    if not unfinished:  # an unexpected error left units `not_done`: not quarantined yet
        recall.quarantined_at = utcnow()
    db.session.commit()
    done = sum(1 for r in results if r.get("ok"))
    return {"quarantined": done, "refused": len(results) - done, "results": results}
