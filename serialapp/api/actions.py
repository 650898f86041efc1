"""POST /api/receive, move, pick, unpick, ship, return, quarantine, release, scrap."""
from functools import partial

from .. import inventory, lifecycle
from ..auth import api_user, require_role
from ..idempotency import idempotent
from . import bp
from .payload import action_fields, pick_fields, source_of

# action -> (service function, fields it takes)
ACTIONS = {
    "receive": (inventory.receive,
                ("location", "purchase_order", "sku", "lot", "expiry", "serials", "generate")),
    "move": (inventory.move, ("location", "serials", "sku")),
    "pick": (inventory.pick, ("order", "serials", "sku")),
    "unpick": (inventory.unpick, ("order", "location", "serials", "sku")),
    "ship": (inventory.ship, ("order", "partial")),
    "return": (inventory.return_, ("serials", "sku", "reason", "disposition", "location")),
    "quarantine": (partial(inventory.set_aside, action="quarantine"),
                   ("serials", "sku", "location", "reason")),
    "release": (partial(inventory.set_aside, action="release"),
                ("serials", "sku", "location", "reason")),
    "scrap": (partial(inventory.set_aside, action="scrap"), ("serials", "sku", "location", "reason")),
}


def _register(action: str, service, names: tuple) -> None:
    def view():
        fields = action_fields()
        user = api_user()
        actor = inventory.Actor(user_id=user.id, role=user.role, source=source_of(fields))
        outcome = service(actor, **pick_fields(fields, *names))
        return outcome.as_dict()
    view.__name__ = f"action_{action}"
    role = lifecycle.RULES[action].role
    bp.post(f"/{action}")(idempotent(require_role(role)(view)))


for _action, (_service, _names) in ACTIONS.items():
    _register(_action, _service, _names)
