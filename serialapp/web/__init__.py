"""Server-rendered, phone-first pages, one blueprint per area of the shop:
core (log in, home, the service worker), scan (the floor), catalogue (products, places,
customers, suppliers, a serial's page), orders (purchase and sales orders), reports,
admin (import and downloads), counts (stocktakes).
Scans go to the JSON API from scan.js; back-office forms post to these pages, which call
the same catalog functions the API does."""
from flask import Blueprint

bp = Blueprint("web", __name__)
scan = Blueprint("scan", __name__, url_prefix="/scan")
catalogue = Blueprint("catalogue", __name__)
orders = Blueprint("orders", __name__)
reports = Blueprint("reports", __name__)
admin = Blueprint("admin", __name__, url_prefix="/admin")
counts = Blueprint("counts", __name__, url_prefix="/counts")

BLUEPRINTS = (bp, scan, catalogue, orders, reports, admin, counts)

from . import common  # noqa: E402,F401  (filters, helpers)
from . import core, scan_pages, catalogue_pages, order_pages, report_pages, search_pages  # noqa: E402,F401,E501
from . import admin_pages, count_pages, record_pages  # noqa: E402,F401


def register(app) -> None:
    common.register_filters(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
