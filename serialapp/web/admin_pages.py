"""Admin area: import a CSV file (check every row first, then apply), the downloads, and
(admins only) users and their API tokens."""
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import HiddenField, SelectField

from .. import auth, importing
from ..errors import RequestError
from ..extensions import db
from ..lifecycle import ADMIN_ROLE, SETUP_ROLE
from ..models import ApiToken, User
from . import admin as bp
from .common import role_required
from .forms import ConfirmForm, NewUserForm, PasswordForm, choices

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


# ---------------------------------------------------------------- users and API tokens
# The same service functions as `flask users ...` and `flask tokens ...` (auth.py): a
# disabled user's or a new password's sessions end and tokens are revoked there, once.

def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, f"There is no user #{user_id}.")
    return user


def _user_page(user: User, status: int = 200, new_token: str | None = None,
               password_form: PasswordForm | None = None):
    tokens = auth.tokens_of(user)
    response = make_response(render_template(
        "admin/user.html", user=user, tokens=tokens, new_token=new_token,
        password_form=password_form or PasswordForm(), confirm=ConfirmForm()), status)
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # shown once: kept by no cache
    return response


@bp.route("/users", methods=["GET", "POST"])
@role_required(ADMIN_ROLE)
def users():
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.create_user(form.name.data, form.role.data, form.password.data)
        except auth.UserError as exc:
            target = getattr(form, exc.field or "", None)
            if target is not None:
                target.errors = list(target.errors) + [str(exc)]
            else:
                form.form_errors.append(str(exc))
        else:
            flash(f"{user.name} can log in now, as a {user.role}.", "ok")
            return redirect(url_for("admin.user_page", user_id=user.id))
    if form.errors or form.form_errors:
        status = 400
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    active_tokens = dict(db.session.execute(
        select(ApiToken.user_id, func.count()).where(ApiToken.revoked.is_(False))
        .group_by(ApiToken.user_id)).all())
    return render_template("admin/users.html", form=form, users=rows,
                           active_tokens=active_tokens), status


@bp.get("/users/<int(max=2147483647):user_id>")
@role_required(ADMIN_ROLE)
def user_page(user_id):
    return _user_page(_user(user_id))


@bp.post("/users/<int(max=2147483647):user_id>/disable")
@role_required(ADMIN_ROLE)
def disable_user(user_id):
    user = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The page was stale; open it again and repeat.")
    if user.id == current_user.id:
        flash("You cannot disable yourself: ask another admin.", "error")
        return _user_page(user, 409)
    if user.active:
        auth.disable_user(user)
        flash(f"{user.name} is disabled: logged out everywhere, API tokens revoked.", "ok")
    return redirect(url_for("admin.user_page", user_id=user.id))


@bp.post("/users/<int(max=2147483647):user_id>/password")
@role_required(ADMIN_ROLE)
def reset_password(user_id):
    user = _user(user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        return _user_page(user, 400, password_form=form)
    try:
        auth.set_password(user, form.password.data)
    except auth.UserError as exc:
        form.password.errors = list(form.password.errors) + [str(exc)]
        return _user_page(user, 400, password_form=form)
    if user.id == current_user.id:
        return redirect(url_for("web.login"))  # their own sessions ended too
    flash(f"New password set for {user.name}: logged out everywhere, API tokens revoked.",
          "ok")
    return redirect(url_for("admin.user_page", user_id=user.id))


@bp.post("/users/<int(max=2147483647):user_id>/tokens")
@role_required(ADMIN_ROLE)
def issue_token(user_id):
    user = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The page was stale; open it again and repeat.")
    if not user.active:
        flash(f"{user.name} is disabled: a token of theirs would not work.", "error")
        return _user_page(user, 409)
    return _user_page(user, new_token=auth.issue_token(user))


@bp.post("/users/<int(max=2147483647):user_id>/tokens/<int(max=2147483647):token_id>/revoke")
@role_required(ADMIN_ROLE)
def revoke_token(user_id, token_id):
    user = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The page was stale; open it again and repeat.")
    if token_id not in {t.id for t in auth.tokens_of(user)}:
        abort(404, f"{user.name} has no API token {token_id}.")
    auth.revoke_token(token_id)
    flash(f"Token {token_id} of {user.name} is revoked.", "ok")
    return redirect(url_for("admin.user_page", user_id=user.id))
