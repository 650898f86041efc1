"""Photos and camera frames in, decoded codes out: the API side of `scanning`."""
from flask import current_app, request

from .. import identifiers, scanning
from ..errors import RequestError

MAX_IMAGES = 10


def uploads() -> list[bytes]:
    files = request.files.getlist("image")
    if len(files) > MAX_IMAGES:
        raise RequestError(400, "too_many_images", f"Send at most {MAX_IMAGES} images at once.")
    return [f.read() for f in files]


def describe(code: scanning.Code) -> dict:
    """A decoded code with what it means: kind (gs1, gtin, imei, vin, text) and parsed fields."""
    view = code.as_dict()
    try:
        interp = identifiers.interpret(code.text, barcode_format=code.format)
        view["kind"], view["parsed"] = interp.kind, interp.as_dict()
    except identifiers.IdentifierError as exc:
        view["kind"], view["parsed"] = "invalid", {"error": str(exc)}
    return view


def _decode(data: bytes, frame: bool, expect: int) -> list[scanning.Code]:
    try:
        if frame:
            return scanning.decode_frame(data)
        return scanning.decode_image(data, expect=expect,
                                     budget_ms=current_app.config["DECODE_BUDGET_MS"])
    except scanning.ImageError as exc:
        raise RequestError(exc.status, exc.code, exc.message) from None


def decode_uploads(*, frame: bool = False, expect: int = 1) -> tuple[list[str], list[dict]]:
    """(texts to act on, decoded codes to show) for every `image` in the request."""
    texts, shown = [], []
    for data in uploads():
        for code in _decode(data, frame, expect):
            view = describe(code)
            shown.append(view)
            # A product barcode goes on as its GTIN-14, so UPC-A, UPC-E and EAN-13 agree.
            gtin = view["parsed"].get("gtin") if view["kind"] == "gtin" else None
            texts.append(gtin or code.text)
    return texts, shown
