"""Locations: shelves, stages, docks and the quarantine cage."""
from .. import lifecycle
from ..errors import bad_request
from ..models import Location
from .fields import commit, flag, only_known, require_object, save, text

EDITABLE = {"code", "name", "kind", "pickable"}


def _kind(data: dict) -> str:
    kind = text(data, "kind") or "storage"
    if kind not in lifecycle.LOCATION_KINDS:
        raise bad_request(f"Field 'kind' must be one of {', '.join(lifecycle.LOCATION_KINDS)}.",
                          "invalid_field", "kind")
    return kind


def create_location(data) -> Location:
    data = require_object(data)
    code = text(data, "code", required=True, max_len=64)
    kind = _kind(data)
    # Stages, docks and quarantine don't feed orders unless said otherwise.
    pickable = flag(data, "pickable", None)
    if pickable is None:
        pickable = kind == "storage"
    loc = Location(code=code, name=text(data, "name") or "", kind=kind, pickable=pickable)
    return save(loc, "Location", code)


def update_location(loc: Location, data) -> Location:
    """The code stays: it is printed on the shelf's label."""
    data = require_object(data)
    only_known(data, EDITABLE)
    if "code" in data and str(data["code"]).strip() != loc.code:
        raise bad_request("A location's code cannot be changed: it is on its printed label.",
                          "invalid_field", "code")
    if "name" in data:
        loc.name = text(data, "name") or ""
    if "kind" in data:
        loc.kind = _kind(data)
    if "pickable" in data:
        loc.pickable = flag(data, "pickable", loc.pickable)
    commit()
    return loc
