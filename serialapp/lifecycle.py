"""The serial lifecycle: statuses, which action may move a serial from which status to
which, and who may do it. Pure: no Flask, no database, so the rules read in one place."""
from dataclasses import dataclass

IN_STOCK = "in_stock"
PICKED = "picked"
SHIPPED = "shipped"
QUARANTINED = "quarantined"
SCRAPPED = "scrapped"
# Not found where the records put it in a stocktake: location_id still says where it was
# last, so "where was it last" keeps its answer; `found` (or a move) brings it back.
MISSING = "missing"
STATUSES = (IN_STOCK, PICKED, SHIPPED, QUARANTINED, SCRAPPED, MISSING)

ROLES = ("picker", "manager", "admin")
SOURCES = ("camera", "photo", "wedge", "manual", "import")
DISPOSITIONS = {"restock": IN_STOCK, "quarantine": QUARANTINED, "scrap": SCRAPPED}
LOCATION_KINDS = ("storage", "stage", "dock", "quarantine")

# A sales order: open (lines still to pick, nothing shipped), picked (every line filled,
# nothing shipped), partially_shipped (some shipped, some not yet), shipped (all gone).
ORDER_OPEN, ORDER_PICKED = "open", "picked"
ORDER_PARTLY, ORDER_SHIPPED = "partially_shipped", "shipped"
ORDER_STATUSES = (ORDER_OPEN, ORDER_PICKED, ORDER_PARTLY, ORDER_SHIPPED)
# A purchase order: open (receiving), closed (no more expected), cancelled (none came).
PO_OPEN, PO_CLOSED, PO_CANCELLED = "open", "closed", "cancelled"
PO_STATUSES = (PO_OPEN, PO_CLOSED, PO_CANCELLED)


def sales_order_status(all_filled: bool, shipped_any: bool, picked_left: bool) -> str:
    """An order's status from its lines and units; the SQL in inventory.orders says the same."""
    if not shipped_any:
        return ORDER_PICKED if all_filled else ORDER_OPEN
    return ORDER_SHIPPED if all_filled and not picked_left else ORDER_PARTLY


class TransitionError(Exception):
    """A serial can't take this action from its current status."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rule:
    sources: frozenset  # statuses the action starts from (None: a serial not yet known)
    target: str | None  # resulting status; None keeps the current one
    role: str           # least role allowed


RULES = {
    "receive": Rule(frozenset({None}), IN_STOCK, "picker"),
    "move": Rule(frozenset({IN_STOCK, QUARANTINED}), None, "picker"),
    "pick": Rule(frozenset({IN_STOCK}), PICKED, "picker"),
    "unpick": Rule(frozenset({PICKED}), IN_STOCK, "picker"),
    "ship": Rule(frozenset({PICKED}), SHIPPED, "picker"),
    "return": Rule(frozenset({SHIPPED}), None, "manager"),  # target from the disposition
    "quarantine": Rule(frozenset({IN_STOCK}), QUARANTINED, "manager"),
    "release": Rule(frozenset({QUARANTINED}), IN_STOCK, "manager"),
    # A missing unit may be written off too (a theft or loss in the bound book).
    "scrap": Rule(frozenset({IN_STOCK, QUARANTINED, MISSING}), SCRAPPED, "manager"),
    # Stocktakes: what a count did not find, and a missing unit that turned up again.
    "mark_missing": Rule(frozenset({IN_STOCK, QUARANTINED}), MISSING, "manager"),
    "found": Rule(frozenset({MISSING}), IN_STOCK, "manager"),
}

# A unit received against a purchase order whose supplier listed the serials it shipped,
# and that the list does not vouch for (not on it, or another lot or expiry), is received
# straight into quarantine as suspect: received, but not pickable until a manager decides.
RECEIVE_STATUSES = (IN_STOCK, QUARANTINED)


def received_status(suspect: bool) -> str:
    """The status a unit is received in: in stock, or quarantined when it is suspect."""
    return QUARANTINED if suspect else RULES["receive"].target


# A manager creates the things serials refer to; an admin manages people.
SETUP_ROLE = "manager"
ADMIN_ROLE = "admin"


def role_at_least(role: str | None, needed: str) -> bool:
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def may(role: str | None, action: str) -> bool:
    return role_at_least(role, RULES[action].role)


_DONE = {"move": "moved", "pick": "picked", "unpick": "unpicked", "ship": "shipped",
         "return": "returned", "quarantine": "quarantined", "release": "released",
         "scrap": "scrapped", "mark_missing": "marked missing", "found": "marked found"}


def _refusal(action: str, status: str | None) -> TransitionError:
    """Say why in the picker's words; `pick` refusals share one code the API promises."""
    if status is None:
        return TransitionError("unknown_serial", "This serial has not been received.")
    if status == SCRAPPED:
        return TransitionError("invalid_transition", "This serial was scrapped.")
    if action == "pick":
        reasons = {PICKED: "It is already picked for an order.",
                   SHIPPED: "It has already been shipped.",
                   QUARANTINED: "It is in quarantine.",
                   MISSING: "It is marked missing: move it to a shelf first."}
        return TransitionError("serial_not_available",
                               reasons.get(status, f"It is {status.replace('_', ' ')}."))
    if action == "receive":
        return TransitionError("duplicate_serial", "This serial was already received.")
    return TransitionError(
        "invalid_transition",
        f"It is {status.replace('_', ' ')}, so it cannot be {_DONE.get(action, action)}.")


def next_status(action: str, status: str | None, disposition: str | None = None) -> str:
    """The status after `action`, or TransitionError saying why not."""
    rule = RULES[action]
    if status not in rule.sources:
        raise _refusal(action, status)
    if action == "return":
        if disposition not in DISPOSITIONS:
            raise TransitionError("invalid_disposition",
                                  "Choose what happens to it: back to stock, quarantine or "
                                  "scrap.")
        return DISPOSITIONS[disposition]
    return rule.target if rule.target is not None else status
