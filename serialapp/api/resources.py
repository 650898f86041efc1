"""Products, locations, customers, purchase and sales orders, serials."""
from flask import Response, current_app, stream_with_context
from sqlalchemy import select

from .. import catalog, exporting, queries
from ..auth import require_role
from ..errors import RequestError, bad_request
from ..extensions import db
from ..idempotency import idempotent
from ..inventory import by_key
from ..lifecycle import SETUP_ROLE
from ..models import Customer, Location, Product, PurchaseOrder, SalesOrder, Supplier
from . import bp, expected_schemas as xs, schemas as s
from .spec import body, query, validated


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

# path -> (create body, edit body, one, listing, listing's query parameters)
SCHEMAS = {
    "products": (s.ProductCreate, s.ProductEdit, s.Product, s.ProductList, s.ListQuery),
    "locations": (s.LocationCreate, s.LocationEdit, s.Location, s.LocationList, s.ListQuery),
    "customers": (s.PartyCreate, s.PartyEdit, s.Party, s.CustomerList, s.CsvListQuery),
    "suppliers": (s.PartyCreate, s.PartyEdit, s.Party, s.SupplierList, s.ListQuery),
    "purchase-orders": (s.PurchaseOrderCreate, None, xs.PurchaseOrder, s.PurchaseOrderList,
                        s.PurchaseOrderListQuery),
    "sales-orders": (s.SalesOrderCreate, None, s.Order, s.SalesOrderList,
                     s.SalesOrderListQuery),
}
# Listing filters the pages offer, so the API offers them too.
LIST_FILTERS = {"purchase-orders": PurchaseOrder.status, "sales-orders": SalesOrder.status}

def csv_response(chunks, filename: str) -> Response:
    """A streamed CSV download: the rows are written while they are read."""
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


CSV_EXPORTS = {"customers": exporting.customers, "sales-orders": exporting.sales_orders}

# Listings stay light: no per-row counts or serial lists.
LIST_VIEWS = {
    "products": lambda p: queries.product_view(p, counts=False),
    "purchase-orders": lambda po: queries.purchase_order_view(po, expected=False),
    "customers": lambda c: queries.customer_view(c, holdings=False),
}


def _named(func, name: str, doc: str):
    func.__name__, func.__doc__ = name, doc
    return func


def _register(path, model, column, code, what, create, view, update) -> None:
    endpoint = path.replace("-", "_")
    list_view = LIST_VIEWS.get(path, view)
    create_body, edit_body, one, listing, list_query = SCHEMAS[path]
    tags = (path,)

    def create_one():
        obj = create(body())
        return view(obj), 201

    def read_all():
        args = query()
        if args.get("format") == "csv" and path in CSV_EXPORTS:
            if "status" in args:
                raise bad_request("status filters the JSON listing; the CSV has every order.",
                                  "invalid_field", "status")
            return csv_response(CSV_EXPORTS[path](), f"{path}.csv")
        select_rows = select(model).order_by(column)
        if "status" in args:
            select_rows = select_rows.where(LIST_FILTERS[path] == args["status"])
        rows = db.session.scalars(select_rows).all()
        return {path.replace("-", "_"): [list_view(r) for r in rows]}

    def read_one(key):
        return view(by_key(column, key, "key", what, code, required=True))

    doc = what[0].upper() + what[1:]
    bp.post(f"/{path}", endpoint=f"create_{endpoint}")(
        idempotent(require_role(SETUP_ROLE)(validated(json=create_body, ok=201, resp=one,
                                                      errors=(404, 409), tags=tags)(
            _named(create_one, f"create_{endpoint}", f"Create a {what} (manager).")))))
    bp.get(f"/{path}", endpoint=f"list_{endpoint}")(require_role("picker")(
        validated(query=list_query, resp=listing, tags=tags)(
            _named(read_all, f"list_{endpoint}", f"Every {what}." + (
                " `format=csv` downloads them as CSV." if path in CSV_EXPORTS else "")))))
    bp.get(f"/{path}/<key>", endpoint=f"get_{endpoint}")(require_role("picker")(
        validated(resp=one, errors=(404,), tags=tags)(
            _named(read_one, f"get_{endpoint}", f"{doc} by its key."))))
    if update is not None:
        def update_one(key):
            obj = by_key(column, key, "key", what, code, required=True)
            return view(update(obj, body()))
        bp.patch(f"/{path}/<key>", endpoint=f"update_{endpoint}")(
            idempotent(require_role(SETUP_ROLE)(validated(
                json=edit_body, resp=one, errors=(404, 409), tags=tags)(
                _named(update_one, f"update_{endpoint}",
                       f"Change the fields sent of a {what} (manager); its key stays.")))))


for _resource in RESOURCES:
    _register(*_resource)


def _po_decision(decide, name: str, doc: str):
    def view(number):
        po = by_key(PurchaseOrder.number, number, "key", "purchase order", "unknown_order",
                    required=True)
        return queries.purchase_order_view(decide(po))
    return validated(resp=xs.PurchaseOrder, errors=(404, 409), tags=("purchase-orders",))(
        _named(view, name, doc))


bp.post("/purchase-orders/<number>/close", endpoint="close_purchase_order")(
    idempotent(require_role(SETUP_ROLE)(_po_decision(
        catalog.close_purchase_order, "close_purchase_order",
        "Close a purchase order: nothing more is expected (manager)."))))
bp.post("/purchase-orders/<number>/cancel", endpoint="cancel_purchase_order")(
    idempotent(require_role(SETUP_ROLE)(_po_decision(
        catalog.cancel_purchase_order, "cancel_purchase_order",
        "Cancel a purchase order nothing was received on (manager; 409 already_received)."))))


@bp.get("/serials")
@require_role("picker")
@validated(query=s.SerialListQuery, resp=s.SerialPage, errors=(404,), tags=("serials",))
def list_serials():
    """Serials matching the filters, 100 a page; `format=csv` downloads every match."""
    args = query()
    found = queries.serials_query(args)
    if args.get("format") == "csv":
        return csv_response(exporting.serials(found), "serials.csv")
    items, page = queries.page_of(found, args.get("page"), current_app.config["PAGE_SIZE"])
    return {"serials": [queries.serial_summary(unit) for unit in items], **page}


@bp.get("/serials/<serial:text>", merge_slashes=False)
@require_role("picker")
@validated(query=s.SerialQuery, resp=s.Serial, errors=(404, 409), tags=("serials",))
def get_serial(text):
    """One serial: status, where, who, warranty and its history, oldest first."""
    found = queries.lookup_serials(text, query().get("sku"))
    if not found:
        raise RequestError(404, "unknown_serial", f"Serial {text} is not known here.")
    if len(found) > 1:
        skus = ", ".join(sorted(s.product.sku for s in found))
        raise RequestError(409, "ambiguous_serial",
                           f"Serial {text} exists for several products ({skus}); add ?sku=.")
    return queries.serial_view(found[0])
