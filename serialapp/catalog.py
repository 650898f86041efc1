"""Managers' set-up: products, locations, customers, purchase and sales orders.
Validates the fields of a JSON body (or form) and writes them in one transaction."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import identifiers, lifecycle, serials
from .errors import RequestError, bad_request
from .extensions import db
from .models import (Customer, Location, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder,
                     SalesOrderLine)


def _text(data: dict, name: str, *, required: bool = False, max_len: int = 200) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad_request(f"Field '{name}' is required.", "missing_field")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise bad_request(f"Field '{name}' must be text.", "invalid_field")
    value = str(value).strip()
    if len(value) > max_len:
        raise bad_request(f"Field '{name}' is longer than {max_len} characters.", "invalid_field")
    return value


# Upper bounds well inside the 32-bit INTEGER columns (PostgreSQL refuses what does not fit;
# SQLite stores anything) and beyond anything real: a million units on one order line, a
# warranty of a hundred years.
MAX_QTY = 1_000_000
MAX_WARRANTY_DAYS = 36_500


def _int(data: dict, name: str, default: int, minimum: int = 0, maximum: int = MAX_QTY) -> int:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise bad_request(f"Field '{name}' must be a whole number from {minimum} to {maximum}.",
                          "invalid_field")
    return value


def _save(obj, what: str, key: str):
    db.session.add(obj)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RequestError(409, "already_exists", f"{what} '{key}' already exists.") from None
    return obj


def _require_object(data) -> dict:
    if not isinstance(data, dict):
        raise bad_request("Send a JSON object.", "malformed")
    return data


def create_product(data) -> Product:
    data = _require_object(data)
    sku = _text(data, "sku", required=True, max_len=64)
    gtin = _text(data, "gtin", max_len=14)
    if gtin is not None:
        normal = identifiers.normalize_gtin(gtin)
        if normal is None:
            raise bad_request(f"GTIN {gtin} is not valid (8, 12, 13 or 14 digits with the right "
                              "check digit).", "invalid_gtin")
        gtin = normal
        if db.session.scalar(select(Product.id).where(Product.gtin == gtin)):
            raise RequestError(409, "already_exists", f"Another product has GTIN {gtin}.")
    pattern = _text(data, "serial_pattern")
    if pattern is not None:
        try:
            identifiers.validate_serial_pattern(pattern)
        except identifiers.IdentifierError as exc:
            raise bad_request(str(exc), "invalid_pattern") from None
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise bad_request("Field 'attributes' must be an object.", "invalid_field")
    case_sensitive = data.get("serials_case_sensitive")
    if case_sensitive is None:
        case_sensitive = serials.default_case_sensitive(gtin, pattern)
    if not isinstance(case_sensitive, bool):
        raise bad_request("Say whether serials are case-sensitive with true or false "
                          "(field 'serials_case_sensitive').", "invalid_field")
    product = Product(sku=sku, name=_text(data, "name", required=True), gtin=gtin,
                      serial_pattern=pattern, warranty_days=_int(data, "warranty_days", 0,
                                                         maximum=MAX_WARRANTY_DAYS),
                      serials_case_sensitive=case_sensitive, attributes=attributes)
    return _save(product, "Product", sku)


def create_location(data) -> Location:
    data = _require_object(data)
    code = _text(data, "code", required=True, max_len=64)
    kind = _text(data, "kind") or "storage"
    if kind not in lifecycle.LOCATION_KINDS:
        raise bad_request(f"Field 'kind' must be one of {', '.join(lifecycle.LOCATION_KINDS)}.",
                          "invalid_field")
    pickable = data.get("pickable")
    if pickable is None:
        pickable = kind == "storage"  # stages, docks and quarantine don't feed orders by default
    if not isinstance(pickable, bool):
        raise bad_request("Field 'pickable' must be true or false.", "invalid_field")
    loc = Location(code=code, name=_text(data, "name") or "", kind=kind, pickable=pickable)
    return _save(loc, "Location", code)


def create_customer(data) -> Customer:
    data = _require_object(data)
    code = _text(data, "code", required=True, max_len=64)
    customer = Customer(code=code, name=_text(data, "name", required=True),
                        email=_text(data, "email"), phone=_text(data, "phone", max_len=64),
                        address=_text(data, "address", max_len=1000))
    return _save(customer, "Customer", code)


def _lines(data: dict) -> list[tuple[Product, int]]:
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad_request("Field 'lines' must be a non-empty list of {sku, qty}.", "missing_field")
    out, seen = [], set()
    for line in lines:
        if not isinstance(line, dict):
            raise bad_request("Each line must be an object {sku, qty}.", "invalid_field")
        sku = _text(line, "sku", required=True)
        product = db.session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise RequestError(404, "unknown_sku", f"There is no product with SKU '{sku}'.")
        if product.id in seen:
            raise bad_request(f"SKU {sku} appears on two lines; use one line with the total.",
                              "invalid_field")
        seen.add(product.id)
        out.append((product, _int(line, "qty", 0, minimum=1)))
    return out


def create_purchase_order(data) -> PurchaseOrder:
    data = _require_object(data)
    number = _text(data, "number", required=True, max_len=64)
    po = PurchaseOrder(number=number, supplier=_text(data, "supplier", required=True))
    po.lines = [PurchaseOrderLine(product=p, qty=q) for p, q in _lines(data)]
    return _save(po, "Purchase order", number)


def create_sales_order(data) -> SalesOrder:
    data = _require_object(data)
    number = _text(data, "number", required=True, max_len=64)
    code = _text(data, "customer", required=True)
    customer = db.session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise RequestError(404, "unknown_customer", f"There is no customer '{code}'.")
    so = SalesOrder(number=number, customer=customer)
    so.lines = [SalesOrderLine(product=p, qty=q) for p, q in _lines(data)]
    return _save(so, "Sales order", number)
