"""Input the database would choke on is refused first, with a clear 400 naming the field.

SQLite stores a 300-character text in a VARCHAR(40) column, any integer in an INTEGER, and a
NUL character in any text; PostgreSQL refuses all three. A request must get the same clear
answer on both, never a 500 from the database, and must change nothing."""
from urllib.parse import quote

import pytest

from tests.factories import imei, setup_shop


def _refused(r, field=None):
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    error = r.get_json()["error"]
    assert error["code"] in ("invalid_field", "malformed"), error
    if field:
        assert field in error["message"], error
    return error


def _receive(api, **fields):
    return api.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(7)],
                                 **fields})


def _units(manager):
    return manager.get("/products/PHONE").get_json()["on_hand"]


def test_a_lot_longer_than_the_column_is_refused_and_nothing_is_received(manager):
    setup_shop(manager)
    _refused(_receive(manager, lot="L" * 41), "lot")
    assert _units(manager) == 0
    r = _receive(manager, lot="L" * 40)  # the longest that fits is stored whole
    assert r.status_code == 200 and r.get_json()["results"][0]["ok"], r.get_json()
    assert manager.get(f"/serials/{imei(7)}").get_json()["lot"] == "L" * 40


@pytest.mark.parametrize("path,body,field", [
    ("/purchase-orders", {"number": "PO9", "supplier": "S",
                          "lines": [{"sku": "PHONE", "qty": 2**31}]}, "qty"),
    ("/sales-orders", {"number": "SO9", "customer": "C1",
                       "lines": [{"sku": "PHONE", "qty": 2**63}]}, "qty"),
    ("/sales-orders", {"number": "SO9", "customer": "C1",
                       "lines": [{"sku": "PHONE", "qty": "99999999999999999999"}]}, "qty"),
    ("/products", {"sku": "BIG", "name": "Big", "warranty_days": 2**31}, "warranty_days"),
    ("/products", {"sku": "BIG", "name": "Big", "warranty_days": 10**6}, "warranty_days"),
])
def test_integers_beyond_what_is_sensible_are_refused(manager, path, body, field):
    setup_shop(manager)
    _refused(manager.post(path, body), field)
    key = body.get("number") or body.get("sku")
    assert manager.get(f"{path}/{key}").status_code == 404


def test_a_long_warranty_still_fits(manager):
    """A lifetime warranty (100 years) is allowed, and its end date is computed and stored."""
    setup_shop(manager)
    r = manager.post("/products", {"sku": "LIFE", "name": "Lifetime", "warranty_days": 36500})
    assert r.status_code == 201, r.get_json()


def test_a_page_number_beyond_any_page_is_empty_or_refused_never_a_500(manager):
    """Past the end is empty; a page number no database OFFSET can hold is refused,
    naming the parameter."""
    setup_shop(manager)
    _receive(manager)
    r = manager.get("/serials?page=2")
    assert r.status_code == 200 and r.get_json()["serials"] == [] and r.get_json()["total"] == 1
    r = manager.get("/serials?page=100000000000000000000")
    assert r.status_code == 400 and "'page'" in r.get_json()["error"]["message"]
    assert len(manager.get("/serials?page=1").get_json()["serials"]) == 1


@pytest.mark.parametrize("send", [
    lambda m: m.post("/locations", {"code": "Z\x00", "kind": "storage"}),
    lambda m: m.post("/customers", {"code": "C9", "name": "Nul\x00Name"}),
    lambda m: m.post("/receive", {"location": "A1\x00", "sku": "PHONE", "serials": ["x"]}),
    lambda m: m.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(8)],
                                  "lot": "L\x001"}),
    lambda m: m.post("/products", {"sku": "P", "name": "P", "attributes": {"k": "v\x00"}}),
    lambda m: m.get("/serials?sku=PH%00ONE"),
    lambda m: m.get("/products/PH%00ONE"),
    lambda m: m.get("/serials/AB%00C"),
])
def test_a_nul_character_anywhere_is_refused(manager, send):
    setup_shop(manager)
    r = send(manager)
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    assert "character" in r.get_json()["error"]["message"]
    assert _units(manager) == 0


def test_a_nul_character_in_the_login_form_is_a_400_page(app):
    r = app.test_client().post("/login", data={"name": "a\x00b", "password": "x"})
    assert r.status_code == 400


def test_serials_whose_folded_form_is_longer_still_fit(manager):
    """Case folding may lengthen a text ("ﬃ" folds to "ffi"): a 64-character serial of a
    case-insensitive product is stored with its longer key, on PostgreSQL too."""
    setup_shop(manager)
    serial = "\ufb03" * 64
    r = manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": [serial]})
    assert r.status_code == 200
    assert r.get_json()["results"][0]["ok"] is False  # CASE's pattern wants CS-nnnn
    assert manager.post("/products", {"sku": "FREE", "name": "Free"}).status_code == 201
    r = manager.post("/receive", {"location": "A1", "sku": "FREE", "serials": [serial]})
    assert r.status_code == 200 and r.get_json()["results"][0]["ok"], r.get_json()
    found = manager.get("/serials/" + quote(serial) + "?sku=FREE")
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["serial"] == serial
