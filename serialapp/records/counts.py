"""Stocktakes as the API and the pages show them: the list of counts, and one count with its
live progress (open) or what its close found and how each difference was resolved (closed),
and who counted what, where and when. Reads only."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import stocktake
from ..extensions import db
from ..inventory import counting
from ..models import Serial, Stocktake, StocktakeDifference, StocktakeScan
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
    and, once resolved, how and by whom."""
    rows = db.session.scalars(
        select(StocktakeDifference).where(StocktakeDifference.stocktake_id == take.id)
        .options(joinedload(StocktakeDifference.serial).joinedload(Serial.product),
                 joinedload(StocktakeDifference.serial).joinedload(Serial.location),
                 joinedload(StocktakeDifference.recorded_location),
                 joinedload(StocktakeDifference.location),
                 joinedload(StocktakeDifference.resolved_by),
                 joinedload(StocktakeDifference.scan).joinedload(StocktakeScan.user))
        .order_by(StocktakeDifference.kind, StocktakeDifference.id)).all()
    out = []
    for d in rows:
        unit = d.serial
        status = unit.status if unit is not None else None
        out.append({
            "id": d.id, "kind": d.kind, "reason": d.reason, "serial": d.text,
            "sku": unit.product.sku if unit is not None else None,
            "recorded_status": d.recorded_status,
            "recorded_location": d.recorded_location.code if d.recorded_location else None,
            "location": d.location.code if d.location else None,
            "status_now": status,
            "location_now": unit.location.code if unit is not None and unit.location else None,
            "counted_by": d.scan.user.name if d.scan and d.scan.user else None,
            "counted_at": iso(d.scan.at) if d.scan else None,
            "resolution": d.resolution,
            "resolved_by": d.resolved_by.name if d.resolved_by else None,
            "resolved_at": iso(d.resolved_at),
            "resolutions": [] if d.resolution else
            list(stocktake.resolutions(d.kind, d.reason, status)),
        })
    return out


def scans(take: Stocktake, found_only: bool = False) -> list[dict]:
    """Every serial counted: what, where, by whom, when and how; with `found_only`, those a
    closed count found where expected (every scan that is not a difference)."""
    query = (select(StocktakeScan).where(StocktakeScan.stocktake_id == take.id)
             .options(joinedload(StocktakeScan.serial).joinedload(Serial.product),
                      joinedload(StocktakeScan.location), joinedload(StocktakeScan.user))
             .order_by(StocktakeScan.id))
    if found_only:
        query = query.where(StocktakeScan.id.not_in(
            select(StocktakeDifference.scan_id).where(
                StocktakeDifference.stocktake_id == take.id,
                StocktakeDifference.scan_id.is_not(None))))
    return [{"serial": s.serial.serial if s.serial else s.text,
             "sku": s.serial.product.sku if s.serial else None,
             "location": s.location.code if s.location else None,
             "user": s.user.name if s.user else None, "at": iso(s.at), "source": s.source}
            for s in db.session.scalars(query)]


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
