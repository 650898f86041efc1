"""Reading an action's fields from JSON or from a multipart form."""
from flask import current_app, request

from .. import lifecycle
from ..errors import RequestError, bad_request
from ..jsonsafe import JSONTooDeep

FORM_MIMETYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def json_body() -> dict:
    if not request.is_json:
        raise RequestError(415, "unsupported_media_type",
                           "Send JSON with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if body is None:
        try:  # parse again only to say why: too deep, or not JSON at all
            current_app.json.loads(request.get_data(cache=True))
        except JSONTooDeep as exc:
            raise bad_request(str(exc), "malformed") from None
        except ValueError:
            pass
        raise bad_request("The body is not valid JSON.", "malformed")
    if not isinstance(body, dict):
        raise bad_request("Send a JSON object.", "malformed")
    return body


def action_fields() -> dict:
    """An action's fields: a JSON object, or form fields (with images) in multipart."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = {k: v for k, v in request.form.items() if k != "serials"}
        texts = []
        for value in request.form.getlist("serials"):
            texts.extend(value.splitlines())
        if texts:
            fields["serials"] = texts
        for flag in ("partial",):
            if flag in fields:
                fields[flag] = fields[flag].lower() in ("1", "true", "yes", "on")
        if "generate" in fields:
            try:
                fields["generate"] = int(fields["generate"])
            except ValueError:
                raise bad_request("'generate' must be a whole number.", "invalid_field") from None
        return fields
    return json_body()


def source_of(fields: dict, default: str = "manual") -> str:
    source = fields.pop("source", None) or default
    if source not in lifecycle.SOURCES:
        raise bad_request(f"'source' must be one of {', '.join(lifecycle.SOURCES)}.",
                          "invalid_field")
    return source


def pick_fields(fields: dict, *names: str) -> dict:
    return {name: fields.get(name) for name in names if name in fields}
