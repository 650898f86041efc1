"""Recall, warranty, reports and the bound book as pages: thin over records/. Lists are
tables that keep the phone rules (secondary columns step aside below 48rem) and print."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from .. import inventory, lifecycle
from ..errors import RequestError
from ..extensions import db
from ..models import Location, PurchaseOrder, Recall
from ..records import recall as recalls
from ..records import book, charts, reports
from ..records import warranty as warranties
from . import reports as bp
from .common import role_required

_FORM_FIELDS = ("sku", "lot", "serial_from", "serial_to", "received_from", "received_to",
                "supplier", "purchase_order")


@bp.get("/recall")
@role_required(lifecycle.SETUP_ROLE)
def recall_page():
    """The scope form; with a scope, the units and the call list, ready to save."""
    args = {k: v for k, v in request.args.items() if v.strip()}
    result, problem, scope = None, None, None
    if args:
        try:
            scope = recalls.parse_scope(request.args, allowed_extra=("name",))
            result = recalls.result(scope)
        except RequestError as exc:
            problem = exc.message
    return render_template("reports/recall.html", args=request.args, result=result,
                           scope=scope, problem=problem, saved=None,
                           title=recalls.describe(scope) if scope else "")


@bp.post("/recall")
@role_required(lifecycle.SETUP_ROLE)
def recall_save():
    try:
        scope = recalls.parse_scope(request.form, allowed_extra=("name", "csrf_token"))
        saved = recalls.save(scope, current_user.id, request.form.get("name"))
    except RequestError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.recall_page", **{k: v for k, v in request.form.items()
                                                           if k in _FORM_FIELDS}))
    return redirect(url_for("reports.recall_saved", recall_id=saved.id))


@bp.get("/recalls")
@role_required(lifecycle.SETUP_ROLE)
def recalls_list():
    rows = db.session.query(Recall).order_by(Recall.id.desc()).limit(200).all()
    return render_template("reports/recalls.html", recalls=rows)


def _saved(recall_id: int) -> Recall:
    found = db.session.get(Recall, recall_id)
    if found is None:
        abort(404, f"There is no recall #{recall_id}.")
    return found


@bp.get("/recalls/<int(max=2147483647):recall_id>")
@role_required(lifecycle.SETUP_ROLE)
def recall_saved(recall_id):
    saved = _saved(recall_id)
    try:
        result, problem = recalls.result(saved.scope), None
    except RequestError as exc:  # e.g. the product was renamed since
        result, problem = None, exc.message
    places = db.session.query(Location).order_by(Location.kind != "quarantine",
                                                 Location.code).all()
    return render_template("reports/recall.html", args={}, result=result, scope=saved.scope,
                           problem=problem, saved=saved, places=places,
                           title=saved.name)


@bp.post("/recalls/<int(max=2147483647):recall_id>/quarantine")
@role_required(lifecycle.SETUP_ROLE)
def recall_quarantine(recall_id):
    saved = _saved(recall_id)
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm the quarantine.", "error")
        return redirect(url_for("reports.recall_saved", recall_id=recall_id))
    actor = inventory.Actor(user_id=current_user.id, role=current_user.role, source="manual")
    try:
        done = recalls.quarantine(saved, actor, request.form.get("location") or None)
    except RequestError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.recall_saved", recall_id=recall_id))
    n, refused = done["quarantined"], done["refused"]
    flash(f"{n} unit{'' if n == 1 else 's'} quarantined" +
          (f"; {refused} could not be (see each serial's page)." if refused else "."),
          "ok" if not refused else "error")
    return redirect(url_for("reports.recall_saved", recall_id=recall_id))


@bp.get("/reports")
@role_required(lifecycle.SETUP_ROLE)
def reports_home():
    # Only the reports this build has: each part of issue 9 lands on its own.
    from flask import current_app
    available = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    return render_template("reports/index.html", available=available)


@bp.get("/warranty")
@role_required(lifecycle.SETUP_ROLE)
def warranty_page():
    try:
        days, problem = warranties.parse_days(request.args.get("days")), None
    except RequestError as exc:
        days, problem = 30, exc.message
    return render_template("reports/warranty.html", days=days, problem=problem,
                           result=warranties.ending(days))


# ---------------------------------------------------------------- reports with charts

def _report_page(kind: str, title: str, build, charts, **params):
    try:
        data, problem = build(), None
    except RequestError as exc:
        data, problem = None, exc.message
    # The chart's own <style> carries this response's CSP nonce: it is the only inline
    # stylesheet the policy lets through.
    from ..security import csp_nonce
    nonce = f'<style nonce="{csp_nonce()}"'
    # Each chart twice: drawn for a phone's width and for a desktop's; CSS shows one.
    svgs = [{size: Markup(chart(data, size).replace("<style", nonce))
             for size in ("narrow", "wide")} for chart in charts] if data else []
    return render_template("reports/report.html", kind=kind, title=title, data=data,
                           charts=svgs, problem=problem, params=params)


@bp.get("/reports/stock")
@role_required(lifecycle.SETUP_ROLE)
def stock_report():
    return _report_page("stock", "Stock", reports.stock,
                        [charts.stock_chart, charts.status_chart])


@bp.get("/reports/stage-times")
@role_required(lifecycle.SETUP_ROLE)
def stage_times_report():
    def build():
        return reports.stage_times(
            reports.whole(request.args, "weeks", 12, 1, reports.MAX_WEEKS),
            reports.whole(request.args, "threshold_hours", 72, 1, 100_000))
    return _report_page("stage-times", "Time in stage", build, [charts.stage_chart],
                        weeks=request.args.get("weeks", "12"),
                        threshold_hours=request.args.get("threshold_hours", "72"))


@bp.get("/reports/flow")
@role_required(lifecycle.SETUP_ROLE)
def flow_report():
    return _report_page("flow", "Flow", lambda: reports.flow(
        reports.whole(request.args, "days", 30, 1, reports.MAX_DAYS)), [charts.flow_chart],
        days=request.args.get("days", "30"))


@bp.get("/reports/ageing")
@role_required(lifecycle.SETUP_ROLE)
def ageing_report():
    return _report_page("ageing", "Ageing", reports.ageing, [charts.ageing_chart])


@bp.get("/book")
@role_required(lifecycle.SETUP_ROLE)
def book_page():
    """The bound book in its column layout, printable (landscape); look up by serial or by
    acquisition date; originals, corrections or both. Managers correct an entry from its
    row and record a theft or loss here."""
    return _book_page(request.args)


def _book_page(args, theft_loss: dict | None = None, theft_loss_problem: str | None = None,
               status: int = 200):
    view = args.get("view", "both")
    try:
        rows = book.entries(view, args.get("serial", "").strip() or None,
                            book.parse_day(args.get("acquired_on", "").strip()))
        problem = None
    except RequestError as exc:
        rows, problem = [], exc.message
    # The PDF holds what the page shows: the same look-up.
    pdf_args = {k: args[k].strip() for k in ("serial", "acquired_on")
                if args.get(k, "").strip() and not problem}
    return render_template("reports/book.html", rows=rows, problem=problem, view=view,
                           views=book.VIEWS, args=args, theft_loss=theft_loss or {},
                           pdf_args=pdf_args,
                           theft_loss_problem=theft_loss_problem), status


@bp.route("/book/entries/<entry>/correct", methods=["GET", "POST"])
@role_required(lifecycle.SETUP_ROLE)
def book_correct(entry):
    """A correction of one entry: the form holds the entry's values; what is changed, with
    why, becomes a new entry pointing to it. The entry itself stays as it is."""
    try:
        row = book.entry_row(entry)
    except RequestError as exc:
        abort(exc.status, exc.message)
    values, problem = row, None
    if request.method == "POST":
        values = {c: request.form.get(c, "").strip() for c in book.LABELS}
        changed = {c: v for c, v in values.items() if v != row[c]}
        try:
            done = book.correct(row["entry"], changed, request.form.get("note", ""),
                                current_user.id)
        except RequestError as exc:
            problem = exc.message
        else:
            flash(f"Correction C{done.id} recorded; it corrects {row['entry']}, which stays "
                  "as it was.", "ok")
            return redirect(url_for("reports.book_page", serial=row["serial"]))
    return render_template("reports/book_correct.html", row=row, values=values,
                           labels=book.LABELS, note=request.form.get("note", ""),
                           problem=problem), 400 if problem else 200


@bp.post("/book/theft-loss")
@role_required(lifecycle.SETUP_ROLE)
def book_theft_loss():
    """A theft or loss, from the book page: the unit is written off (scrapped) and the
    incident numbers go into its disposition entry."""
    form = {k: request.form.get(k, "").strip() for k in ("serial", "sku", "kind", "atf_incident",
                                                          "police_incident")}
    actor = inventory.Actor(user_id=current_user.id, role=current_user.role, source="manual")
    try:
        if not form["serial"]:
            raise RequestError(400, "missing_field", "Give the serial of the unit.")
        done = book.theft_loss(actor, serial=form["serial"], sku=form["sku"] or None,
                               kind=form["kind"], atf_incident=form["atf_incident"],
                               police_incident=form["police_incident"])
    except RequestError as exc:
        return _book_page({}, theft_loss=form, theft_loss_problem=exc.message,
                          status=exc.status if exc.status < 500 else 400)
    flash(f"{form['kind'].capitalize()} of {done['serial']} recorded: written off, with ATF "
          f"incident {form['atf_incident']} and police incident {form['police_incident']}.",
          "ok")
    return redirect(url_for("reports.book_page", serial=done["serial"]))


# ---------------------------------------------------------------- label sheets

@bp.get("/labels")
@role_required("picker")
def labels_page():
    """A print page of labels for a batch (?serials=a,b,c or ?purchase_order=), laid out by
    print CSS on A4 or Letter sheets or one 2"x1" label per page: each label is the SVG of
    GET /api/serials/<serial>/label.svg, so the browser prints it at its true size."""
    from ..api.labels import batch
    from ..records import labels as drawing
    sheet = request.args.get("sheet", "single")
    problem, status = None, 200
    if sheet not in ("a4", "letter", "single"):
        problem, status, sheet = "Choose a sheet: A4, Letter or one 2\" x 1\" label.", 400, "single"
    args = {k: request.args.get(k, "").strip() for k in ("serials", "purchase_order", "sku")}
    # Typed one per line on the form; the API takes commas.
    args["serials"] = ",".join(t.strip() for t in args["serials"].replace("\n", ",").split(",")
                               if t.strip())
    if not problem and (args["serials"] or args["purchase_order"]):
        try:
            found = batch({k: v for k, v in args.items() if v})
        except RequestError as exc:
            problem, status = exc.message, exc.status
    if problem or not (args["serials"] or args["purchase_order"]):
        # No batch named yet, or one that can't be printed: the form, saying why.
        orders = db.session.scalars(select(PurchaseOrder.number)
                                    .order_by(PurchaseOrder.id.desc()).limit(50)).all()
        return render_template("reports/labels_choose.html", args=args, sheet=sheet,
                               orders=orders, problem=problem), status
    if sheet == "single":
        pages = [[Markup(drawing.svg(drawing.draw(lb)))] for lb in found]
        spec = None
    else:
        per = drawing.per_page(sheet)
        size = drawing.SHEETS[sheet][4:6]
        svgs = [Markup(drawing.svg(drawing.draw(lb, size, 300))) for lb in found]
        pages = [svgs[n:n + per] for n in range(0, len(svgs), per)]
        spec = drawing.SHEETS[sheet]
    return render_template("reports/labels.html", pages=pages, sheet=sheet, spec=spec,
                           count=len(found),
                           zpl_url=url_for("api.label_sheet", format="zpl",
                                           **{k: v for k, v in args.items() if v}),
                           pdf_url=url_for("api.label_sheet", format="pdf", sheet=sheet,
                                           **{k: v for k, v in args.items() if v}))


@bp.get("/transactions")
@role_required(lifecycle.SETUP_ROLE)
def transactions_page():
    """A unit's transaction data (TI, TS, the document), by GTIN + serial or a scan."""
    from ..records import shipments
    args = {k: v.strip() for k, v in request.args.items()
            if k in ("q", "gtin", "sku", "serial") and v.strip()}
    result, problem = None, None
    if args:
        try:
            result = shipments.transaction_data(**args)
        except RequestError as exc:
            problem = exc.message
    return render_template("reports/transactions.html", args=args, result=result,
                           problem=problem)
