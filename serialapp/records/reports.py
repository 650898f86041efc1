"""Stock, time in stage, flow and ageing: figures for the pages, the API and CSV (their
charts are records/charts.py)."""
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .. import lifecycle
from ..errors import bad_request
from ..extensions import db
from ..models import Event, Location, Product, Serial, utcnow
from . import stats, stays

MAX_WEEKS = stays.KEEP_WEEKS
MAX_DAYS = 366
MAX_STUCK = 500  # units listed in stage_times' `stuck`, longest first


def whole(args, name: str, default: int, low: int, high: int) -> int:
    text = str(args.get(name, default)).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}.",
                          "invalid_field", field=name)
    return int(text)


def check_args(args, allowed: set) -> None:
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise bad_request(f"Unknown query parameter: {', '.join(unknown)}. This report takes "
                          f"{', '.join(sorted(allowed))}.", "unknown_parameter")


# ---------------------------------------------------------------- stock

def stock() -> dict:
    by_location = db.session.execute(
        select(Product.sku, Product.name, Location.code, func.count())
        .join(Serial, Serial.product_id == Product.id)
        .join(Location, Location.id == Serial.location_id)
        .where(Serial.status == lifecycle.IN_STOCK)
        .group_by(Product.sku, Product.name, Location.code)
        .order_by(Product.sku, Location.code)).all()
    by_status = db.session.execute(
        select(Product.sku, Serial.status, func.count())
        .join(Serial, Serial.product_id == Product.id)
        .group_by(Product.sku, Serial.status).order_by(Product.sku)).all()
    statuses: dict[str, dict] = defaultdict(dict)
    for sku, status, n in by_status:
        statuses[sku][status] = n
    return {"by_location": [{"sku": s, "product": p, "location": loc, "in_stock": n}
                            for s, p, loc, n in by_location],
            "by_status": [{"sku": sku, **{st: counts.get(st, 0) for st in lifecycle.STATUSES}}
                          for sku, counts in statuses.items()]}


# ---------------------------------------------------------------- time in stage

def stage_times(weeks: int = 12, threshold_hours: int = 72, now: datetime | None = None) -> dict:
    """Per location, status and product, week by week (the week a unit left the place): how
    many stays ended, their median and 90th-percentile hours; the last `weeks` weeks, this
    one included. Stays still open count only in `stuck` (open longer than the threshold):
    an open stay has no length yet.

    Read from stage_stays and the finished weeks' kept figures (records.stays), caught up
    from the events first: the answer is what the events say, without going through them."""
    now = now or utcnow()
    stays.catch_up()
    first = stats.week_start(now) - timedelta(weeks=weeks - 1)
    figures = stays.week_rows([first + timedelta(weeks=n) for n in range(weeks)])
    # Codes and SKUs once each (hundreds), not a join per row.
    codes = dict(db.session.execute(select(Location.id, Location.code)).all())
    skus = dict(db.session.execute(select(Product.id, Product.sku)).all())
    table = sorted(({"location": codes[loc], "status": status, "sku": skus[product],
                     "week": week.isoformat(), **f}
                    for (week, loc, status, product), f in figures.items()),
                   key=lambda r: (r["location"], r["status"], r["sku"], r["week"]))
    # The longest-waiting units only: at 1,000,000 units every unit resting in storage past
    # the threshold is "stuck" (hundreds of thousands in bench/records.py), a list no one
    # reads. stuck_total says how many there are.
    total, longest = stays.stuck(now - timedelta(hours=threshold_hours), MAX_STUCK)
    stuck = [{"serial": serial, "sku": sku, "location": code, "status": status,
              "since": start.isoformat() + "Z",
              "hours": round((now - start).total_seconds() / 3600, 1)}
             for serial, sku, code, status, start in longest]
    return {"weeks": weeks, "threshold_hours": threshold_hours, "rows": table,
            "stuck": stuck, "stuck_total": total}


# ---------------------------------------------------------------- flow and ageing

def flow(days: int = 30, now: datetime | None = None) -> dict:
    now = now or utcnow()
    start = (now - timedelta(days=days - 1)).date()
    counts: dict[str, dict] = {(start + timedelta(days=i)).isoformat(): {"received": 0,
                                                                         "shipped": 0}
                               for i in range(days)}
    rows = db.session.execute(
        select(Event.type, Event.at).where(Event.type.in_(("receive", "ship")),
                                          Event.at >= datetime.combine(start, datetime.min.time())))
    for kind, at in rows:
        day = at.date().isoformat()
        if day in counts:
            counts[day]["received" if kind == "receive" else "shipped"] += 1
    return {"days": days, "rows": [{"day": d, **c} for d, c in counts.items()]}


def ageing(now: datetime | None = None) -> dict:
    now = now or utcnow()
    per: dict[str, dict] = defaultdict(lambda: {b: 0 for b in stats.AGE_BUCKETS})
    rows = db.session.execute(
        select(Product.sku, Serial.received_at).join(Serial, Serial.product_id == Product.id)
        .where(Serial.status == lifecycle.IN_STOCK))
    for sku, received in rows:
        per[sku][stats.age_bucket((now - received).total_seconds() / 86400)] += 1
    return {"buckets": list(stats.AGE_BUCKETS),
            "rows": [{"sku": sku, **counts} for sku, counts in sorted(per.items())]}


# ---------------------------------------------------------------- CSV

def csv_table(kind: str, data: dict) -> tuple[list[str], list[list]]:
    if kind == "stock":
        return (["sku", "product", "location", "in_stock"],
                [[r["sku"], r["product"], r["location"], r["in_stock"]]
                 for r in data["by_location"]])
    if kind == "stage-times":
        cols = ["location", "status", "sku", "week", "units", "median_hours", "p90_hours"]
        return cols, [[r[c] if r[c] is not None else "" for c in cols] for r in data["rows"]]
    if kind == "flow":
        return ["day", "received", "shipped"], [[r["day"], r["received"], r["shipped"]]
                                                for r in data["rows"]]
    cols = ["sku", *data["buckets"]]
    return cols, [[r[c] for c in cols] for r in data["rows"]]
