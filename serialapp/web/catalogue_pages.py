"""Products, locations (with printable labels), customers and suppliers: list and search,
create and edit, and each one's page. A serial's page lives here too."""
import re

from flask import abort, current_app, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .. import catalog, lifecycle, queries, search
from ..errors import RequestError
from ..extensions import db
from ..models import Customer, Location, Product, PurchaseOrder, SalesOrder, Serial, Supplier
from . import catalogue as bp
from .common import edit_form, like, role_required, search_text
from .forms import LocationForm, PartyForm, ProductForm


def _one(model, column, key, what):
    row = db.session.scalar(select(model).where(column == key))
    if row is None:
        abort(404, f"There is no {what} {key}.")
    return row


# ---------------------------------------------------------------- products

@bp.get("/products")
@login_required
def products():
    text = search_text()
    rows = queries.products_with_on_hand()
    if text:
        needle = text.lower()
        rows = [(p, n) for p, n in rows if needle in p.sku.lower() or needle in p.name.lower()
                or needle in (p.gtin or "")]
    return render_template("catalogue/products.html", rows=rows, q=text)


def _product_form(product=None):
    return edit_form(ProductForm(), product, catalog.create_product, catalog.update_product,
                     lambda p: url_for("catalogue.product_page", sku=p.sku),
                     "catalogue/product_form.html", product=product)


@bp.route("/products/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def product_new():
    return _product_form()


@bp.route("/products/<sku>/edit", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def product_edit(sku):
    return _product_form(_one(Product, Product.sku, sku, "product"))


@bp.get("/products/<sku>")
@login_required
def product_page(sku):
    product = _one(Product, Product.sku, sku, "product")
    status = request.args.get("status", "")
    location = request.args.get("location", "")
    args = {"sku": sku, "status": status if status in lifecycle.STATUSES else "",
            "location": location}
    try:
        query = queries.serials_query(args)
    except RequestError as exc:  # an unknown location typed in the filter
        return render_template("catalogue/product.html", p=queries.product_view(product),
                               serials=[], page={"page": 1, "pages": 1, "total": 0},
                               filters=args, problem=exc.message,
                               locations=_location_codes(), ATTRIBUTES=catalog.ATTRIBUTE_NAMES)
    part = request.args.get("q", "").strip()
    args["q"] = part
    if part:
        query = query.where(search.part_of_serial(part))
    view = queries.product_view(product)
    # Without a place or a part of a serial to match, the counts per status already say
    # how many units the list has: not counted a second time.
    total = None if location or part else (
        view["by_status"].get(args["status"], 0) if args["status"]
        else sum(view["by_status"].values()))
    serials, page = queries.page_of(query, request.args.get("page"),
                                    current_app.config["PAGE_SIZE"], total)
    return render_template("catalogue/product.html", p=view,
                           serials=serials, page=page, filters=args, problem=None,
                           locations=_location_codes(), ATTRIBUTES=catalog.ATTRIBUTE_NAMES)


def _location_codes():
    return db.session.scalars(select(Location.code).order_by(Location.code)).all()


# ---------------------------------------------------------------- locations

@bp.get("/locations")
@login_required
def locations():
    text = search_text()
    query = select(Location).order_by(Location.code)
    if text:
        query = query.where(or_(Location.code.ilike(like(text)), Location.name.ilike(like(text))))
    counts = dict(db.session.execute(select(Serial.location_id, func.count()).where(
        Serial.status.in_((lifecycle.IN_STOCK, lifecycle.QUARANTINED)))
        .group_by(Serial.location_id)).all())
    groups = {kind: [] for kind in lifecycle.LOCATION_KINDS}
    for loc in db.session.scalars(query).all():
        groups.setdefault(loc.kind, []).append(loc)
    return render_template("catalogue/locations.html", groups=groups, counts=counts, q=text)


def _location_form(loc=None):
    return edit_form(LocationForm(), loc, catalog.create_location, catalog.update_location,
                     lambda saved: url_for("catalogue.location_page", code=saved.code),
                     "catalogue/location_form.html", loc=loc)


@bp.route("/locations/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def location_new():
    return _location_form()


@bp.route("/locations/<code>/edit", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def location_edit(code):
    return _location_form(_one(Location, Location.code, code, "location"))


@bp.get("/locations/<code>")
@login_required
def location_page(code):
    """What is there now, per product (units in stock or quarantined here)."""
    loc = _one(Location, Location.code, code, "location")
    rows = db.session.execute(
        select(Product.sku, Product.name, Serial.status, func.count())
        .join(Serial.product).where(Serial.location_id == loc.id,
                                    Serial.status.in_((lifecycle.IN_STOCK, lifecycle.QUARANTINED)))
        .group_by(Product.sku, Product.name, Serial.status).order_by(Product.sku)).all()
    return render_template("catalogue/location.html", loc=loc, rows=rows,
                           total=sum(r[3] for r in rows))


def code128_svg(text: str) -> Markup:
    """A Code 128 barcode of `text` as inline SVG, drawn by zxing-cpp's writer: crisp at
    any print size, and read back by the same library the scan pages decode with."""
    import zxingcpp
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128)
    svg = zxingcpp.write_barcode_to_svg(barcode, add_hrt=False, add_quiet_zones=True)
    svg = svg[svg.index("<svg"):]  # drop the XML declaration: it is inline in HTML
    # A viewBox instead of a fixed size, so print CSS can make the bars as wide as the label.
    size = re.match(r'<svg width="(\d+)" height="(\d+)"', svg)
    head = (f'<svg class="barcode" role="img" aria-label="Barcode {Markup.escape(text)}" '
            f'viewBox="0 0 {size[1]} {size[2]}" preserveAspectRatio="none"')
    return Markup(head + svg[size.end():])


@bp.get("/locations/<code>/label")
@login_required
def location_label(code):
    loc = _one(Location, Location.code, code, "location")
    return render_template("catalogue/location_label.html", loc=loc,
                           barcode=code128_svg(loc.code))


# ---------------------------------------------------------------- customers and suppliers

PARTIES = {"customers": (Customer, "customer", catalog.create_customer, catalog.update_customer),
           "suppliers": (Supplier, "supplier", catalog.create_supplier, catalog.update_supplier)}


def _party_list(kind):
    model = PARTIES[kind][0]
    text = search_text()
    query = select(model).order_by(model.name)
    if text:
        query = query.where(or_(model.code.ilike(like(text)), model.name.ilike(like(text)),
                                model.contact.ilike(like(text)), model.email.ilike(like(text))))
    return render_template("catalogue/parties.html", kind=kind, what=PARTIES[kind][1],
                           parties=db.session.scalars(query.limit(500)).all(), q=text)


def _party_form(kind, party=None):
    model, what, create, update = PARTIES[kind]
    return edit_form(PartyForm(), party, create, update,
                     lambda saved: url_for(f"catalogue.{what}_page", code=saved.code),
                     "catalogue/party_form.html", party=party, kind=kind, what=what)


@bp.get("/customers")
@login_required
def customers():
    return _party_list("customers")


@bp.get("/suppliers")
@login_required
def suppliers():
    return _party_list("suppliers")


@bp.route("/customers/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def customer_new():
    return _party_form("customers")


@bp.route("/suppliers/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def supplier_new():
    return _party_form("suppliers")


@bp.route("/customers/<code>/edit", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def customer_edit(code):
    return _party_form("customers", _one(Customer, Customer.code, code, "customer"))


@bp.route("/suppliers/<code>/edit", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def supplier_edit(code):
    return _party_form("suppliers", _one(Supplier, Supplier.code, code, "supplier"))


@bp.get("/customers/<code>")
@login_required
def customer_page(code):
    """Their orders, and every serial they hold with its warranty: the recall record."""
    customer = _one(Customer, Customer.code, code, "customer")
    orders = db.session.scalars(select(SalesOrder).where(SalesOrder.customer_id == customer.id)
                                .order_by(SalesOrder.id.desc())).all()
    part = request.args.get("q", "").strip()
    held = db.session.scalars(select(Serial).options(joinedload(Serial.product),
                                                     joinedload(Serial.sales_order))
                              .where(Serial.customer_id == customer.id,
                                     search.part_of_serial(part) if part else True)
                              .order_by(Serial.shipped_at.desc(), Serial.id)).all()
    return render_template("catalogue/customer.html", c=customer, orders=orders, held=held,
                           q=part)


@bp.get("/suppliers/<code>")
@login_required
def supplier_page(code):
    supplier = _one(Supplier, Supplier.code, code, "supplier")
    orders = db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.supplier_id == supplier.id).order_by(PurchaseOrder.id.desc())).all()
    return render_template("catalogue/supplier.html", s=supplier, orders=orders)


# ---------------------------------------------------------------- a serial's page

@bp.get("/serials/<serial:text>", merge_slashes=False)
@login_required
def serial_page(text):
    found = queries.lookup_serials(text, request.args.get("sku"))
    if not found:
        abort(404, f"Serial {text} is not known here.")
    if len(found) > 1:
        return render_template("scan/lookup.html", q=text, found=found,
                               message=f"{text} exists for several products; choose one.")
    return render_template("catalogue/serial.html", s=queries.serial_view(found[0]))
