"""Purchase orders (list open first, create with lines, close, cancel) and sales orders
(list by status with search, create with lines, a page per order, a packing slip)."""
from flask import Response, abort, stream_with_context, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from .. import catalog, epcis, lifecycle, queries
from ..api.expected import document_sized
from ..errors import RequestError
from ..inventory import Actor
from ..inventory import expected as expected_lists
from ..records import shipments
from ..extensions import db
from ..models import utcnow
from ..models import (Customer, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder,
                      Supplier)
from . import orders as bp
from .common import apply, like, role_required, search_text
from .forms import PurchaseOrderForm, SalesOrderForm, choices


def _product_choices():
    rows = db.session.execute(select(Product.sku, Product.name).order_by(Product.sku)).all()
    return choices([("", "(choose a product)")] + [(sku, f"{sku} · {name}") for sku, name in rows])


def _prepare_lines(form) -> bool:
    """Every line offers the products; "More lines" adds rows and saves nothing yet.
    Returns True when the press was "More lines"."""
    more = "more" in request.form
    if more:
        for _ in range(3):
            form.lines.append_entry()
    for line in form.lines:
        line.sku.choices = _product_choices()
    return more


# ---------------------------------------------------------------- purchase orders

@bp.get("/purchase-orders")
@login_required
def purchase_orders():
    text = search_text()
    status = request.args.get("status", "")
    expected = func.coalesce(func.sum(PurchaseOrderLine.qty), 0)
    received = func.coalesce(func.sum(PurchaseOrderLine.received_qty), 0)
    query = (select(PurchaseOrder, received, expected).join(PurchaseOrder.supplier)
             .outerjoin(PurchaseOrderLine).group_by(PurchaseOrder.id, Supplier.id)
             .options(selectinload(PurchaseOrder.supplier))
             # Open first (what the floor still waits for), then newest first.
             .order_by(case((PurchaseOrder.status == lifecycle.PO_OPEN, 0), else_=1),
                       PurchaseOrder.id.desc()))
    if status in lifecycle.PO_STATUSES:
        query = query.where(PurchaseOrder.status == status)
    if text:
        query = query.where(or_(PurchaseOrder.number.ilike(like(text)),
                                Supplier.name.ilike(like(text))))
    rows = db.session.execute(query.limit(500)).all()
    return render_template("orders/purchase_orders.html", rows=rows, q=text, status=status,
                           statuses=lifecycle.PO_STATUSES)


@bp.route("/purchase-orders/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def purchase_order_new():
    form = PurchaseOrderForm()
    more = _prepare_lines(form)
    if not more and form.validate_on_submit():
        data = {"number": form.number.data, "supplier": form.supplier.data,
                "lines": form.line_data()}
        done = apply(form, lambda: catalog.create_purchase_order(data))
        if done is not None:
            return redirect(url_for("orders.purchase_order_page", number=done.number))
    suppliers = db.session.scalars(select(Supplier.name).order_by(Supplier.name)).all()
    return render_template("orders/order_form.html", form=form, kind="purchase",
                           suppliers=suppliers)


def _purchase_order(number) -> PurchaseOrder:
    po = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))
    if po is None:
        abort(404, f"There is no purchase order {number}.")
    return po


@bp.get("/purchase-orders/<number>")
@login_required
def purchase_order_page(number):
    po = _purchase_order(number)
    view = queries.purchase_order_view(po, expected=False)
    view["expected_serials"] = shipments.summary(po, limit=shipments.PAGE_LIST)
    return render_template("orders/purchase_order.html", po=view, form=FlaskForm(),
                           page_list=shipments.PAGE_LIST,
                           max_mb=epcis.MAX_DOCUMENT_BYTES // (1024 * 1024))


@bp.post("/purchase-orders/<number>/expected")
@document_sized
@role_required(lifecycle.SETUP_ROLE)
def purchase_order_attach(number):
    """The attach form: the supplier's list (CSV or EPCIS), checked whole, then kept."""
    po = _purchase_order(number)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose the supplier's file (CSV or EPCIS) first.", "error")
        return redirect(url_for("orders.purchase_order_page", number=number))
    data = upload.stream.read(epcis.MAX_DOCUMENT_BYTES + 1)
    try:
        if len(data) > epcis.MAX_DOCUMENT_BYTES:
            raise expected_lists._document_error(epcis.too_large())
        done = expected_lists.attach(Actor(current_user.id, current_user.role), po, data,
                                     upload.filename)
    except RequestError as exc:
        flash(exc.message, "error")
    else:
        cases = f" in {done['cases']} case{'s' if done['cases'] != 1 else ''}" \
            if done["cases"] else ""
        flash(f"{upload.filename}: {done['expected']} serial"
              f"{'s' if done['expected'] != 1 else ''}{cases} expected on {po.number}.", "ok")
        for warning in done["warnings"]:
            flash(warning, "error")
    return redirect(url_for("orders.purchase_order_page", number=number))


@bp.get("/purchase-orders/<number>/receiving-report")
@login_required
def receiving_report(number):
    po = _purchase_order(number)
    return render_template("orders/receiving_report.html",
                           po=queries.purchase_order_view(po, expected=False),
                           summary=shipments.summary(po, limit=0),
                           rows=list(shipments.report_rows(po)), now=utcnow())


@bp.get("/purchase-orders/<number>/receiving-report.csv")
@login_required
def receiving_report_csv(number):
    po = _purchase_order(number)
    return Response(stream_with_context(shipments.report_csv(po)), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=receiving-{po.number}.csv"})


@bp.post("/purchase-orders/<number>/<any(close, cancel):decision>")
@role_required(lifecycle.SETUP_ROLE)
def purchase_order_decide(number, decision):
    po = db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))
    if po is None:
        abort(404, f"There is no purchase order {number}.")
    decide = {"close": catalog.close_purchase_order, "cancel": catalog.cancel_purchase_order}
    try:
        decide[decision](po)
    except RequestError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Purchase order {number} is {po.status}.", "ok")
    return redirect(url_for("orders.purchase_order_page", number=number))


# ---------------------------------------------------------------- sales orders

@bp.get("/sales-orders")
@login_required
def sales_orders():
    text = search_text()
    status = request.args.get("status", "")
    query = (select(SalesOrder).join(SalesOrder.customer)
             .options(selectinload(SalesOrder.customer), selectinload(SalesOrder.lines))
             .order_by(case(*((SalesOrder.status == s, i)
                              for i, s in enumerate(lifecycle.ORDER_STATUSES))),
                       SalesOrder.id.desc()))
    if status in lifecycle.ORDER_STATUSES:
        query = query.where(SalesOrder.status == status)
    if text:
        query = query.where(or_(SalesOrder.number.ilike(like(text)),
                                Customer.name.ilike(like(text)), Customer.code.ilike(like(text))))
    return render_template("orders/sales_orders.html", orders=db.session.scalars(
        query.limit(500)).all(), q=text, status=status, statuses=lifecycle.ORDER_STATUSES)


@bp.route("/sales-orders/new", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def sales_order_new():
    form = SalesOrderForm()
    form.customer.choices = choices([("", "(choose a customer)")] + [
        (code, f"{name} ({code})") for code, name in db.session.execute(
            select(Customer.code, Customer.name).order_by(Customer.name)).all()])
    if request.method == "GET" and request.args.get("customer"):
        form.customer.data = request.args["customer"]
    more = _prepare_lines(form)
    if not more and form.validate_on_submit():
        data = {"number": form.number.data, "customer": form.customer.data,
                "lines": form.line_data()}
        done = apply(form, lambda: catalog.create_sales_order(data))
        if done is not None:
            return redirect(url_for("orders.sales_order_page", number=done.number))
    return render_template("orders/order_form.html", form=form, kind="sales")


def _sales_order(number):
    so = db.session.scalar(select(SalesOrder).where(SalesOrder.number == number))
    if so is None:
        abort(404, f"There is no sales order {number}.")
    return so


@bp.get("/sales-orders/<number>")
@login_required
def sales_order_page(number):
    so = _sales_order(number)
    from ..records.book import form_4473_numbers
    return render_template("orders/sales_order.html", o=queries.sales_order_view(so),
                           customer=so.customer, forms_4473=form_4473_numbers(so.id))


@bp.get("/sales-orders/<number>/packing-slip")
@login_required
def packing_slip(number):
    so = _sales_order(number)
    return render_template("orders/packing_slip.html", o=queries.sales_order_view(so),
                           customer=so.customer)
