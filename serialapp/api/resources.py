"""Products, locations, customers, purchase and sales orders, serials."""
from flask import Response, current_app, request, stream_with_context
from sqlalchemy import select

from .. import catalog, exporting, queries
from ..auth import require_role
from ..errors import RequestError
from ..extensions import db
from ..idempotency import idempotent
from ..inventory import by_key
from ..lifecycle import SETUP_ROLE
from ..models import Customer, Location, Product, PurchaseOrder, SalesOrder, Supplier
from . import bp
from .payload import json_body


# Each resource: (path, model, key column, 404 code, name, create, view, update)
RESOURCES = [
    ("products", Product, Product.sku, "unknown_sku", "product",
     catalog.create_product, queries.product_view, catalog.update_product),
    ("locations", Location, Location.code, "unknown_location", "location",
     catalog.create_location, queries.location_view, catalog.update_location),
    ("customers", Customer, Customer.code, "unknown_customer", "customer",
     catalog.create_customer, queries.customer_view, catalog.update_customer),
    ("suppliers", Supplier, Supplier.code, "unknown_supplier", "supplier",
     catalog.create_supplier, queries.supplier_view, catalog.update_supplier),
    ("purchase-orders", PurchaseOrder, PurchaseOrder.number, "unknown_order", "purchase order",
     catalog.create_purchase_order, queries.purchase_order_view, None),
    ("sales-orders", SalesOrder, SalesOrder.number, "unknown_order", "sales order",
     catalog.create_sales_order, queries.sales_order_view, None),
]

def csv_response(chunks, filename: str) -> Response:
    """A streamed CSV download: the rows are written while they are read."""
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


CSV_EXPORTS = {"customers": exporting.customers, "sales-orders": exporting.sales_orders}

# Listings stay light: no per-row counts or serial lists.
LIST_VIEWS = {
    "products": lambda p: queries.product_view(p, counts=False),
    "customers": lambda c: queries.customer_view(c, holdings=False),
}


def _register(path, model, column, code, what, create, view, update) -> None:
    endpoint = path.replace("-", "_")
    list_view = LIST_VIEWS.get(path, view)

    def create_one():
        obj = create(json_body())
        return view(obj), 201

    def read_all():
        if request.args.get("format") == "csv" and path in CSV_EXPORTS:
            return csv_response(CSV_EXPORTS[path](), f"{path}.csv")
        rows = db.session.scalars(select(model).order_by(column)).all()
        return {path.replace("-", "_"): [list_view(r) for r in rows]}

    def read_one(key):
        return view(by_key(column, key, "key", what, code, required=True))

    bp.post(f"/{path}", endpoint=f"create_{endpoint}")(
        idempotent(require_role(SETUP_ROLE)(create_one)))
    bp.get(f"/{path}", endpoint=f"list_{endpoint}")(require_role("picker")(read_all))
    bp.get(f"/{path}/<key>", endpoint=f"get_{endpoint}")(require_role("picker")(read_one))
    if update is not None:
        def update_one(key):
            obj = by_key(column, key, "key", what, code, required=True)
            return view(update(obj, json_body()))
        bp.patch(f"/{path}/<key>", endpoint=f"update_{endpoint}")(
            idempotent(require_role(SETUP_ROLE)(update_one)))


for _resource in RESOURCES:
    _register(*_resource)


def _po_decision(decide):
    def view(number):
        po = by_key(PurchaseOrder.number, number, "key", "purchase order", "unknown_order",
                    required=True)
        return queries.purchase_order_view(decide(po))
    return view


bp.post("/purchase-orders/<number>/close", endpoint="close_purchase_order")(
    idempotent(require_role(SETUP_ROLE)(_po_decision(catalog.close_purchase_order))))
bp.post("/purchase-orders/<number>/cancel", endpoint="cancel_purchase_order")(
    idempotent(require_role(SETUP_ROLE)(_po_decision(catalog.cancel_purchase_order))))


@bp.get("/serials")
@require_role("picker")
def list_serials():
    query = queries.serials_query(request.args)
    if request.args.get("format") == "csv":
        return csv_response(exporting.serials(query), "serials.csv")
    items, page = queries.page_of(query, request.args.get("page"),
                                  current_app.config["PAGE_SIZE"])
    return {"serials": [queries.serial_summary(s) for s in items], **page}


@bp.get("/serials/<serial:text>", merge_slashes=False)
@require_role("picker")
def get_serial(text):
    found = queries.lookup_serials(text, request.args.get("sku"))
    if not found:
        raise RequestError(404, "unknown_serial", f"Serial {text} is not known here.")
    if len(found) > 1:
        skus = ", ".join(sorted(s.product.sku for s in found))
        raise RequestError(409, "ambiguous_serial",
                           f"Serial {text} exists for several products ({skus}); add ?sku=.")
    return queries.serial_view(found[0])
