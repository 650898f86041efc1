"""Request validation and the OpenAPI document, from the same models (api/schemas.py).

Library: spectree (pydantic models). It works on a plain Flask app and its blueprints (no
app subclass, unlike apiflask), documents a route from the same decorator that validates
it, and can describe one action taking either JSON or a multipart form. Its Flask plugin
is adapted here in two ways:

- The body is read by our own rules before the model sees it: JSON must be a JSON object
  (415 / 400 `malformed` otherwise, as before), multipart form values are text and are
  turned into the model's types (flags, whole numbers, `serials` lines) so both ways in
  are validated by the same model.
- A validation failure raises RequestError, so the answer keeps the API's one error shape
  `{"error": {"code", "message"}}`: 400 `missing_field` / `invalid_field` naming the field
  in plain words, or `unknown_parameter` for a query parameter the endpoint doesn't take.

Responses are described, not enforced: a drift between an answer and its description is
caught by the tests, never turned into a 500 for a user."""
import re

from flask import request
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin

from .. import messages
from ..errors import RequestError, bad_request
from . import schemas
from .payload import FORM_MIMETYPES, json_body

# Form values that are flags or whole numbers in the JSON form of the same request.
_FORM_FLAGS = {"partial", "check", "open_case"}
_FORM_WHOLE = {"generate", "expect"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _query_items() -> dict:
    items = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise bad_request(f"Give the query parameter '{name}' once.", "invalid_field", name)
        items[name] = values[0]
    return items


def _form_items() -> dict:
    """A multipart (or urlencoded) body as the dict its JSON twin would be."""
    fields = {}
    texts = []
    for name in request.form:
        values = request.form.getlist(name)
        if name == "serials":  # a pasted list: one scanned text a line, as the wedge sends
            texts.extend(line for value in values for line in value.splitlines())
            continue
        if len(values) > 1:
            raise bad_request(f"Give field '{name}' once.", "invalid_field", name)
        value = values[0].strip()
        if value == "":
            continue  # an empty form input is a field not given
        if name in _FORM_FLAGS and value.lower() in _TRUE | _FALSE:
            value = value.lower() in _TRUE
        elif name in _FORM_WHOLE and re.fullmatch(r"-?[0-9]{1,12}", value):
            value = int(value)
        fields[name] = value  # anything else stays text, which the model refuses by name
    if texts:
        fields["serials"] = texts
    for name in request.files:
        files = request.files.getlist(name)
        fields[name] = files if name == "image" else files[0]
    return fields


# ------------------------------------------------------------------ errors in plain words

def _where(loc: tuple) -> tuple[str, str]:
    """(top-level field, how to name the place) for a pydantic error location."""
    parts = [p for p in loc if p != "[key]"]
    top = str(parts[0]) if parts else "body"
    words = []
    for part in reversed(parts):
        words.append(f"item {part + 1}" if isinstance(part, int) else f"'{part}'")
    text = " of ".join(words)
    return top, "Field " + text if not isinstance(parts[-1] if parts else None, int) \
        else text[0].upper() + text[1:]


def _says(error: dict) -> tuple[str, str]:
    """(code, what is wrong) for one pydantic error."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing" or (value is None and kind.endswith("_type")
                             and not isinstance(error["loc"][-1], int)):
        return "missing_field", "is required"
    if isinstance(value, str) and not value.strip() and not isinstance(error["loc"][-1], int):
        return "missing_field", "is required"  # a blank field is a field not given
    if kind == "extra_forbidden":
        return "invalid_field", "is not a field of this request"
    simple = {
        "bool_type": "must be true or false", "bool_parsing": "must be true or false",
        "int_type": "must be a whole number", "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number", "string_type": "must be text",
        "list_type": "must be a list", "dict_type": "must be an object",
        "model_type": "must be an object", "model_attributes_type": "must be an object",
        "string_pattern_mismatch": "is not in the expected form",
    }
    if kind in simple:
        return "invalid_field", simple[kind]
    if kind == "string_too_long":
        return "invalid_field", f"is longer than {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "invalid_field", f"is shorter than {ctx.get('min_length')} characters"
    if kind == "too_short":
        return "invalid_field", "must not be empty"
    if kind == "too_long":
        return "invalid_field", f"has more than {ctx.get('max_length')} items"
    if kind in ("greater_than_equal", "greater_than"):
        return "invalid_field", f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return "invalid_field", f"must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("literal_error", "enum"):
        return "invalid_field", f"must be {ctx.get('expected')}"
    if kind == "value_error":
        return "invalid_field", str(ctx.get("error", error["msg"]))
    return "invalid_field", error["msg"][0].lower() + error["msg"][1:]


def _refusal(exc: ValidationError, model, in_query: bool) -> RequestError:
    error = exc.errors(include_url=False)[0]  # the first is enough to fix and resend
    top, place = _where(tuple(error["loc"]))
    code, what = _says(error)
    if in_query:
        if error["type"] == "extra_forbidden":
            return bad_request(f"Unknown query parameter: {top}. This endpoint takes "
                               f"{', '.join(model.model_fields) or 'none'}.", "unknown_parameter", top)
        place = place.replace("Field", "Query parameter", 1)
    elif code == "missing_field" and len(error["loc"]) == 1 \
            and f"missing_field/{top}" in messages.MESSAGES:
        # The scan pages show this sentence to a picker: keep the catalogue's wording.
        return bad_request(messages.say(f"missing_field/{top}"), code, top)
    return bad_request(f"{place} {what}.", code, top)


class _Plugin(FlaskPlugin):
    def request_validation(self, request, query, json, form, headers, cookies):
        def check(model, value, in_query=False):
            try:
                return self.model_adapter.validate_obj(model, value)
            except ValidationError as exc:
                raise _refusal(exc, model, in_query) from None

        parsed_query = check(query, _query_items(), True) if query is not None else None
        parsed_json = parsed_form = None
        if form is not None and request.mimetype in FORM_MIMETYPES:
            parsed_form = check(form, _form_items())
        elif json is not None:
            parsed_json = check(json, json_body())
        elif form is not None:
            raise RequestError(415, "unsupported_media_type",
                               "Send multipart/form-data (the file as a form field).")
        request.context = Context(parsed_query, parsed_json, parsed_form, None, None)

    def parse_path(self, route, path_parameter_descriptions):
        # Our `serial` URL converter (any allowed serial text, slashes included) is unknown
        # to spectree, which would leave its schema empty: it is text.
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        for parameter in parameters:
            if not parameter.get("schema"):
                parameter["schema"] = {"type": "string", "maxLength": 200}
        return path, parameters

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        # Described, not enforced (see the module's docstring). spectree's own path, even
        # with validation skipped, walks every value of the answer looking for pydantic
        # models (half the time of a 100,000-row report): our views return dicts, lists,
        # tuples and Responses, so only the top level can be a model.
        from flask import make_response
        from pydantic import BaseModel
        payload = resp[0] if isinstance(resp, tuple) else resp
        if isinstance(payload, BaseModel):
            body = self.get_current_app().response_class(
                self.model_adapter.dump_json(payload), mimetype="application/json")
            resp = (body, *resp[1:]) if isinstance(resp, tuple) else body
        return make_response(resp), None


api_spec = SpecTree(
    "flask", backend=_Plugin, mode="strict", title="serialapp API", version="1",
    description="Serial-number inventory: every unit from receipt to customer. Errors are "
                "always {\"error\": {\"code\", \"message\"}}. See docs/api.md.",
    validation_error_status=400, validation_error_model=schemas.ErrorBody,
    # Plain model names in the document (the default adds a hash of the module).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(
        type="http", scheme="bearer", description="A token from `flask tokens issue`, or "
                                                  "a page's login session (with CSRF)."))],
    security={"bearer": []})

# The statuses every endpoint may answer with an error body, and what each means.
_ERRORS = {400: "Malformed request, or a field missing or invalid (the message names it).",
           401: "No or bad token.", 403: "The user's role may not do this."}


class _Answers(Response):
    """spectree's Response, which knows JSON bodies only, plus other media types the
    success answer may come in (a CSV download of the same listing)."""

    def __init__(self, ok: int, media: tuple, **codes):
        super().__init__(**codes)
        self.ok, self.media = str(ok), media

    def generate_spec(self, *args, **kwargs) -> dict:
        spec = super().generate_spec(*args, **kwargs)
        if self.media and self.ok in spec:
            content = spec[self.ok].setdefault("content", {})
            if content:  # a JSON model: the others are alternatives to it
                for media in self.media:
                    content[media] = {"schema": {"type": "string"}}
        return spec


def responses(ok: int = 200, model=None, *errors: int, media: tuple = ()) -> Response:
    codes = {f"HTTP_{ok}": model}
    for status in (*_ERRORS, *errors):
        codes[f"HTTP_{status}"] = schemas.ErrorBody
    return _Answers(ok, media, **codes)


def _downloads(query) -> tuple:
    """text/csv when the query model takes format=csv."""
    field = getattr(query, "model_fields", {}).get("format")
    return ("text/csv",) if field is not None and "csv" in str(field.annotation) else ()


def validated(*, query=schemas.ListQuery, json=None, form=None, ok: int = 200, resp=None,
              errors: tuple = (), tags: tuple = ()):
    """Validate a view's query and body with the models, and describe it in the document.
    Every endpoint gets a query model, so an unknown query parameter is always a 400."""
    return api_spec.validate(query=query, json=json, form=form,
                             resp=responses(ok, resp, *errors, media=_downloads(query)),
                             tags=tags)


def body():
    """The validated body as a dict of the fields the client sent (None-valued included)."""
    model = request.context.json if request.context.json is not None else request.context.form
    return model.model_dump(exclude_unset=True) if model is not None else {}


def query() -> dict:
    model = request.context.query
    return model.model_dump(exclude_none=True) if model is not None else {}
