"""POST /api/receive, move, pick, unpick, ship, return, quarantine, release, scrap."""
from functools import partial

from flask import request

from .. import inventory, lifecycle
from ..auth import api_user, require_role
from ..errors import RequestError
from ..idempotency import idempotent
from . import bp
from .images import decode_uploads
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
        has_images = "serials" in names and bool(request.files.getlist("image"))
        actor = inventory.Actor(user_id=user.id, role=user.role,
                                source=source_of(fields, "photo" if has_images else "manual"))
        kwargs = pick_fields(fields, *names)
        shown = None
        if has_images:
            kwargs["decoded"], shown = decode_uploads(expect=_expect(fields))
        body = service(actor, **kwargs).as_dict()
        if shown is not None:
            body["decoded"] = shown
        return body
    view.__name__ = f"action_{action}"
    role = lifecycle.RULES[action].role
    bp.post(f"/{action}")(idempotent(require_role(role)(view)))


for _action, (_service, _names) in ACTIONS.items():
    _register(_action, _service, _names)


def _expect(fields: dict) -> int:
    """How many codes the photo should hold (a case label may carry ten): the decoder keeps
    looking harder until it has found that many or its time budget is spent."""
    try:
        return max(1, min(int(fields.get("expect", 1)), 100))
    except (TypeError, ValueError):
        return 1


@bp.post("/decode")
@require_role("picker")
def decode():
    """Codes in a photo (or, with mode=frame, a live camera frame); changes nothing."""
    if not request.files.getlist("image"):
        raise RequestError(400, "missing_field", "Send the photo as multipart field 'image'.")
    _, shown = decode_uploads(frame=request.form.get("mode") == "frame",
                              expect=_expect(request.form))
    return {"codes": shown}
