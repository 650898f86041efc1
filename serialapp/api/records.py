"""Recall, warranty, reports and the bound book as JSON and CSV: thin over records/."""
from flask import request

from .. import inventory
from ..auth import api_user, require_role
from ..csvfiles import write_rows
from ..errors import bad_request, not_found
from ..extensions import db
from ..idempotency import idempotent
from ..lifecycle import SETUP_ROLE
from ..models import Recall
from ..records import book, reports
from ..records import recall as recalls
from ..records import warranty as warranties
from . import bp
from . import record_schemas as rs
from .payload import json_body
from .resources import csv_response
from .spec import validated


def _format(args) -> str:
    fmt = args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_request("format must be json or csv.", "invalid_field")
    return fmt


# Recalls name customers with their contact details: a manager's list, not a picker's.
@bp.get("/recall")
@require_role(SETUP_ROLE)
@validated(query=rs.RecallQuery, errors=(404,), tags=("recall",))
def recall():
    scope = recalls.parse_scope(request.args, allowed_extra=("format",))
    if _format(request.args) == "csv":
        recalls.units(scope)  # unknown names and too wide a scope answer 4xx before streaming
        return csv_response(recalls.csv_chunks(scope), "recall.csv")
    return recalls.result(scope)


def _saved_view(r: Recall) -> dict:
    return {"id": r.id, "name": r.name, "scope": r.scope,
            "created_by": r.user.name if r.user else None,
            "created_at": recalls._iso(r.created_at),
            "quarantined_at": recalls._iso(r.quarantined_at)}


@bp.post("/recalls")
@idempotent
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, json=rs.SaveRecall, ok=201, errors=(404,), tags=("recall",))
def save_recall():
    body = json_body()
    name = body.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise bad_request("name must be text.", "invalid_field")
    if not all(isinstance(v, (str, list)) for v in body.values()):
        raise bad_request("Each scope field is text (lot may be a list).", "invalid_field")
    scope = recalls.parse_scope(_Args(body), allowed_extra=())
    saved = recalls.save(scope, api_user().id, name)
    return {**_saved_view(saved), **recalls.result(saved.scope)}, 201


@bp.get("/recalls")
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, tags=("recall",))
def list_recalls():
    rows = db.session.query(Recall).order_by(Recall.id.desc()).limit(200).all()
    return {"recalls": [_saved_view(r) for r in rows]}


def _get_recall(recall_id: int) -> Recall:
    found = db.session.get(Recall, recall_id)
    if found is None:
        raise not_found("unknown_recall", f"There is no recall #{recall_id}.")
    return found


@bp.get("/recalls/<int(max=2147483647):recall_id>")
@require_role(SETUP_ROLE)
@validated(query=rs.FormatQuery, errors=(404,), tags=("recall",))
def get_recall(recall_id):
    saved = _get_recall(recall_id)
    if _format(request.args) == "csv":
        return csv_response(recalls.csv_chunks(saved.scope), f"recall-{saved.id}.csv")
    return {**_saved_view(saved), **recalls.result(saved.scope)}


@bp.post("/recalls/<int(max=2147483647):recall_id>/quarantine")
@idempotent
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, json=rs.QuarantineRecall, errors=(404,), tags=("recall",))
def quarantine_recall(recall_id):
    saved = _get_recall(recall_id)
    body = json_body() if request.data else {}
    user = api_user()
    actor = inventory.Actor(user_id=user.id, role=user.role, source="manual")
    return recalls.quarantine(saved, actor, body.get("location") or None)


class _Args(dict):
    """A JSON body read like query parameters (lot may be a list or one text)."""

    def getlist(self, name):
        value = self.get(name)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


@bp.get("/warranty")
@require_role(SETUP_ROLE)
@validated(query=rs.WarrantyQuery, tags=("warranty",))
def warranty_ending():
    """?days=N: shipped units whose warranty ends in the next N days, per customer."""
    unknown = sorted(set(request.args) - {"days"})
    if unknown:
        raise bad_request(f"Unknown query parameter: {', '.join(unknown)}. Use days.",
                          "unknown_parameter")
    return warranties.ending(warranties.parse_days(request.args.get("days")))


# ---------------------------------------------------------------- reports

def _report(kind: str):
    """Each report as JSON, or CSV with ?format=csv; unknown parameters are a 400."""
    args = request.args
    if kind == "stock":
        reports.check_args(args, {"format"})
        data = reports.stock()
    elif kind == "stage-times":
        reports.check_args(args, {"format", "weeks", "threshold_hours"})
        data = reports.stage_times(reports.whole(args, "weeks", 12, 1, reports.MAX_WEEKS),
                                   reports.whole(args, "threshold_hours", 72, 1, 100_000))
    elif kind == "flow":
        reports.check_args(args, {"format", "days"})
        data = reports.flow(reports.whole(args, "days", 30, 1, reports.MAX_DAYS))
    else:
        reports.check_args(args, {"format"})
        data = reports.ageing()
    if _format(args) == "csv":
        columns, rows = reports.csv_table(kind, data)
        return csv_response(write_rows(columns, rows), f"{kind}.csv")
    return data


_REPORT_QUERIES = {"stock": rs.FormatQuery, "stage-times": rs.StageTimesQuery,
                   "flow": rs.FlowQuery, "ageing": rs.FormatQuery}

for _kind, _query in _REPORT_QUERIES.items():
    bp.get(f"/reports/{_kind}", endpoint=f"report_{_kind.replace('-', '_')}")(
        require_role(SETUP_ROLE)(validated(query=_query, tags=("reports",))(
            lambda kind=_kind: _report(kind))))


# ---------------------------------------------------------------- the bound book

def _book_rows():
    reports.check_args(request.args, {"format", "view", "serial", "acquired_on", "paper"})
    return book.entries(request.args.get("view", "both"), request.args.get("serial") or None,
                        book.parse_day(request.args.get("acquired_on")))


@bp.get("/reports/acquisitions-dispositions")
@require_role(SETUP_ROLE)
@validated(query=rs.BookQuery, tags=("book",))
def acquisitions_dispositions():
    """?view=originals|corrections|both&serial=&acquired_on=[&format=csv|pdf&paper=a4]"""
    rows = _book_rows()
    if request.args.get("format") == "pdf":
        from flask import Response

        from ..records import bookpdf
        paper = request.args.get("paper", "letter")
        if paper not in bookpdf.PAPER:
            raise bad_request("paper must be letter or a4.", "invalid_field")
        picked = [f"{k.replace('_', ' ')} {request.args[k]}"
                  for k in ("view", "serial", "acquired_on") if request.args.get(k)]
        r = Response(bookpdf.pdf(rows, paper, ", ".join(picked)), mimetype="application/pdf")
        r.headers["Content-Disposition"] = 'inline; filename="acquisitions-dispositions.pdf"'
        return r
    if _format(request.args) == "csv":
        return csv_response(write_rows(book.NAMES, ([r[c] for c in book.NAMES] for r in rows)),
                            "acquisitions-dispositions.csv")
    return {"columns": [{"name": n, "meaning": m} for n, m in book.COLUMNS], "entries": rows}


@bp.get("/reports/acquisitions-dispositions/columns.csv")
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, tags=("book",))
def acquisitions_dispositions_columns():
    """The file describing the export's columns."""
    return csv_response(write_rows(["column", "meaning"], book.COLUMNS),
                        "acquisitions-dispositions-columns.csv")


@bp.post("/book/corrections")
@idempotent
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, json=rs.BookCorrection, ok=201, tags=("book",))
def book_correction():
    body = json_body()
    row = book.correct(str(body.get("entry", "")), body.get("fields"), body.get("note"),
                       api_user().id)
    return {"entry": f"C{row.id}", "corrects": f"C{row.corrects_id}" if row.corrects_id
            else f"E{row.event_id}"}, 201


@bp.post("/book/theft-loss")
@idempotent
@require_role(SETUP_ROLE)
@validated(query=rs.NoQuery, json=rs.TheftLoss, ok=201, tags=("book",))
def book_theft_loss():
    body = json_body()
    user = api_user()
    actor = inventory.Actor(user_id=user.id, role=user.role, source="manual")
    return book.theft_loss(actor, serial=body.get("serial"), sku=body.get("sku"),
                           kind=body.get("kind"), atf_incident=body.get("atf_incident"),
                           police_incident=body.get("police_incident")), 201
