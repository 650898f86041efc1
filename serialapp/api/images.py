"""Photos and camera frames in, decoded codes out: the API side of `scanning`."""
import math
import threading
from contextlib import contextmanager

from flask import current_app, request

from .. import identifiers, scanning
from ..errors import RequestError, busy

MAX_IMAGES = 10
# Symbology identifiers that mark the data as GS1 (GS1-128, GS1 DataMatrix, GS1 QR,
# GS1 DataBar, GS1 Aztec): kept in front of the text so the interpretation knows.
GS1_SYMBOLOGIES = ("]C1", "]d2", "]Q3", "]e0", "]z1")


# Decodes at once in this process. Each costs up to scanning.MAX_DECODE_BYTES, so a worker
# stays within (slots x that) above idle however many photos arrive together; the rest
# wait a moment, then are told to come back. Config: DECODE_SLOTS (default 1: the decode
# is CPU-bound, more threads than cores buy nothing), DECODE_WAIT_S (default 2),
# DECODE_RETRY_AFTER_S (default 2).
_slots: threading.BoundedSemaphore | None = None
_slots_size = 0
_slots_lock = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    global _slots, _slots_size
    size = max(1, int(current_app.config.get("DECODE_SLOTS", 1)))
    with _slots_lock:
        if _slots is None or _slots_size != size:
            _slots, _slots_size = threading.BoundedSemaphore(size), size
        return _slots


@contextmanager
def decode_slot():
    """Hold one of this process's decode slots, waiting up to DECODE_WAIT_S for it;
    answer 503 busy with Retry-After if none came free (the phone's outbox retries then)."""
    slots = _semaphore()
    if not slots.acquire(timeout=float(current_app.config.get("DECODE_WAIT_S", 2.0))):
        wait = max(1, math.ceil(float(current_app.config.get("DECODE_RETRY_AFTER_S", 2))))
        raise busy("The server is reading other photos; this one will be sent again in "
                   f"{wait} s.", retry_after=wait)
    try:
        yield
    finally:
        slots.release()


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
    images = uploads()
    with decode_slot():
        decoded = [_decode(data, frame, expect) for data in images]
    for codes in decoded:
        for code in codes:
            view = describe(code)
            shown.append(view)
            # A product barcode goes on as its GTIN-14, so UPC-A, UPC-E and EAN-13 agree.
            gtin = view["parsed"].get("gtin") if view["kind"] == "gtin" else None
            texts.append(gtin or scanned_text(code))
    return texts, shown
