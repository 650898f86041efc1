"""After a batch of hostile texts, bodies and images, a good serial still goes in, and
nothing recorded before has changed.

Every row of `serials` and `events` is read before the batch and compared after it: the
batch may add rows (a hostile text can be a valid serial of a product without a pattern),
but no row that was there before may differ, and no answer may be a 5xx."""
import io
import json
import struct
import zlib

import pytest
from sqlalchemy import select

from serialapp.extensions import db
from serialapp.models import Event, Serial
from tests.factories import imei, setup_shop

HOSTILE_TEXTS = [
    "", " ", "\t", "\n\n", "\u200b", "\u200bX1", "A\u202eB", "\u2066X\u2069", "\ufeffSN",
    "A\u0000B", "\x1b[31mred", "\x7f", "\ud800", "X\udfff", "🙂", "👨‍👩‍👧", "Ｘ１",
    "\u0410BC-1", "PHONE", "SO1", "A1", "%", "_", "%%%", "\\", "\\\\x00", "'", '"', "`",
    "'; DROP TABLE serials; --", "\" OR 1=1 --", "1; DELETE FROM events", "<script>alert(1)</script>",
    "{0}", "%s%s%s%n", "${jndi:ldap://x}", "../../etc/passwd", "/", "%2F", "SN%2F1",
    "X" * 64, "X" * 65, "Y" * 100, "Z" * 10_000, "9" * 400, "-1", "0", "1e309", "NaN",
    "]d2010950600013435221X", "(01)09506000134352(21)", "(01)99999999999999(21)X",
    "4006381333931", imei(1)[:-1] + "0", "1" * 15, "ĲǆǄ", "ß", "İ", "ﬃ", "\u0301A",
    "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307",
]
ACTIONS = [
    ("/receive", {"location": "A1", "sku": "CASE"}),
    ("/receive", {"location": "A1"}),
    ("/move", {"location": "A2"}),
    ("/pick", {"order": "SO1"}),
    ("/unpick", {"order": "SO1", "location": "A1"}),
    ("/return", {"reason": "hostile", "disposition": "restock", "location": "A1"}),
    ("/quarantine", {"location": "Q"}),
    ("/release", {}),
    ("/scrap", {"reason": "hostile"}),
]
HOSTILE_BODIES = [
    (b"", "application/json"), (b"{", "application/json"), (b"null", "application/json"),
    (b"[]", "application/json"), (b'"serials"', "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b'{"serials": ' + b"[" * 200 + b"]" * 200 + b"}", "application/json"),
    (b'{"location": "A1", "serials": ["\\ud800"]}', "application/json"),
    (b'{"location": "A1", "serials": ["A\\u0000"]}', "application/json"),
    (b'{"location": {"$ne": null}, "serials": ["X"]}', "application/json"),
    (b'{"location": "A1", "serials": "X1\\nX2"}', "application/json"),
    (b'{"location": "A1", "serials": [1e309]}', "application/json"),
    (b'{"location": "A1", "serials": [' + b'"S",' * 5000 + b'"S"]}', "application/json"),
    (b'{"location": "A1", "location": "A2", "serials": ["X"]}', "application/json"),
    (b"\xff\xfe\x00{", "application/json"),
    (b"location=A1&serials=X1", "application/x-www-form-urlencoded"),
    (b"location=A1&serials=%00", "application/x-www-form-urlencoded"),
    (b"<xml/>", "application/xml"), (b"serials=X", "text/plain"),
    (b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
     "multipart/form-data; boundary=x"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (b"garbage", "multipart/form-data"),
]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload)))


def _png(width, height, data=b"\x00" * 1000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(data))
            + _chunk(b"IEND", b""))


HOSTILE_IMAGES = [
    b"", b"not a picture", b"\x89PNG\r\n\x1a\n", _png(20000, 20000), _png(1, 1, b""),
    _png(0, 0), b"\xff\xd8\xff\xe0" + b"\x00" * 100, b"GIF89a" + b"\xff" * 50,
    b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, b"BM" + b"\xff" * 60,
]


def recorded(app):
    """Every serial and event row, whole, by id."""
    with app.app_context():
        serials = {r.id: tuple(r) for r in db.session.execute(select(*Serial.__table__.c))}
        events = {r.id: tuple(r) for r in db.session.execute(select(*Event.__table__.c))}
    return serials, events


@pytest.fixture
def shop_with_history(manager):
    setup_shop(manager)
    for body in ({"location": "A1", "sku": "PHONE", "serials": [imei(n) for n in range(1, 6)]},
                 {"location": "A2", "sku": "CASE", "serials": ["CS-0001", "CS-0002"]}):
        assert all(x["ok"] for x in manager.post("/receive", body).get_json()["results"])
    assert all(x["ok"] for x in manager.post("/pick", {"order": "SO2", "serials": [imei(1)]})
               .get_json()["results"])
    assert all(x["ok"] for x in manager.post("/ship", {"order": "SO2"}).get_json()["results"])
    assert all(x["ok"] for x in manager.post("/pick", {"order": "SO1", "serials": [imei(2)]})
               .get_json()["results"])
    assert all(x["ok"] for x in manager.post("/quarantine", {"serials": [imei(3)], "location": "Q"})
               .get_json()["results"])
    return manager


def test_hostile_texts_bodies_and_images_change_nothing_recorded(app, shop_with_history):
    api = shop_with_history
    before = recorded(app)
    # The signed checkpoint over every serial's history head, as it stood before the batch.
    made = app.test_cli_runner().invoke(args=["checkpoint-history"])
    assert made.exit_code == 0, made.output
    answers = []

    def sent(r, what):
        answers.append((r.status_code, what))
        assert r.status_code < 500, (what, r.get_data(as_text=True)[:500])
        if r.status_code >= 400 and r.is_json:
            assert set(r.get_json()["error"]) == {"code", "message"}, what
        if r.status_code == 200 and r.is_json and "results" in r.get_json():
            # An unexpected error is no refusal: it would answer `not_done` (a 500 before).
            assert all(x.get("error", {}).get("code") != "not_done"
                       for x in r.get_json()["results"]), (what, r.get_json())

    # Texts: each action with the whole list at once, and each text alone, JSON and form.
    for path, fields in ACTIONS:
        sent(api.post(path, {**fields, "serials": HOSTILE_TEXTS}), (path, "all"))
        for text in HOSTILE_TEXTS:
            sent(api.post(path, {**fields, "serials": [text]}), (path, text[:40]))
        form = {**fields, "serials": "\n".join(t for t in HOSTILE_TEXTS if "\ud800" not in t
                                               and "\udfff" not in t)}
        sent(api.client.post("/api" + path, data=form, headers=api.headers,
                             content_type="multipart/form-data"), (path, "form"))
    for text in HOSTILE_TEXTS:  # and where a text names a thing
        if "\ud800" in text or "\udfff" in text:
            continue
        for path in (f"/serials/{text}", f"/products/{text}", f"/sales-orders/{text}",
                     f"/search?q={text}", f"/serials?lot={text}"):
            sent(api.get(path.replace("%", "%25").replace("#", "%23")
                         .replace("?", "%3F", 1 if "?" not in path else 0)), path[:60])
    sent(api.post("/ship", {"order": "SO1", "partial": True, "serials": ["X"]}), "ship+serials")

    # Bodies: broken, deep, huge, mistyped, in the wrong media type.
    for path, _ in ACTIONS[:3]:
        for data, content_type in HOSTILE_BODIES:
            sent(api.client.post("/api" + path, data=data, content_type=content_type,
                                 headers=api.headers), (path, data[:40], content_type))
    sent(api.client.post("/api/products", data=json.dumps({"sku": "X" * 5000, "name": "n"}),
                         content_type="application/json", headers=api.headers), "long sku")

    # Images: not pictures, truncated, bombs, formats that lie about themselves.
    for data in HOSTILE_IMAGES:
        for path, fields in (("/decode", {}), ("/receive", {"location": "A1", "sku": "PHONE"}),
                             ("/move", {"location": "A2"})):
            form = {**fields, "image": (io.BytesIO(data), "photo.jpg")}
            sent(api.client.post("/api" + path, data=form, headers=api.headers,
                                 content_type="multipart/form-data"), (path, data[:20]))

    assert len(answers) > 900
    after = recorded(app)
    for table, old, new in (("serials", before[0], after[0]), ("events", before[1], after[1])):
        changed = [row_id for row_id, row in old.items() if new.get(row_id) != row]
        assert not changed, f"{table} rows changed by the hostile batch: {changed}"

    # And the hash-chained history agrees: nothing was rewritten, inserted or deleted.
    checked = app.test_cli_runner().invoke(args=["verify-history"])
    assert checked.exit_code == 0, checked.output

    # A good serial still goes in.
    r = api.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(42)]})
    assert r.status_code == 200 and r.get_json()["results"][0]["ok"] is True, r.get_json()
    unit = api.get(f"/serials/{imei(42)}").get_json()
    assert unit["status"] == "in_stock" and unit["location"] == "A1"
    assert recorded(app)[1].keys() > after[1].keys()
