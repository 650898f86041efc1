"""Move, quarantine, release, scrap and return: a unit's place or standing changes."""

from datetime import date

from sqlalchemy.engine import Connection

from .. import lifecycle, messages
from ..errors import refuse
from ..models import utcnow
from .base import Actor, Outcome
from .lookups import Unit
from .steps import _next, _ok, _place, _scanned, _serial_steps, _transition


def move(actor: Actor, *, location=None, serials=None, sku=None, decoded=None) -> Outcome:
    to = _place(location)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        if unit.status == lifecycle.MISSING:
            # A unit a count had marked missing, in someone's hands: found, and put here.
            result = _transition(conn, unit, actor, "found", _next(unit, "found"),
                                 {"location_id": to.id}, note="Found while moving it")
            return {**result, "location": to.code, "note": "found: it was marked missing"}
        status = _next(unit, "move")
        if unit.location_id == to.id:
            return _ok(unit, messages.repeat("at", location=to.code))
        result = _transition(conn, unit, actor, "move", status, {"location_id": to.id})
        return {**result, "location": to.code}  # the page confirms where to: "→ ASSEMBLY"
    return _serial_steps(texts, sku, outcome, step, last=True)


def set_aside(actor: Actor, action: str, *, serials=None, sku=None, location=None,
              reason=None, decoded=None) -> Outcome:
    """quarantine, release or scrap: a manager's decision about units in stock."""
    to = _place(location, required=False)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        status = _next(unit, action)
        changes = {"location_id": to.id} if to else {}
        result = _transition(conn, unit, actor, action, status, changes, note=reason)
        return {**result, "location": to.code} if to else result
    return _serial_steps(texts, sku, outcome, step, last=True)



# ---------------------------------------------------------------- return

def return_(actor: Actor, *, serials=None, sku=None, reason=None, disposition=None,
            location=None, decoded=None) -> Outcome:
    if not reason or not str(reason).strip():
        raise refuse(400, "missing_field/reason")
    if disposition not in lifecycle.DISPOSITIONS:
        raise refuse(400, "invalid_field/disposition")
    to = _place(location, required=disposition == "restock")
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        status = _next(unit, "return", disposition)
        changes = {"sales_order_id": None, "customer_id": None, "warranty_until": None,
                   "location_id": to.id if to else None}
        # Covered on the day it comes back (cover runs to the end of warranty_until): the
        # event says so in a flag of its own, because warranty_until is cleared here and
        # the event is what remains; the note stays the manager's reason as typed.
        covered = _in_warranty(unit)
        result = _transition(conn, unit, actor, "return", status, changes, note=str(reason).strip(),
                             sales_order_id=unit.sales_order_id, customer_id=unit.customer_id,
                             warranty_return=covered)
        return {**result, "warranty_return": True, "note": "warranty return"} if covered \
            else {**result, "warranty_return": False}
    return _serial_steps(texts, sku, outcome, step, last=True)


def _in_warranty(unit: Unit) -> bool:
    # The unit is read by a prebuilt statement on the driver: SQLite gives the date as
    # text, PostgreSQL as a date.
    until = unit.warranty_until
    if isinstance(until, str):
        until = date.fromisoformat(until[:10])
    return bool(unit.warranty_days and until is not None and until >= utcnow().date())
