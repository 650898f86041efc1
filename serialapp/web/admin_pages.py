"""Admin area: import a CSV file (check every row first, then apply), and the downloads."""
import secrets
import time
from pathlib import Path

from flask import current_app, render_template
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField

from .. import importing
from ..errors import RequestError
from ..lifecycle import SETUP_ROLE
from . import admin as bp
from .common import role_required
from .forms import choices

KIND_CHOICES = choices([("", "Tell from its columns"),
                        ("serials", "Serials in stock (opening stock)"),
                        ("products", "Products"), ("customers", "Customers"),
                        ("suppliers", "Suppliers"),
                        ("purchase_orders", "Purchase orders (a row per line)"),
                        ("sales_orders", "Sales orders (a row per line)")])
KEEP_S = 24 * 3600  # a checked file waits this long for its "Import" tap


class UploadForm(FlaskForm):
    kind = SelectField("The file holds", choices=KIND_CHOICES, default="")
    file = FileField("CSV file", [FileRequired("Choose the CSV file to import.")])


class ApplyForm(FlaskForm):
    token = HiddenField()
    kind = HiddenField()


def _folder() -> Path:
    """Checked files wait here between "Check" and "Import": the phone need not send a large
    file twice, and what is imported is exactly what was checked."""
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        if time.time() - old.stat().st_mtime > KEEP_S:
            old.unlink(missing_ok=True)
    return folder


def _path(token: str) -> Path | None:
    if not token or not token.isalnum() or len(token) > 64:
        return None
    path = _folder() / f"{token}.csv"
    return path if path.exists() else None


@bp.route("/import", methods=["GET", "POST"])
@role_required(SETUP_ROLE)
def import_page():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("admin/import.html", form=form, checked=None, problem=None)
    data = form.file.data.read()
    try:
        checked = importing.check(data, form.kind.data or None)
    except RequestError as exc:
        return render_template("admin/import.html", form=form, checked=None,
                               problem=exc.message)
    token = secrets.token_hex(16)
    (_folder() / f"{token}.csv").write_bytes(data)
    return render_template("admin/import.html", form=form, checked=checked, problem=None,
                           apply=ApplyForm(token=token, kind=checked.kind),
                           filename=form.file.data.filename)


@bp.post("/import/apply")
@role_required(SETUP_ROLE)
def import_apply():
    form = ApplyForm()
    path = _path(form.token.data) if form.validate_on_submit() else None
    if path is None:
        return render_template("admin/import.html", form=UploadForm(), checked=None,
                               problem="That file is no longer waiting to be imported; "
                                       "choose it again."), 410
    data = path.read_bytes()
    path.unlink(missing_ok=True)  # applied once: a second tap finds nothing to import
    done = importing.apply(data, form.kind.data or None, current_user.id, current_user.role)
    return render_template("admin/import.html", form=UploadForm(), checked=done, problem=None,
                           applied=True)


@bp.get("/downloads")
@role_required(SETUP_ROLE)
def downloads():
    return render_template("admin/downloads.html")


@bp.get("/stock.csv")
@role_required(SETUP_ROLE)
def stock_csv():
    from flask import Response, stream_with_context

    from .. import exporting
    return Response(stream_with_context(exporting.stock()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=stock.csv"})
