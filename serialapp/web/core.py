"""Log in and out, the home page's counts and recent activity, the service worker."""
import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import auth, lifecycle
from ..extensions import db, login_manager
from ..models import (Event, PurchaseOrder, PurchaseOrderLine, SalesOrder, Serial, SerialCount,
                      User)
from . import bp


@login_manager.user_loader
def _load_user(user_id: str):
    """The session's user, only if the session's generation is still the user's: logout,
    a password change and disabling bump it, ending cookies saved before."""
    number, _, generation = user_id.partition(":")
    if not (number.isdigit() and generation.isdigit()):
        return None  # a cookie from before generations existed: log in again
    user = db.session.get(User, int(number))
    if user is None or user.session_generation != int(generation):
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    from .forms import LoginForm
    form = LoginForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        address = request.remote_addr or "unknown"
        if auth.login_throttled(name, address):
            minutes = current_app.config["LOGIN_THROTTLE_MINUTES"]
            flash(f"Too many wrong passwords for this name or from this device. Wait "
                  f"{minutes} minutes, then try again.", "error")
            return render_template("login.html", form=form), 429
        user = auth.check_login(name, form.password.data)
        if user is None:
            auth.record_login_failure(name, address)
        else:
            auth.forget_login_failures(name)
            login_user(user, remember=form.remember.data)
            target = request.args.get("next", "")
            # Only same-site paths: never bounce a fresh login to another host.
            if not target.startswith("/") or urlsplit(target).netloc or target.startswith("//"):
                target = url_for("web.home")
            return redirect(target)
        flash("Wrong name or password.", "error")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Ends the session on the server too: a copy of this cookie (or the remember-me
    # cookie) saved before now no longer logs in. It ends the user's other sessions as
    # well; their outboxes keep queued scans until they log in again.
    user = current_user._get_current_object()
    auth.end_sessions(user)
    db.session.commit()
    logout_user()
    return redirect(url_for("web.login"))


def todays_counts() -> dict:
    """What needs doing today, each a number the home page links to its list."""
    # From serial_counts (kept by triggers): a few rows per product, not a million units.
    by_status = dict(db.session.execute(
        select(SerialCount.status, func.sum(SerialCount.n)).group_by(SerialCount.status)).all())
    to_receive = db.session.scalar(
        select(func.count(func.distinct(PurchaseOrder.id))).join(PurchaseOrderLine)
        .where(PurchaseOrder.status == lifecycle.PO_OPEN,
               PurchaseOrderLine.received_qty < PurchaseOrderLine.qty))
    orders = dict(db.session.execute(
        select(SalesOrder.status, func.count()).group_by(SalesOrder.status)).all())
    to_ship = db.session.scalar(select(func.count(func.distinct(Serial.sales_order_id))).where(
        Serial.status == lifecycle.PICKED))
    return {"in_stock": by_status.get(lifecycle.IN_STOCK, 0),
            "picked": by_status.get(lifecycle.PICKED, 0),
            "quarantined": by_status.get(lifecycle.QUARANTINED, 0),
            "missing": by_status.get(lifecycle.MISSING, 0),
            "to_receive": to_receive,
            "to_pick": orders.get(lifecycle.ORDER_OPEN, 0) + orders.get(lifecycle.ORDER_PARTLY, 0),
            "to_ship": to_ship}


def recent_events(limit: int = 10, **where):
    # The related rows come in small queries by id (selectinload), not as one nine-table
    # join: PostgreSQL spent 28 ms planning that join for 8 events (bench/scale.py).
    query = (select(Event).options(selectinload(Event.serial).joinedload(Serial.product),
                                   selectinload(Event.from_location),
                                   selectinload(Event.to_location),
                                   selectinload(Event.sales_order), selectinload(Event.user),
                                   selectinload(Event.purchase_order),
                                   selectinload(Event.customer))
             .order_by(Event.id.desc()).limit(limit))
    for column, value in where.items():
        query = query.where(getattr(Event, column) == value)
    return db.session.scalars(query).all()


@bp.get("/")
@login_required
def home():
    return render_template("home.html", counts=todays_counts(), events=recent_events(8))


@lru_cache(maxsize=4)
def _shell_version(static_folder: str) -> str:
    """A digest of the static files, read once per process: browsers ask for /sw.js on
    every page load, and a release (a new process) is when the files change."""
    static = Path(static_folder)
    digest = hashlib.sha256()
    for path in sorted(static.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            digest.update(path.relative_to(static).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


@bp.get("/sw.js")
def service_worker():
    """The PWA's service worker, served from the root so its scope covers every page.
    Its cache name carries a digest of the static files, so a release replaces the cache."""
    static = Path(current_app.static_folder)
    body = (static / "sw.js").read_text().replace(
        "__SHELL_VERSION__", _shell_version(current_app.static_folder))
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
