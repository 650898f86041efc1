"""Stock, time in stage, flow and ageing: figures for the pages, the API and CSV, and
their charts (pygal SVG, drawn on the server so a phone needs no chart script)."""
import re
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import DateTime, func, select

from .. import lifecycle
from ..errors import bad_request
from ..extensions import db
from ..models import Event, Location, Product, Serial, utcnow
from . import stats

MAX_WEEKS = 104
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

def _stays_query(since: datetime, stuck_before: datetime):
    """The stays the report needs, cut from the events by the database (window functions,
    SQLite 3.25+ and PostgreSQL). Python
    only sees stays at a place in stock or quarantine that ended in the window or are still
    open past the threshold, not every event of every unit (3,000,000 events at 1,000,000
    units: walking them in Python took seconds). Same rules as stats.stays: an event that
    changes neither place nor status does not end a stay. Each row: (location id, status,
    start, end, sku, serial)."""
    # IN (not a join on a DISTINCT subquery): SQLite then finds the window's events by
    # ix_events_at and each unit's history by ix_events_serial_id_id, already in order;
    # the join form scanned the whole events table (3x slower at 50,000 units).
    recent = select(Event.serial_id).where(Event.at >= since)
    order = {"partition_by": Event.serial_id, "order_by": Event.id}
    ev = (select(Event.serial_id, Event.id, Event.at, Event.to_status, Event.to_location_id,
                 func.lag(Event.to_status).over(**order).label("prev_status"),
                 func.lag(Event.to_location_id).over(**order).label("prev_loc"))
          .where(Event.serial_id.in_(recent))).subquery()
    starts = select(ev).where(
        ev.c.prev_status.is_(None) | (ev.c.prev_status != ev.c.to_status)
        | ev.c.prev_loc.is_distinct_from(ev.c.to_location_id)).subquery()
    stays = select(starts.c.serial_id, starts.c.to_location_id.label("loc"),
                   starts.c.to_status.label("status"), starts.c.at.label("start"),
                   # type_: SQLite would hand back the text of the timestamp otherwise
                   func.lead(starts.c.at, type_=DateTime).over(partition_by=starts.c.serial_id,
                                               order_by=starts.c.id).label("end")).subquery()
    return (select(stays.c.loc, stays.c.status, stays.c.start, stays.c.end, Product.sku,
                   Serial.serial)
            .join(Serial, Serial.id == stays.c.serial_id)
            .join(Product, Product.id == Serial.product_id)
            .where(stays.c.loc.is_not(None),
                   stays.c.status.in_((lifecycle.IN_STOCK, lifecycle.QUARANTINED)),
                   ((stays.c.end.is_(None) & (stays.c.start < stuck_before))
                    | (stays.c.end >= since))))


def stage_times(weeks: int = 12, threshold_hours: int = 72, now: datetime | None = None) -> dict:
    """Per location, status and product, week by week (the week a stay began): how many
    stays ended, their median and 90th-percentile hours. Stays still open count only in
    `stuck` (open longer than the threshold): an open stay has no length yet."""
    now = now or utcnow()
    since = now - timedelta(weeks=weeks)
    rows = db.session.execute(_stays_query(since, now - timedelta(hours=threshold_hours))).all()
    # Location codes once each (a few hundred), not a join per row.
    codes = dict(db.session.execute(select(Location.id, Location.code)).all())
    groups: dict[tuple, list[float]] = defaultdict(list)
    stuck = []
    weeks_of: dict = {}
    for loc_id, status, start, end, sku, serial in rows:
        if end is None:
            hours = (now - start).total_seconds() / 3600
            if hours > threshold_hours:
                stuck.append({"serial": serial, "sku": sku, "location": codes[loc_id],
                              "status": status, "since": start.isoformat() + "Z",
                              "hours": round(hours, 1)})
            continue
        day = start.date()
        week = weeks_of.get(day)
        if week is None:
            week = weeks_of[day] = stats.week_start(day).isoformat()
        groups[(codes[loc_id], status, sku, week)].append((end - start).total_seconds() / 3600)
    table = [{"location": loc, "status": st, "sku": sku, "week": week,
              **stats.summarise(hours)}
             for (loc, st, sku, week), hours in sorted(groups.items())]
    stuck.sort(key=lambda s: -s["hours"])
    # The longest-waiting units only: at 1,000,000 units every unit resting in storage past
    # the threshold is "stuck" (150,000 in bench/records.py), a 20 MB list no one reads.
    # stuck_total says how many there are.
    return {"weeks": weeks, "threshold_hours": threshold_hours, "rows": table,
            "stuck": stuck[:MAX_STUCK], "stuck_total": len(stuck)}


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


# ---------------------------------------------------------------- charts

def _style():
    import pygal
    from pygal.style import Style
    # Big type: the SVG is scaled down to a phone's width, so its labels must start large.
    style = Style(font_family="system-ui, sans-serif", label_font_size=18,
                  major_label_font_size=18, legend_font_size=18, title_font_size=22,
                  value_font_size=16, background="white", plot_background="white")
    return pygal, style


_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _render(chart) -> str:
    """The chart's SVG without pygal's tooltip script (js=[] drops the external file, and
    this its inline config): a static chart works offline and under a strict CSP."""
    # style="opacity: 0" (the tooltip) as a presentation attribute: the CSP refuses style
    # attributes, and the SVG attribute means the same.
    return _SCRIPT.sub("", chart.render(is_unicode=True)).replace(
        'style="opacity: 0"', 'opacity="0"')


def _config(pygal, style, title: str, **kw):
    return dict(title=title, style=style, width=800, height=450, js=[], disable_xml_declaration=True,
                legend_at_bottom=True, legend_at_bottom_columns=3, truncate_legend=24,
                x_label_rotation=30, print_values=False, **kw)


def stock_chart(data: dict) -> str:
    pygal, style = _style()
    chart = pygal.StackedBar(**_config(pygal, style, "In stock per product and location"))
    skus = sorted({r["sku"] for r in data["by_location"]})
    chart.x_labels = skus
    for loc in sorted({r["location"] for r in data["by_location"]}):
        chart.add(loc, [next((r["in_stock"] for r in data["by_location"]
                              if r["sku"] == s and r["location"] == loc), None) for s in skus])
    return _render(chart)


def status_chart(data: dict) -> str:
    pygal, style = _style()
    chart = pygal.StackedBar(**_config(pygal, style, "Units by status"))
    chart.x_labels = [r["sku"] for r in data["by_status"]]
    for st in lifecycle.STATUSES:
        chart.add(st.replace("_", " "), [r[st] or None for r in data["by_status"]])
    return _render(chart)


def stage_chart(data: dict) -> str:
    """Median hours per week, one line per location (and product)."""
    pygal, style = _style()
    weeks = sorted({r["week"] for r in data["rows"]})
    chart = pygal.Line(**_config(pygal, style, "Median hours in stage, by week"))
    chart.x_labels = weeks
    series: dict[str, dict] = defaultdict(dict)
    for r in data["rows"]:
        series[f"{r['location']} {r['sku']}"][r["week"]] = r["median_hours"]
    for name, by_week in sorted(series.items()):
        chart.add(name, [by_week.get(w) for w in weeks])
    return _render(chart)


def flow_chart(data: dict) -> str:
    pygal, style = _style()
    chart = pygal.Bar(**_config(pygal, style, "Received and shipped per day",
                                show_minor_x_labels=False))
    chart.x_labels = [r["day"][5:] for r in data["rows"]]
    chart.x_labels_major = chart.x_labels[::7]
    chart.add("received", [r["received"] for r in data["rows"]])
    chart.add("shipped", [r["shipped"] for r in data["rows"]])
    return _render(chart)


def ageing_chart(data: dict) -> str:
    pygal, style = _style()
    chart = pygal.StackedBar(**_config(pygal, style, "In stock by time since receipt"))
    chart.x_labels = data["buckets"]
    for r in data["rows"]:
        chart.add(r["sku"], [r[b] or None for b in data["buckets"]])
    return _render(chart)


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
