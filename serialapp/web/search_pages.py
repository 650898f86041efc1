"""The search box on every page, and its results page. Scanning a label or an order
number into the box opens that thing at once; a part of something lists what matches."""
from flask import redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import search as finder
from ..extensions import db
from ..models import Serial
from . import bp

LOT_LIMIT = 500


def url_of(item: dict) -> str:
    """Where a search result lives."""
    kind = item["kind"]
    if kind == "serial":
        return url_for("catalogue.serial_page", text=item["serial"], sku=item["sku"])
    if kind == "sales_order":
        return url_for("orders.sales_order_page", number=item["number"])
    if kind == "purchase_order":
        return url_for("orders.purchase_order_page", number=item["number"])
    if kind == "product":
        return url_for("catalogue.product_page", sku=item["sku"])
    if kind == "customer":
        return url_for("catalogue.customer_page", code=item["code"])
    if kind == "location":
        return url_for("catalogue.location_page", code=item["code"])
    if kind == "lot":
        return url_for("web.search", q=item["lot"], lot=1)
    raise ValueError(kind)


@bp.get("/search")
@login_required
def search():
    text = request.args.get("q", "").strip()
    if request.args.get("lot"):
        units = db.session.scalars(
            select(Serial).options(joinedload(Serial.product), joinedload(Serial.location),
                                   joinedload(Serial.customer), joinedload(Serial.sales_order))
            .where(Serial.lot == text).order_by(Serial.id).limit(LOT_LIMIT)).all()
        return render_template("search.html", q=text, found=None, lot=text, serials=units,
                               limit=LOT_LIMIT, url_of=url_of)
    found = finder.search(text, limit=20)
    # A whole serial, order number, SKU, GTIN or code: that thing's page, as a scan would.
    if found.exact and request.args.get("list") != "1":
        return redirect(url_of(found.exact))
    return render_template("search.html", q=text, found=found, lot=None, serials=None,
                           url_of=url_of)
