"""Finding what a request names: locations, products, orders, and the serial a scanned
text names (by the serial rules: canonical text, the product's case rule)."""
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from .. import identifiers, serials
from ..errors import refusal, refuse
from ..extensions import db
from ..hotpath import Prepared
from ..models import Location, Product, PurchaseOrder, SalesOrder, Serial


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
    # Read for returns: a unit sent back while still covered is a warranty return.
    warranty_until: date | None = None
    # The hash of its last event (chain.py), which its next event links to.
    head: str | None = None

    def named_by(self, text: str) -> bool:
        """Whether a scanned (canonical) text names this unit, by its product's case rule."""
        return self.key == serials.key(text, self.case_sensitive)


_UNIT_COLUMNS = (Serial.id, Serial.serial, Serial.product_id, Product.sku, Product.warranty_days,
                 Serial.status, Serial.version, Serial.location_id, Location.code,
                 Location.pickable, Serial.sales_order_id, SalesOrder.number, Serial.customer_id,
                 Serial.serial_key, Product.serials_case_sensitive, Serial.warranty_until,
                 Serial.history_head)


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
