"""Photos on the actions and /api/decode: real zxing-cpp-written codes, real decoding."""
import io
import struct
import time
import zlib

import numpy as np
import pytest
from sqlalchemy import func, select

from serialapp.extensions import db
from serialapp.models import Event
from serialapp.api import images
from tests.factories import imei, setup_shop
from tests.imagegen import code_array, encode, label_photo


def box_label(*codes) -> bytes:
    """A white box label with the given (text, format) codes stacked, as a phone JPEG."""
    arrays = [code_array(text, fmt, module=4) for text, fmt in codes]
    width = max(a.shape[1] for a in arrays) + 200
    height = sum(a.shape[0] for a in arrays) + 80 * (len(arrays) + 1)
    canvas = np.full((height, width), 255, np.uint8)
    y = 80
    for a in arrays:
        canvas[y:y + a.shape[0], 100:100 + a.shape[1]] = a
        y += a.shape[0] + 80
    return encode(canvas, "JPEG", quality=90)


def post_image(api, path, image: bytes, key: str | None = None, **fields):
    data = {k: str(v) for k, v in fields.items()}
    data["image"] = (io.BytesIO(image), "photo.jpg")
    headers = dict(api.headers, **({"Idempotency-Key": key} if key else {}))
    return api.client.post("/api" + path, data=data, headers=headers,
                           content_type="multipart/form-data")


def events(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def test_box_photo_receives_the_imei_into_the_gtin_product(app, manager):
    setup_shop(manager)
    photo = box_label(("4006381333931", "EAN13"), (imei(7), "Code128"), ("SN C0123456789", "Code128"))
    r = post_image(manager, "/receive", photo, location="A1")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["results"] == [{"serial": imei(7), "sku": "PHONE", "ok": True,
                                "status": "in_stock"}]
    assert {d["kind"] for d in body["decoded"]} == {"gtin", "imei", "text"}
    assert all(len(d["position"]["points"]) == 4 for d in body["decoded"])
    ignored = {i["text"] for i in body["ignored"]}
    assert "SN C0123456789" in ignored
    serial = manager.get(f"/serials/{imei(7)}").get_json()
    assert serial["history"][0]["source"] == "photo"
    assert manager.get("/products/PHONE").get_json()["on_hand"] == 1


def test_upca_product_code_matches_gtin_stored_from_any_form(app, manager):
    setup_shop(manager)
    manager.post("/products", {"sku": "CEREAL", "name": "Cereal", "gtin": "036000291452",
                               "serial_pattern": r"CR\d{6}"})
    photo = box_label(("03600029145", "UPCA"), ("CR123456", "Code128"))
    body = post_image(manager, "/receive", photo, location="A1").get_json()
    assert body["results"] == [{"serial": "CR123456", "sku": "CEREAL", "ok": True,
                                "status": "in_stock"}]


def test_photo_picks_into_an_order(app, manager, picker):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    body = post_image(picker, "/pick", box_label((imei(1), "Code128")), order="SO1").get_json()
    assert body["results"][0]["ok"] and body["results"][0]["status"] == "picked"


def test_a_photo_with_no_code_says_so_and_changes_nothing(app, manager):
    setup_shop(manager)
    before = events(app)
    blank = encode(np.full((600, 800), 200, np.uint8), "PNG")
    r = post_image(manager, "/receive", blank, location="A1", sku="PHONE")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "no_code_found"
    assert events(app) == before


def test_decode_reports_codes_without_side_effects(app, manager):
    setup_shop(manager)
    before = events(app)
    gs1 = "(01)09506000134352(17)271231(10)LOT7(21)PK42"
    photo = box_label((imei(3), "Code128"))
    body = post_image(manager, "/decode", photo).get_json()
    assert body["codes"][0]["text"] == imei(3) and body["codes"][0]["kind"] == "imei"
    frame = post_image(manager, "/decode", photo, mode="frame").get_json()
    assert [c["text"] for c in frame["codes"]] == [imei(3)]
    dm = encode(np.pad(code_array(gs1, "DataMatrix", module=8), 40, constant_values=255), "PNG")
    parsed = post_image(manager, "/decode", dm).get_json()["codes"][0]
    assert parsed["kind"] == "gs1" and parsed["parsed"]["serial"] == "PK42"
    assert parsed["parsed"]["lot"] == "LOT7"
    assert events(app) == before


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def _png_header_claiming(width, height) -> bytes:
    """A small file whose header promises a huge image: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _chunk(b"IEND", b""))


@pytest.mark.parametrize("name,data,status", [
    ("text", b"hello, this is not a picture", 415),
    ("empty", b"", 415),
    ("truncated", None, 422),
    ("bomb", _png_header_claiming(20000, 20000), 413),
])
def test_bad_images_get_a_clear_4xx_fast(app, manager, name, data, status):
    setup_shop(manager)
    if data is None:
        data = box_label((imei(1), "Code128"))[:3000]
    before = events(app)
    for path, fields in (("/decode", {}), ("/receive", {"location": "A1", "sku": "PHONE"})):
        start = time.perf_counter()
        r = post_image(manager, path, data, **fields)
        assert time.perf_counter() - start < 1.0
        assert r.status_code == status, (path, r.get_json())
        assert r.get_json()["error"]["message"]
    assert events(app) == before


def test_upload_over_the_size_limit_is_413(app, manager):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    r = post_image(manager, "/decode", b"\xff" * 200_000)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("layout", ["stacked", "side", "case"])
def test_a_label_photo_names_the_product_and_the_serial_without_expect(app, manager, layout):
    """A 12 MP phone photo of a generated box label (EAN-13 + IMEI + S/N), no SKU and no
    `expect` sent: the product comes from the EAN, the IMEI is received into it."""
    setup_shop(manager)
    codes = [("4006381333931", "EAN13"), (imei(7), "Code128"), ("SN C0123456789", "Code128")]
    photo = label_photo(codes, layout, seed=3, width_frac=0.15 if layout == "stacked" else 0.2)
    app.config["DECODE_BUDGET_MS"] = 1500     # the machine is shared; time is benchmarked
    body = post_image(manager, "/receive", photo.data, location="A1").get_json()
    assert body["results"] == [{"serial": imei(7), "sku": "PHONE", "ok": True,
                                "status": "in_stock"}], body
    assert {d["kind"] for d in body["decoded"]} == {"gtin", "imei", "text"}


def test_decodes_at_once_are_limited_excess_gets_503_busy_with_retry_after(app, manager):
    """While this process's decode slot is taken, a photo waits DECODE_WAIT_S, then gets
    503 busy with Retry-After; nothing was done, so the phone's retry with the same
    Idempotency-Key is processed once."""
    setup_shop(manager)
    app.config.update(DECODE_SLOTS=1, DECODE_WAIT_S=0.3, DECODE_RETRY_AFTER_S=3)
    photo = box_label((imei(5), "Code128"))
    before = events(app)
    with app.app_context(), images.decode_slot():      # another request is decoding
        start = time.perf_counter()
        r = post_image(manager, "/receive", photo, key="k-busy", location="A1", sku="PHONE")
        waited = time.perf_counter() - start
        decode = post_image(manager, "/decode", photo)
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "busy", r.get_json()
    assert r.headers["Retry-After"] == "3" and r.get_json()["error"]["message"]
    assert 0.3 <= waited < 2.0
    assert decode.status_code == 503 and decode.headers["Retry-After"] == "3"
    assert events(app) == before
    again = post_image(manager, "/receive", photo, key="k-busy", location="A1", sku="PHONE")
    assert again.status_code == 200 and again.get_json()["results"][0]["ok"], again.get_json()
