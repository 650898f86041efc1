"""Login, home, the scan pages, a serial's page, products."""
import hashlib
from functools import lru_cache, wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from .. import auth, lifecycle, queries
from ..errors import RequestError
from ..extensions import db, login_manager
from ..models import Location, Product, PurchaseOrder, SalesOrder, User
from . import bp


@login_manager.user_loader
def _load_user(user_id: str):
    return db.session.get(User, int(user_id))


def role_required(role: str):
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not lifecycle.role_at_least(current_user.role, role):
                abort(403, f"This page needs the {role} role; you are a {current_user.role}.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login():
    from .forms import LoginForm
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.check_login(form.name.data.strip(), form.password.data)
        if user:
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
    logout_user()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home():
    return render_template("home.html")


def _choices():
    return {
        "locations": db.session.scalars(select(Location).order_by(Location.code)).all(),
        "products": db.session.scalars(select(Product).order_by(Product.sku)).all(),
        "purchase_orders": db.session.scalars(
            select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(50)).all(),
    }


def _open_orders():
    return db.session.scalars(select(SalesOrder).where(SalesOrder.status != "shipped")
                              .order_by(SalesOrder.id)).all()


@bp.get("/scan/receive")
@role_required("picker")
def scan_receive():
    return render_template("scan_receive.html", **_choices())


@bp.get("/scan/move")
@role_required("picker")
def scan_move():
    return render_template("scan_move.html", **_choices())


@bp.get("/scan/pick")
@role_required("picker")
def pick_orders():
    return render_template("pick_orders.html", orders=_open_orders())


@bp.get("/scan/pick/<number>")
@role_required("picker")
def scan_pick(number):
    order = db.session.scalar(select(SalesOrder).where(SalesOrder.number == number))
    if order is None:
        abort(404, f"There is no sales order {number}.")
    return render_template("scan_pick.html", order=queries.sales_order_view(order))


@bp.get("/scan/ship")
@role_required("picker")
def scan_ship():
    orders = [queries.sales_order_view(o) for o in _open_orders()]
    return render_template("scan_ship.html", orders=orders)


@bp.get("/scan/return")
@role_required("manager")
def scan_return():
    return render_template("scan_return.html", **_choices())


@bp.get("/scan/lookup")
@login_required
def scan_lookup():
    text = request.args.get("q", "").strip()
    if text:
        try:
            found = queries.lookup_serials(text)
        except RequestError as exc:
            found, message = [], exc.message
        else:
            message = f"No serial {text} here."
        if len(found) == 1:
            return redirect(url_for("web.serial_page", text=found[0].serial,
                                    sku=found[0].product.sku))
        if found:
            message = f"{text} exists for several products; choose one."
        return render_template("lookup.html", q=text, found=found, message=message)
    return render_template("lookup.html", q="", found=[], message=None)


@bp.get("/serials/<serial:text>", merge_slashes=False)
@login_required
def serial_page(text):
    found = queries.lookup_serials(text, request.args.get("sku"))
    if not found:
        abort(404, f"Serial {text} is not known here.")
    if len(found) > 1:
        return render_template("lookup.html", q=text, found=found,
                               message=f"{text} exists for several products; choose one.")
    return render_template("serial.html", s=queries.serial_view(found[0]))


@bp.get("/products")
@login_required
def products():
    return render_template("products.html", rows=queries.products_with_on_hand())


@bp.get("/products/<sku>")
@login_required
def product_page(sku):
    product = db.session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        abort(404, f"There is no product {sku}.")
    return render_template("product.html", p=queries.product_view(product))


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
