"""The floor: receive, move, pick, unpick, ship, return, quarantine, release, scrap, look up.
Each page posts its scans to the JSON API through the phone's outbox (scan.js)."""
from flask import abort, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import lifecycle, queries
from ..errors import RequestError
from ..extensions import db
from ..models import (Customer, Location, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder,
                      SalesOrderLine, Serial)
from . import scan as bp
from .common import like, role_required, search_text


def _locations():
    return db.session.scalars(select(Location).order_by(Location.code)).all()


def _receivable_orders():
    """Open purchase orders with units still to come, oldest first: finished or closed ones
    are no choice on the floor, and none drops off the list however many are newer."""
    left = (select(PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrderLine.received_qty < PurchaseOrderLine.qty))
    return db.session.scalars(
        select(PurchaseOrder).options(selectinload(PurchaseOrder.lines),
                                      selectinload(PurchaseOrder.supplier))
        .where(PurchaseOrder.status == lifecycle.PO_OPEN, PurchaseOrder.id.in_(left))
        .order_by(PurchaseOrder.id)).all()


@bp.get("/receive")
@role_required("picker")
def receive():
    return render_template(
        "scan/receive.html", locations=_locations(),
        products=db.session.scalars(select(Product).order_by(Product.sku)).all(),
        purchase_orders=_receivable_orders(), chosen=request.args.get("po", ""))


@bp.get("/move")
@role_required("picker")
def move():
    return render_template("scan/move.html", locations=_locations())


def _open_orders(text: str = ""):
    """Orders still to pick or ship, with their customer's name and how much is picked:
    one query of plain rows (no ORM objects: 800 open orders took 270 ms to load as
    orders, lines and customers, bench/scale.py). The sums are subqueries per order, so
    that only the open orders' lines are read (PostgreSQL otherwise hashed every line)."""
    def total(column):
        return func.coalesce(select(func.sum(column)).where(
            SalesOrderLine.sales_order_id == SalesOrder.id).scalar_subquery(), 0)
    query = (select(SalesOrder.number, SalesOrder.status, Customer.name.label("customer_name"),
                    total(SalesOrderLine.filled_qty).label("picked"),
                    total(SalesOrderLine.qty).label("wanted"))
             .join(Customer, Customer.id == SalesOrder.customer_id)
             .where(SalesOrder.status.in_((lifecycle.ORDER_OPEN, lifecycle.ORDER_PARTLY,
                                           lifecycle.ORDER_PICKED)))
             .order_by(SalesOrder.id))
    if text:
        query = query.where(or_(SalesOrder.number.ilike(like(text)),
                                Customer.name.ilike(like(text)), Customer.code.ilike(like(text))))
    return db.session.execute(query).all()


def _order_named(text: str) -> SalesOrder | None:
    """The order a scanned or typed number names, letter case aside."""
    return db.session.scalar(select(SalesOrder).where(func.upper(SalesOrder.number) ==
                                                      text.upper()))


@bp.get("/pick")
@role_required("picker")
def pick_orders():
    text = search_text()
    if text:
        order = _order_named(text)
        if order is not None:
            return redirect(url_for("scan.pick", number=order.number))
    return render_template("scan/pick_orders.html", orders=_open_orders(text), q=text)


@bp.get("/pick/<number>")
@role_required("picker")
def pick(number):
    order = db.session.scalar(select(SalesOrder).where(SalesOrder.number == number))
    if order is None:
        abort(404, f"There is no sales order {number}.")
    return render_template("scan/pick.html", order=queries.sales_order_view(order))


@bp.get("/ship")
@role_required("picker")
def ship():
    """Orders with picked units waiting to go, one compact card each."""
    from ..records.book import is_book_item
    orders = queries.orders_to_ship()
    # Orders with bound-book items ask for the Form 4473 transaction number too. Read from
    # the products on those orders' lines: a handful of rows, not one query per order.
    products = db.session.execute(
        select(SalesOrder.number, Product)
        .join(SalesOrderLine, SalesOrderLine.sales_order_id == SalesOrder.id)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .where(SalesOrder.number.in_([o["number"] for o in orders]))).all()
    book_orders = {number for number, product in products if is_book_item(product)}
    return render_template("scan/ship.html", orders=orders, book_orders=book_orders)


@bp.get("/unpick")
@role_required("picker")
def unpick():
    with_picked = select(Serial.sales_order_id).where(Serial.status == lifecycle.PICKED)
    orders = db.session.scalars(select(SalesOrder).where(SalesOrder.id.in_(with_picked))
                                .order_by(SalesOrder.number)).all()
    return render_template("scan/unpick.html", orders=orders, locations=_locations(),
                           chosen=request.args.get("order", ""))


# A manager's decisions about units in stock: same page, different action.
SET_ASIDE = {
    "quarantine": ("Quarantine", "Units set aside until someone decides: not pickable.",
                   "quarantine"),
    "release": ("Release", "Units back from quarantine into stock.", "storage"),
    "scrap": ("Scrap", "Units written off for good: they can never be picked again.", None),
}


@bp.get("/<any(quarantine, release, scrap):action>")
@role_required("manager")
def set_aside(action):
    title, explain, kind = SET_ASIDE[action]
    locations = _locations()
    # Quarantine suggests the quarantine cage; release a shelf; scrap keeps the place.
    suggested = next((loc.code for loc in locations if kind and loc.kind == kind), "")
    return render_template("scan/set_aside.html", action=action, title=title, explain=explain,
                           locations=locations, suggested=suggested)


@bp.get("/return")
@role_required("manager")
def return_():
    return render_template("scan/return.html", locations=_locations())


@bp.get("/lookup")
@login_required
def lookup():
    text = request.args.get("q", "").strip()
    if text:
        try:
            found = queries.lookup_serials(text)
        except RequestError as exc:
            found, message = [], exc.message
        else:
            message = f"No serial {text} here."
        if len(found) == 1:
            return redirect(url_for("catalogue.serial_page", text=found[0].serial,
                                    sku=found[0].product.sku))
        if found:
            message = f"{text} exists for several products; choose one."
        else:  # part of a number: the search lists what starts or ends with it
            return redirect(url_for("web.search", q=text, list=1))
        return render_template("scan/lookup.html", q=text, found=found, message=message)
    return render_template("scan/lookup.html", q="", found=[], message=None)
