"""Photos and camera frames in, decoded codes out: the API side of `scanning`."""
from flask import current_app, request

from .. import identifiers, scanning
from ..errors import RequestError

MAX_IMAGES = 10
# Symbology identifiers that mark the data as GS1 (GS1-128, GS1 DataMatrix, GS1 QR,
# GS1 DataBar, GS1 Aztec): kept in front of the text so the interpretation knows.
GS1_SYMBOLOGIES = ("]C1", "]d2", "]Q3", "]e0", "]z1")


def uploads() -> list[bytes]:
    files = request.files.getlist("image")
    if len(files) > MAX_IMAGES:
        raise RequestError(400, "too_many_images", f"Send at most {MAX_IMAGES} images at once.")
    return [f.read() for f in files]


def scanned_text(code: scanning.Code) -> str:
    return code.symbology + code.text if code.symbology in GS1_SYMBOLOGIES else code.text


def describe(code: scanning.Code) -> dict:
    """A decoded code with what it means: kind (gs1, gtin, imei, vin, text) and parsed fields."""
    view = code.as_dict()
    try:
        interp = identifiers.interpret(scanned_text(code), barcode_format=code.format)
        view["kind"], view["parsed"] = interp.kind, interp.as_dict()
    except identifiers.IdentifierError as exc:
        view["kind"], view["parsed"] = "invalid", {"error": str(exc)}
    return view


def _decode(data: bytes, frame: bool, expect: int) -> list[scanning.Code]:
    """Codes in one upload; a bad image raises scanning.ImageError, a RequestError.
    The photo path reads every code it can locate whatever ``expect`` says (a box label's
    product code and serials alike); ``expect`` only makes it try harder while fewer were
    found."""
    if frame:
        return scanning.decode_frame(data)
    budget = current_app.config["DECODE_BUDGET_MS"]
    return scanning.decode_image(data, expect=expect, budget_ms=budget)


def decode_uploads(*, frame: bool = False, expect: int = 1) -> tuple[list[str], list[dict]]:
    """(texts to act on, decoded codes to show) for every `image` in the request."""
    texts, shown = [], []
    for data in uploads():
        for code in _decode(data, frame, expect):
            view = describe(code)
            shown.append(view)
            # A product barcode goes on as its GTIN-14, so UPC-A, UPC-E and EAN-13 agree.
            gtin = view["parsed"].get("gtin") if view["kind"] == "gtin" else None
            texts.append(gtin or scanned_text(code))
    return texts, shown
