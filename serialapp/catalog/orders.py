"""Purchase and sales orders: created with their lines; a purchase order is closed (no
more expected) or cancelled (none came) by a manager."""
from sqlalchemy import select

from .. import lifecycle
from ..errors import RequestError, bad_request
from ..extensions import db
from ..models import (Customer, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder,
                      SalesOrderLine)
from .fields import require_object, save, text, whole
from .parties import supplier_for


def _lines(data: dict) -> list[tuple[Product, int]]:
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad_request("Field 'lines' must be a non-empty list of {sku, qty}.",
                          "missing_field", "lines")
    out, seen = [], set()
    for line in lines:
        if not isinstance(line, dict):
            raise bad_request("Each line must be an object {sku, qty}.", "invalid_field", "lines")
        sku = text(line, "sku", required=True)
        product = db.session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise RequestError(404, "unknown_sku", f"There is no product with SKU '{sku}'.",
                               field="lines")
        if product.id in seen:
            raise bad_request(f"SKU {sku} appears on two lines; use one line with the total.",
                              "invalid_field", "lines")
        seen.add(product.id)
        out.append((product, whole(line, "qty", 0, minimum=1)))
    return out


def create_purchase_order(data) -> PurchaseOrder:
    data = require_object(data)
    number = text(data, "number", required=True, max_len=64)
    lines = _lines(data)
    po = PurchaseOrder(number=number, supplier=supplier_for(data.get("supplier")),
                       status=lifecycle.PO_OPEN)
    po.lines = [PurchaseOrderLine(product=p, qty=q) for p, q in lines]
    return save(po, "Purchase order", number, "number")


def close_purchase_order(po: PurchaseOrder) -> PurchaseOrder:
    """Nothing more is expected: what came, came (short deliveries included)."""
    if po.status == lifecycle.PO_CANCELLED:
        raise RequestError(409, "order_cancelled", f"Purchase order {po.number} was cancelled.")
    po.status = lifecycle.PO_CLOSED
    db.session.commit()
    return po


def cancel_purchase_order(po: PurchaseOrder) -> PurchaseOrder:
    """None came: only for an order nothing was received on, so the record stays true."""
    if po.status == lifecycle.PO_CANCELLED:
        return po
    if any(line.received_qty for line in po.lines):
        raise RequestError(409, "already_received", f"Units were received on purchase order "
                           f"{po.number}, so close it instead of cancelling it.")
    po.status = lifecycle.PO_CANCELLED
    db.session.commit()
    return po


def create_sales_order(data) -> SalesOrder:
    data = require_object(data)
    number = text(data, "number", required=True, max_len=64)
    code = text(data, "customer", required=True)
    customer = db.session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise RequestError(404, "unknown_customer", f"There is no customer '{code}'.",
                           field="customer")
    so = SalesOrder(number=number, customer=customer, status=lifecycle.ORDER_OPEN)
    so.lines = [SalesOrderLine(product=p, qty=q) for p, q in _lines(data)]
    return save(so, "Sales order", number, "number")
