"""Counts (stocktakes) on the floor: the list (start one, join an open one, past ones), and a
count's page: the scan box of the scan pages with live progress while open, and after the
close its differences, each with one-tap fixes for a manager. Scans go to the API through
the phone's outbox (scan.js), like every scan page; starting, closing and fixing are
forms that post here and call the same service functions the API does."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import inventory, lifecycle, stocktake
from ..errors import RequestError
from ..extensions import db
from ..inventory import counting
from ..models import Location, Product
from ..records import counts as views
from . import counts as bp
from .common import role_required

# Rows a list on the page shows (a close may list 10,000); the "all" buttons cover the rest,
# and GET /api/stocktakes/<id>?scans=true gives every row.
PAGE_ROWS = 500

# How a difference reads on the page, by kind and reason.
REASONS = {stocktake.ELSEWHERE: "recorded at {recorded_location}",
           stocktake.STATUS: "recorded as {recorded_status}",
           stocktake.UNKNOWN: "not known here"}


def _actor() -> inventory.Actor:
    return inventory.Actor(user_id=current_user.id, role=current_user.role, source="manual")


def _choices():
    return (db.session.scalars(select(Location).order_by(Location.code)).all(),
            db.session.scalars(select(Product).order_by(Product.sku)).all())


@bp.get("")
@role_required("picker")
def index():
    locations, products = _choices()
    listed = views.listing()
    return render_template("counts/index.html", locations=locations, products=products,
                           open=[c for c in listed if c["status"] == stocktake.OPEN],
                           closed=[c for c in listed if c["status"] == stocktake.CLOSED])


@bp.post("")
@role_required(lifecycle.SETUP_ROLE)
def start():
    try:
        take = counting.start(_actor(), location=request.form.get("location") or None,
                              sku=request.form.get("sku") or None)
    except RequestError as exc:
        flash(exc.message, "error")
        return redirect(url_for("counts.index"))
    return redirect(url_for("counts.page", count_id=take.id))


@bp.get("/<int(min=1,max=2147483647):count_id>")
@role_required("picker")
def page(count_id):
    take = counting.get_count(count_id)
    view = views.view(take)
    locations, products = _choices()
    closed = take.status == stocktake.CLOSED
    diffs = view.get("differences", [])
    for d in diffs:
        d["why"] = REASONS.get(d["reason"], "").format(
            recorded_location=d["recorded_location"] or "no location",
            recorded_status=(d["recorded_status"] or "").replace("_", " "))
    return render_template(
        "counts/count.html", take=take, view=view, locations=locations, products=products,
        missing=[d for d in diffs if d["kind"] == stocktake.MISSING],
        unexpected=[d for d in diffs if d["kind"] == stocktake.UNEXPECTED],
        found=views.scans(take, found_only=True, limit=PAGE_ROWS) if closed else [],
        scans=views.scans(take, limit=PAGE_ROWS) if closed else [], rows=PAGE_ROWS,
        labels=stocktake.LABELS, done=stocktake.DONE)


@bp.post("/<int(min=1,max=2147483647):count_id>/close")
@role_required(lifecycle.SETUP_ROLE)
def close(count_id):
    try:
        take = counting.close(_actor(), count_id)
    except RequestError as exc:
        flash(exc.message, "error")
    else:
        s = take.summary
        flash(f"Closed: {s['found']} of {s['expected']} found, {s['missing']} missing, "
              f"{s['unexpected']} unexpected.", "ok")
    return redirect(url_for("counts.page", count_id=count_id))


@bp.post("/<int(min=1,max=2147483647):count_id>/resolve")
@role_required(lifecycle.SETUP_ROLE)
def resolve(count_id):
    """One tap: `action` for one difference, or for every open one it fits ("all")."""
    which = request.form.get("difference", "")
    differences = "all" if which == "all" else [int(which)] if which.isdigit() else None
    try:
        outcome = counting.resolve(_actor(), count_id, action=request.form.get("action"),
                                   differences=differences,
                                   sku=request.form.get("sku") or None,
                                   location=request.form.get("location") or None)
    except RequestError as exc:
        flash(exc.message, "error")
        return redirect(url_for("counts.page", count_id=count_id))
    if not outcome.results:
        flash("Nothing left for that to resolve.", "ok")
    bad = [r for r in outcome.results if not r.get("ok")]
    done = len(outcome.results) - len(bad)
    if bad:
        flash("; ".join(f"{r['serial']}: {r['error']['message']}" for r in bad), "error")
    if done:
        word = stocktake.DONE.get(outcome.results[0].get("resolution") or "", "done")
        flash(f"{outcome.results[0]['serial']}: {word}." if done == 1 and not bad
              else f"{done} resolved.", "ok")
    return redirect(url_for("counts.page", count_id=count_id, _anchor="differences"))
