"""Warranty: the verdict on one unit, and the units whose cover ends soon, per customer."""
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import lifecycle
from ..errors import bad_request
from ..extensions import db
from ..models import Product, Serial, utcnow
from . import stats

MAX_DAYS = 3660


def today() -> date:
    return utcnow().date()


def verdict(serial: Serial, on: date | None = None) -> dict:
    """What a serial's page and the API say about its cover. A product without a warranty
    (0 days) has none, whatever date the ship step wrote."""
    if not serial.product.warranty_days or serial.warranty_until is None:
        v = stats.warranty_verdict(None, on or today())
    else:
        v = stats.warranty_verdict(serial.warranty_until, on or today())
    return {"state": v.state, "until": v.until.isoformat() if v.until else None,
            "days_left": v.days_left, "text": v.text}


def parse_days(value) -> int:
    text = str(value if value is not None else "30").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise bad_request(f"days must be a whole number from 1 to {MAX_DAYS}.", "invalid_field",
                          field="days")
    return int(text)


def ending(days: int, on: date | None = None) -> dict:
    """Shipped units whose warranty ends within `days` from today (today included), per
    customer, soonest first: whom to offer an extension or a check-up."""
    start = on or today()
    rows = db.session.scalars(
        select(Serial).join(Serial.product)
        .options(joinedload(Serial.product), joinedload(Serial.customer),
                 joinedload(Serial.sales_order))
        .where(Serial.status == lifecycle.SHIPPED, Product.warranty_days > 0,
               Serial.warranty_until >= start,
               Serial.warranty_until <= start + timedelta(days=days))
        .order_by(Serial.warranty_until, Serial.id)).all()
    customers: dict[str, dict] = {}
    for s in rows:
        c = s.customer
        key = c.code if c else ""
        entry = customers.setdefault(key, {
            "code": c.code if c else None, "name": c.name if c else "(no customer)",
            "email": c.email if c else None, "phone": c.phone if c else None, "units": []})
        entry["units"].append({"serial": s.serial, "sku": s.product.sku,
                               "warranty_until": s.warranty_until.isoformat(),
                               "days_left": (s.warranty_until - start).days,
                               "order": s.sales_order.number if s.sales_order else None})
    return {"days": days, "from": start.isoformat(), "total": len(rows),
            "customers": sorted(customers.values(),
                                key=lambda e: (e["units"][0]["warranty_until"], e["name"]))}
