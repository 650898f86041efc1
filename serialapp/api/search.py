"""GET /api/search?q=: the one search box, as JSON."""
from .. import search as finder
from ..auth import require_role
from . import bp, schemas
from .spec import query, validated


@bp.get("/search")
@require_role("picker")
@validated(query=schemas.SearchQuery, resp=schemas.SearchResult, tags=("search",))
def search():
    """Serials, orders, customers, products, lots and locations matching `q`, and the one
    thing a scanned text names (`exact`)."""
    args = query()
    return finder.search(args.get("q", ""), args.get("limit", 10)).as_dict()
