"""One box that finds anything: a serial (whole, or its start or end), an order number, a
customer by name, email or phone, a product by SKU, GTIN or name, a lot, a location.

Read side only. A serial's start and end are each a range on an index (`search_key` and
`search_rev`, the case-folded serial and the same reversed), so a search costs the same at a
thousand units or a million. The small tables (customers, orders, products) are matched
by substring, which their size allows."""
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from . import identifiers, serials
from .extensions import db
from .models import Customer, Location, Product, PurchaseOrder, SalesOrder, Serial

# Past the end of any text that starts with a given prefix, for a range scan.
_HIGH = "\U0010ffff"
MIN_PART = 2  # a serial part shorter than this matches too much to be useful


@dataclass
class Found:
    """What a search found, by kind, and `exact`: the one thing the text names outright
    (a scanned label or order number), which a page opens directly."""
    query: str
    exact: dict | None = None
    serials: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    products: list = field(default_factory=list)
    lots: list = field(default_factory=list)
    locations: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"query": self.query, "exact": self.exact, "serials": self.serials,
                "orders": self.orders, "customers": self.customers,
                "products": self.products, "lots": self.lots, "locations": self.locations}

    @property
    def empty(self) -> bool:
        return not any((self.serials, self.orders, self.customers, self.products, self.lots,
                        self.locations))


def _like(text: str) -> str:
    """A LIKE pattern for "contains text", with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _serial_row(serial: Serial, sku: str) -> dict:
    return {"kind": "serial", "serial": serial.serial, "sku": sku, "status": serial.status}


def part_of_serial(text: str):
    """A condition on Serial: its text starts or ends with `text` (case not counting), for
    narrowing any list of serials by part of a number."""
    folded = serials.search_key(text.strip())
    rev = folded[::-1]
    return or_(Serial.search_key.between(folded, folded + _HIGH),
               Serial.search_rev.between(rev, rev + _HIGH))


def _serials_by_part(folded: str, limit: int) -> list[dict]:
    """Serials whose text starts or ends with `folded`: two index range scans."""
    rev = folded[::-1]
    starts = (select(Serial, Product.sku).join(Product, Product.id == Serial.product_id)
              .where(Serial.search_key >= folded, Serial.search_key < folded + _HIGH)
              .order_by(Serial.search_key).limit(limit))
    ends = (select(Serial, Product.sku).join(Product, Product.id == Serial.product_id)
            .where(Serial.search_rev >= rev, Serial.search_rev < rev + _HIGH)
            .order_by(Serial.search_rev).limit(limit))
    seen, out = set(), []
    for query in (starts, ends):
        for serial, sku in db.session.execute(query):
            if serial.id not in seen:
                seen.add(serial.id)
                out.append(_serial_row(serial, sku))
    return out[:limit]


def _exact(text: str) -> dict | None:
    """The one thing `text` names outright, if any: a scanned serial (GS1, IMEI...), an
    order number, a SKU or GTIN, a location or customer code."""
    from .queries import lookup_serials  # the serial rules and GS1 reading, in one place
    from .errors import RequestError
    try:
        found = lookup_serials(text)
    except RequestError:
        found = []
    if len(found) == 1:
        return _serial_row(found[0], found[0].product.sku)
    # Codes and numbers are unique indexes: ask for the text as typed and in capitals (how
    # codes are printed), each an index lookup, not a scan.
    forms = list(dict.fromkeys([text, text.upper()]))
    for model, kind in ((SalesOrder, "sales_order"), (PurchaseOrder, "purchase_order")):
        number = db.session.scalar(select(model.number).where(model.number.in_(forms)))
        if number:
            return {"kind": kind, "number": number}
    gtin = identifiers.normalize_gtin(text) if text.isdigit() else None
    sku = db.session.scalar(select(Product.sku).where(
        or_(Product.sku.in_(forms), Product.gtin == gtin) if gtin else Product.sku.in_(forms)))
    if sku:
        return {"kind": "product", "sku": sku}
    code = db.session.scalar(select(Location.code).where(Location.code.in_(forms)))
    if code:
        return {"kind": "location", "code": code}
    code = db.session.scalar(select(Customer.code).where(Customer.code.in_(forms)))
    if code:
        return {"kind": "customer", "code": code}
    return None


def _customers(text: str, like: str, limit: int) -> list[dict]:
    """By name, email or code; a text of digits (and phone punctuation) by phone number,
    typed with or without its spaces and dashes. One pattern match per row: the table is
    scanned, which its size allows, so each row must cost little."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 3 and not any(ch.isalpha() for ch in text):
        phone = func.replace(func.replace(func.replace(func.replace(
            Customer.phone, " ", ""), "-", ""), "+", ""), ".", "")
        condition = phone.like(_like(digits), escape="\\")
    else:
        words = Customer.name + " " + func.coalesce(Customer.email, "") + " " + Customer.code
        condition = words.ilike(like, escape="\\")
    return [{"kind": "customer", "code": code, "name": name, "email": email, "phone": phone}
            for code, name, email, phone in db.session.execute(
                select(Customer.code, Customer.name, Customer.email, Customer.phone)
                .where(condition).order_by(Customer.name).limit(limit))]


def search(text: str, limit: int = 10) -> Found:
    text = (text or "").strip()
    found = Found(text)
    if not text or len(text) > 200:
        return found
    found.exact = _exact(text)
    folded = serials.search_key(text)
    if len(folded) >= MIN_PART:
        found.serials = _serials_by_part(folded, limit)
    like = _like(text)
    for model, kind in ((SalesOrder, "sales_order"), (PurchaseOrder, "purchase_order")):
        columns = [model.number] + ([model.status] if hasattr(model, "status") else [])
        for row in db.session.execute(select(*columns)
                                      .where(model.number.ilike(like, escape="\\"))
                                      .order_by(model.number).limit(limit)):
            found.orders.append({"kind": kind, "number": row[0],
                                 "status": row[1] if len(row) > 1 else None})
    found.customers = _customers(text, like, limit)
    gtin = identifiers.normalize_gtin(text) if text.isdigit() else None
    product_match = [Product.sku.ilike(like, escape="\\"), Product.name.ilike(like, escape="\\")]
    if gtin:
        product_match.append(Product.gtin == gtin)
    for sku, name in db.session.execute(select(Product.sku, Product.name)
                                        .where(or_(*product_match)).order_by(Product.sku)
                                        .limit(limit)):
        found.products.append({"kind": "product", "sku": sku, "name": name})
    for lot, count in db.session.execute(
            select(Serial.lot, func.count()).where(Serial.lot >= text, Serial.lot < text + _HIGH)
            .group_by(Serial.lot).order_by(Serial.lot).limit(limit)):
        found.lots.append({"kind": "lot", "lot": lot, "units": count})
    for code, name in db.session.execute(
            select(Location.code, Location.name).where(
                or_(Location.code.ilike(like, escape="\\"), Location.name.ilike(like, escape="\\")))
            .order_by(Location.code).limit(limit)):
        found.locations.append({"kind": "location", "code": code, "name": name})
    return found
