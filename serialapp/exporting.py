"""CSV exports of every list, streamed: rows are read from the database in chunks and
written out as they come, so a million serials export in constant memory. Every cell is
neutralised against spreadsheet formulas (csvfiles.neutralise)."""
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from . import lifecycle
from .csvfiles import write_rows
from .extensions import db
from .models import (Customer, Location, Product, PurchaseOrder, SalesOrder, SalesOrderLine,
                     Serial)

CHUNK = 1000

SERIAL_COLUMNS = ["serial", "sku", "product", "status", "location", "lot", "expiry",
                  "purchase_order", "order", "customer", "received_at", "shipped_at",
                  "warranty_until"]


def _iso(value):
    return value.isoformat() if value is not None else ""


def _by_id_chunks(statement, id_column) -> Iterator:
    """The rows of `statement` in chunks of CHUNK, each a query of its own after the last
    id seen (keyset paging). Constant memory, and no cursor held open while the answer is
    streamed to a slow phone: a server-side cursor on PostgreSQL dies with the transaction
    the request's teardown ends."""
    last = None
    while True:
        query = statement.order_by(id_column).limit(CHUNK)
        if last is not None:
            query = query.where(id_column > last)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield from (row[1:] for row in rows)
        last = rows[-1][0]
        db.session.rollback()  # end this chunk's read: nothing stays open between chunks


def serials(query) -> Iterator[str]:
    """`query`: a select of Serial (filtered as the list was); one flat row per unit, read
    with plain columns (no ORM objects) in chunks."""
    po, so, cu = aliased(PurchaseOrder), aliased(SalesOrder), aliased(Customer)
    # The list's filters go on the chunk query itself, not through a subquery of the ids:
    # each chunk is then a walk along an index from the last id seen (a product's units
    # through ix_serials_product_id_id), not a fresh scan of every match. 300,000 units of
    # one product took 81 s through the subquery (bench/scale.py).
    rows = (select(Serial.id, Serial.serial, Product.sku, Product.name, Serial.status,
                   Location.code, Serial.lot, Serial.expiry, po.number, so.number, cu.code,
                   Serial.received_at, Serial.shipped_at, Serial.warranty_until)
            .where(*([] if query.whereclause is None else [query.whereclause]))
            .join(Product, Product.id == Serial.product_id)
            .outerjoin(Location, Location.id == Serial.location_id)
            .outerjoin(po, po.id == Serial.purchase_order_id)
            .outerjoin(so, so.id == Serial.sales_order_id)
            .outerjoin(cu, cu.id == Serial.customer_id))
    return write_rows(SERIAL_COLUMNS, (
        [r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", _iso(r[6]), r[7] or "", r[8] or "",
         r[9] or "", _iso(r[10]), _iso(r[11]), _iso(r[12])]
        for r in _by_id_chunks(rows, Serial.id)))


def customers() -> Iterator[str]:
    rows = select(Customer.id, Customer.code, Customer.name, Customer.email, Customer.phone,
                  Customer.address)
    return write_rows(["code", "name", "email", "phone", "address"],
                      ([v or "" for v in r] for r in _by_id_chunks(rows, Customer.id)))


def sales_orders() -> Iterator[str]:
    lines = (select(SalesOrderLine.sales_order_id, func.sum(SalesOrderLine.qty).label("qty"),
                    func.sum(SalesOrderLine.filled_qty).label("filled"))
             .group_by(SalesOrderLine.sales_order_id).subquery())
    rows = (select(SalesOrder.id, SalesOrder.number, Customer.code, SalesOrder.status,
                   SalesOrder.created_at, lines.c.qty, lines.c.filled)
            .join(Customer, Customer.id == SalesOrder.customer_id)
            .outerjoin(lines, lines.c.sales_order_id == SalesOrder.id))
    return write_rows(["number", "customer", "status", "created_at", "units", "picked_or_shipped"],
                      ([r[0], r[1], r[2], _iso(r[3]), r[4] or 0, r[5] or 0]
                       for r in _by_id_chunks(rows, SalesOrder.id)))


def stock() -> Iterator[str]:
    """Units in stock per product and location."""
    rows = (select(Product.sku, Product.name, Location.code, func.count())
            .join(Serial, Serial.product_id == Product.id)
            .join(Location, Location.id == Serial.location_id)
            .where(Serial.status == lifecycle.IN_STOCK)
            .group_by(Product.sku, Product.name, Location.code)
            .order_by(Product.sku, Location.code))
    return write_rows(["sku", "product", "location", "in_stock"],
                      (list(r) for r in db.session.execute(rows)))
