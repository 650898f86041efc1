"""POST /api/receive, move, pick, unpick, ship, return, quarantine, release, scrap."""
from functools import partial

from flask import request

from .. import inventory, lifecycle
from ..auth import api_user, require_role
from ..errors import RequestError
from ..idempotency import idempotent
from ..records import book
from . import bp, schemas
from .images import decode_uploads
from .payload import pick_fields, source_of
from .spec import body, validated

# action -> its body (api/schemas.py); the multipart form is the same plus `image` files.
BODIES = {"receive": schemas.Receive, "move": schemas.Move, "pick": schemas.Pick,
          "unpick": schemas.Unpick, "ship": schemas.Ship, "return": schemas.Return,
          "quarantine": schemas.SetAside, "release": schemas.SetAside,
          "scrap": schemas.SetAside}

DOCS = {
    "receive": "Receive units at a location, against a purchase order or not; or mint "
               "`generate: N` serials from the product's template.",
    "move": "Move units (in stock or quarantined) to another location.",
    "pick": "Pick units from pickable stock into a sales order.",
    "unpick": "Take picked units off an order, back to a location.",
    "ship": "Ship a picked order to its customer (`partial: true` for what is picked; "
            "`form_4473`: the Form 4473 transaction number, for the bound book).",
    "return": "A customer's units come back: restock, quarantine or scrap (manager).",
    "quarantine": "Set units aside in quarantine (manager).",
    "release": "Release quarantined units back to stock (manager).",
    "scrap": "Scrap units (manager).",
}

# action -> (service function, fields it takes)
ACTIONS = {
    "receive": (inventory.receive,
                ("location", "purchase_order", "sku", "lot", "expiry", "serials", "generate",
                 "open_case")),
    "move": (inventory.move, ("location", "serials", "sku")),
    "pick": (inventory.pick, ("order", "serials", "sku")),
    "unpick": (inventory.unpick, ("order", "location", "serials", "sku")),
    "ship": (book.ship, ("order", "partial", "form_4473")),
    "return": (inventory.return_, ("serials", "sku", "reason", "disposition", "location")),
    "quarantine": (partial(inventory.set_aside, action="quarantine"),
                   ("serials", "sku", "location", "reason")),
    "release": (partial(inventory.set_aside, action="release"),
                ("serials", "sku", "location", "reason")),
    "scrap": (partial(inventory.set_aside, action="scrap"), ("serials", "sku", "location", "reason")),
}


def _register(action: str, service, names: tuple) -> None:
    def view():
        fields = body()
        fields.pop("image", None)
        user = api_user()
        has_images = "serials" in names and request.mimetype == "multipart/form-data" \
            and bool(request.files.getlist("image"))  # a JSON body has no files to parse for
        actor = inventory.Actor(user_id=user.id, role=user.role,
                                source=source_of(fields, "photo" if has_images else "manual"))
        kwargs = pick_fields(fields, *names)
        shown = None
        if has_images:
            kwargs["decoded"], shown = decode_uploads(expect=_expect(fields))
        answer = service(actor, **kwargs).as_dict()
        if shown is not None:
            answer["decoded"] = shown
        return answer
    view.__name__ = f"action_{action}"
    view.__doc__ = DOCS[action] + "\n\nEach serial is its own step with its own result; " \
        "a 4xx means nothing was done."
    model = BODIES[action]
    form = schemas.with_images(model) if "serials" in names else model
    role = lifecycle.RULES[action].role
    bp.post(f"/{action}")(idempotent(answer_is_steps=True)(require_role(role)(validated(
        json=model, form=form, resp=schemas.ActionResult, errors=(404, 409, 413, 415, 422),
        tags=("actions",))(view))))


for _action, (_service, _names) in ACTIONS.items():
    _register(_action, _service, _names)


def _expect(fields: dict) -> int:
    """How many codes the photo should hold (a case label may carry ten): the decoder keeps
    looking harder until it has found that many or its time budget is spent."""
    return fields.get("expect") or 1  # validated: 1..100


@bp.post("/decode")
@require_role("picker")
@validated(form=schemas.DecodeForm, resp=schemas.Decoded, errors=(413, 415, 422, 503),
           tags=("actions",))
def decode():
    """Codes in a photo (or, with mode=frame, a live camera frame); changes nothing."""
    fields = body()
    if not request.files.getlist("image"):
        raise RequestError(400, "missing_field", "Send the photo as multipart field 'image'.")
    _, shown = decode_uploads(frame=fields.get("mode") == "frame", expect=_expect(fields))
    return {"codes": shown}
