"""Stocktakes as the API and the pages show them: the list of counts, and one count with its
live progress (open) or what its close found and how each difference was resolved (closed),
and who counted what, where and when. Reads only."""
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from .. import stocktake
from ..extensions import db
from ..inventory import counting
from ..models import (Location, Product, Serial, Stocktake, StocktakeDifference, StocktakeScan,
                      User)
from ..queries import iso

MAX_LISTED = 200


def _head(take: Stocktake) -> dict:
    return {"id": take.id, "status": take.status, "title": counting.title(take),
            "scope": {"location": take.location.code if take.location else None,
                      "sku": take.product.sku if take.product else None},
            "started_by": take.user.name if take.user else None,
            "started_at": iso(take.created_at),
            "closed_by": take.closed_by.name if take.closed_by else None,
            "closed_at": iso(take.closed_at)}


def listing(status: str | None = None) -> list[dict]:
    """Counts, newest first, each with its totals once closed."""
    query = (select(Stocktake).options(joinedload(Stocktake.location),
                                       joinedload(Stocktake.product), joinedload(Stocktake.user),
                                       joinedload(Stocktake.closed_by))
             .order_by(Stocktake.id.desc()).limit(MAX_LISTED))
    if status:
        query = query.where(Stocktake.status == status)
    return [{**_head(t), "summary": t.summary} for t in db.session.scalars(query)]


def progress(take: Stocktake) -> dict:
    """Expected, found, missing, unexpected and scanned, in all and per location: live while
    the count is open, as closed once it is."""
    if take.status == stocktake.CLOSED and take.summary is not None:
        return take.summary
    conn = db.session.connection()
    return counting.summary(counting.read(conn, take), counting.location_codes(conn))


def differences(take: Stocktake) -> list[dict]:
    """What the close found different, each with the fixes it may take (by the records now)
    and, once resolved, how and by whom. One flat query: a close may list 10,000."""
    d = StocktakeDifference
    counted_at, now_at = aliased(Location), aliased(Location)
    counter, resolver = aliased(User), aliased(User)
    rows = db.session.execute(
        select(d.id, d.kind, d.reason, d.text, Product.sku, d.recorded_status, d.recorded_location,
               counted_at.code, Serial.status, now_at.code, counter.name, StocktakeScan.at,
               d.resolution, resolver.name, d.resolved_at)
        .select_from(d)
        .outerjoin(Serial, Serial.id == d.serial_id)
        .outerjoin(Product, Product.id == Serial.product_id)
        .outerjoin(counted_at, counted_at.id == d.location_id)
        .outerjoin(now_at, now_at.id == Serial.location_id)
        .outerjoin(StocktakeScan, StocktakeScan.id == d.scan_id)
        .outerjoin(counter, counter.id == StocktakeScan.user_id)
        .outerjoin(resolver, resolver.id == d.resolved_by_id)
        .where(d.stocktake_id == take.id).order_by(d.kind, d.id)).all()
    return [{"id": i, "kind": kind, "reason": reason, "serial": text, "sku": sku,
             "recorded_status": rec_status, "recorded_location": rec_loc, "location": loc,
             "status_now": status, "location_now": loc_now, "counted_by": who,
             "counted_at": iso(at), "resolution": resolution, "resolved_by": by,
             "resolved_at": iso(when),
             "resolutions": [] if resolution else list(stocktake.resolutions(kind, reason, status))}
            for (i, kind, reason, text, sku, rec_status, rec_loc, loc, status, loc_now, who, at,
                 resolution, by, when) in rows]


def scans(take: Stocktake, found_only: bool = False, limit: int | None = None) -> list[dict]:
    """Every serial counted: what, where, by whom, when and how; with `found_only`, those a
    closed count found where expected (every scan that is not a difference)."""
    query = (select(StocktakeScan.text, Serial.serial, Product.sku, Location.code, User.name,
                    StocktakeScan.at, StocktakeScan.source)
             .select_from(StocktakeScan)
             .outerjoin(Serial, Serial.id == StocktakeScan.serial_id)
             .outerjoin(Product, Product.id == Serial.product_id)
             .outerjoin(Location, Location.id == StocktakeScan.location_id)
             .outerjoin(User, User.id == StocktakeScan.user_id)
             .where(StocktakeScan.stocktake_id == take.id)
             .order_by(StocktakeScan.id).limit(limit))
    if found_only:
        query = query.where(StocktakeScan.id.not_in(
            select(StocktakeDifference.scan_id).where(
                StocktakeDifference.stocktake_id == take.id,
                StocktakeDifference.scan_id.is_not(None))))
    return [{"serial": serial or text, "sku": sku, "location": code, "user": who, "at": iso(at),
             "source": source}
            for text, serial, sku, code, who, at, source in db.session.execute(query)]


def view(take: Stocktake, with_scans: bool = False) -> dict:
    """One count: its head, progress, who counted, and once closed its differences."""
    body = {**_head(take), "progress": progress(take),
            "counted_by": [{**row, "first": iso(row["first"]), "last": iso(row["last"])}
                           for row in counting.counted_by(db.session.connection(), take.id)]}
    if take.status == stocktake.CLOSED:
        body["differences"] = differences(take)
    if with_scans:
        body["scans"] = scans(take)
    return body
