"""Stocktakes (cycle counts): start, count into, read, close, resolve. Thin over
inventory/counting.py (writes) and records/counts.py (reads)."""
from flask import request

from .. import inventory, lifecycle
from ..auth import api_user, require_role
from ..idempotency import idempotent
from ..inventory import counting
from ..records import counts
from . import bp
from . import stocktake_schemas as ss
from .actions import _expect
from .images import decode_uploads
from .payload import pick_fields, source_of
from .spec import body, query, validated

TAGS = ("stocktakes",)


def _actor(source: str = "manual") -> inventory.Actor:
    user = api_user()
    return inventory.Actor(user_id=user.id, role=user.role, source=source)


@bp.post("/stocktakes")
@idempotent
@require_role(lifecycle.SETUP_ROLE)
@validated(json=ss.StocktakeCreate, ok=201, resp=ss.Stocktake, errors=(404, 409), tags=TAGS)
def start_stocktake():
    """Start a count of a location, a product (wherever it is), both, or the whole site
    (manager). One count of a scope is open at a time."""
    take = counting.start(_actor(), **pick_fields(body(), "location", "sku"))
    return counts.view(take), 201


@bp.get("/stocktakes")
@require_role("picker")
@validated(query=ss.StocktakeListQuery, resp=ss.StocktakeList, tags=TAGS)
def list_stocktakes():
    """Counts, newest first (the last 200), with their totals once closed."""
    return {"stocktakes": counts.listing(query().get("status"))}


@bp.get("/stocktakes/<int(min=1,max=2147483647):count_id>")
@require_role("picker")
@validated(query=ss.StocktakeQuery, resp=ss.Stocktake, errors=(404,), tags=TAGS)
def get_stocktake(count_id):
    """One count: progress (live while open: expected, found, missing, unexpected, per
    location), who counted, and once closed its differences with the fixes each may take."""
    return counts.view(counting.get_count(count_id), with_scans=bool(query().get("scans")))


@bp.post("/stocktakes/<int(min=1,max=2147483647):count_id>/scans")
@idempotent
@require_role("picker")
@validated(json=ss.StocktakeScans, form=ss.StocktakeScansForm, resp=ss.StocktakeScanResult,
           errors=(404, 409, 413, 415, 422), tags=TAGS)
def stocktake_scans(count_id):
    """Count serials: scanned texts as JSON, or photos (multipart `image`), every code in
    them. Each serial counts once per count, whoever scans it; a serial not known here is
    counted too (typed or scanned, not read off a photo), for the manager to decide."""
    fields = body()
    fields.pop("image", None)
    has_images = bool(request.files.getlist("image"))
    actor = _actor(source_of(fields, "photo" if has_images else "manual"))
    kwargs = pick_fields(fields, "serials", "location", "sku")
    shown = None
    if has_images:
        kwargs["decoded"], shown = decode_uploads(expect=_expect(fields))
    answer = counting.scan(actor, count_id, **kwargs).as_dict()
    answer["added"] = sum(1 for r in answer["results"] if r.get("ok") and not r.get("repeat"))
    answer["progress"] = counts.progress(counting.get_count(count_id))
    if shown is not None:
        answer["decoded"] = shown
    return answer


@bp.post("/stocktakes/<int(min=1,max=2147483647):count_id>/close")
@idempotent
@require_role(lifecycle.SETUP_ROLE)
@validated(resp=ss.Stocktake, errors=(404, 409), tags=TAGS)
def close_stocktake(count_id):
    """Close a count (manager): what it expected and what was scanned are compared now, and
    the differences listed: missing (expected, not scanned) and unexpected (scanned, but
    recorded elsewhere, in another status, or unknown). Nothing changes on the serials."""
    return counts.view(counting.close(_actor(), count_id))


@bp.post("/stocktakes/<int(min=1,max=2147483647):count_id>/resolve")
@idempotent
@require_role(lifecycle.SETUP_ROLE)
@validated(json=ss.StocktakeResolve, resp=ss.StocktakeResolveResult, errors=(404, 409),
           tags=TAGS)
def resolve_stocktake(count_id):
    """Resolve differences of a closed count (manager): each fix is an ordinary event on
    the serial (move, found, mark_missing, receive, quarantine) noted with the count."""
    fields = pick_fields(body(), "action", "differences", "sku", "location")
    return counting.resolve(_actor(), count_id, **fields).as_dict()
