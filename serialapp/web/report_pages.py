"""Lists the home page's counts link to: serials by status or place, recent activity."""
from flask import current_app, render_template, request
from flask_login import login_required

from .. import lifecycle, queries
from ..errors import RequestError
from . import reports as bp
from .core import recent_events


@bp.get("/stock")
@login_required
def serials():
    """Every unit with a status (in stock, picked, quarantined...), a page at a time."""
    status = request.args.get("status", lifecycle.IN_STOCK)
    args = {"status": status if status in lifecycle.STATUSES else lifecycle.IN_STOCK,
            "location": request.args.get("location", "")}
    try:
        query = queries.serials_query(args)
    except RequestError as exc:
        return render_template("reports/serials.html", serials=[], page=None, args=args,
                               problem=exc.message, statuses=lifecycle.STATUSES)
    items, page = queries.page_of(query, request.args.get("page"),
                                  current_app.config["PAGE_SIZE"])
    return render_template("reports/serials.html", serials=items, page=page, args=args,
                           problem=None, statuses=lifecycle.STATUSES)


@bp.get("/activity")
@login_required
def activity():
    return render_template("reports/activity.html", events=recent_events(200))
