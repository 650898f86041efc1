"""The JSON API of DESIGN §5. Thin: parse, call the service layer, render."""
from flask import Blueprint, jsonify
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import RequestError

bp = Blueprint("api", __name__, url_prefix="/api")

# Werkzeug's names for the statuses the API can answer, as stable codes.
_HTTP_CODES = {400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def error_body(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(RequestError)
def _request_error(exc: RequestError):
    return exc.response()


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return error_body(400, "csrf_failed", "The page's security token is missing or stale; "
                                          "reload the page.")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_body(exc.code, _HTTP_CODES.get(exc.code, "error"), exc.description)


from . import actions, expected, labels, records, resources, search, stocktakes, transfer  # noqa: E402,F401,E501  (routes on bp)


from .spec import api_spec, validated  # noqa: E402
from .schemas import OpenAPIDocument  # noqa: E402


@bp.get("/openapi.json")
@validated(resp=OpenAPIDocument, tags=("meta",))
def openapi():
    """This document: every endpoint, its parameters, bodies and answers (OpenAPI 3.1).
    Generated from the models that validate each request, so it cannot drift from them."""
    return api_spec.spec
