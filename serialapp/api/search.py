"""GET /api/search?q=: the one search box, as JSON."""
from flask import request

from .. import search as finder
from ..auth import require_role
from ..errors import bad_request
from . import bp

_KNOWN = {"q", "limit"}


@bp.get("/search")
@require_role("picker")
def search():
    unknown = sorted(set(request.args) - _KNOWN)
    if unknown:
        raise bad_request(f"Unknown query parameter: {', '.join(unknown)}. Use q and limit.",
                          "unknown_parameter")
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError:
        raise bad_request("limit must be a whole number from 1 to 100.", "invalid_field") from None
    if not 1 <= limit <= 100:
        raise bad_request("limit must be a whole number from 1 to 100.", "invalid_field")
    return finder.search(request.args.get("q", ""), limit).as_dict()
