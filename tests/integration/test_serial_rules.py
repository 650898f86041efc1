"""One canonical form per serial, on every way in, and every allowed character in URLs."""
import json
import unicodedata
import urllib.request
from urllib.parse import quote

import pytest

from tests.factories import setup_shop
from tests.integration.test_auth_and_pages import login


def receive(api, sku, *serials):
    r = api.post("/receive", {"location": "A1", "sku": sku, "serials": list(serials)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["results"]


@pytest.fixture
def shop(manager):
    setup_shop(manager)
    assert manager.post("/products", {"sku": "GAD", "name": "Gadget"}).status_code == 201
    return manager


def receive_at(api, location, sku, *serials):
    r = api.post("/receive", {"location": location, "sku": sku, "serials": list(serials)})
    return r.get_json()["results"]


def test_serials_differing_only_in_case_are_one_unit(shop):
    first, again = receive(shop, "GAD", "gad-001", "GAD-001")
    assert first["ok"] is True
    assert again["repeat"] is True  # the same unit, scanned again
    (elsewhere,) = receive_at(shop, "A2", "GAD", "Gad-001")
    assert elsewhere["error"]["code"] == "duplicate_serial"
    # Found whatever the case it is scanned in.
    assert shop.get("/serials/GAD-001").get_json()["serial"] == "gad-001"
    r = shop.post("/move", {"location": "A2", "serials": ["GaD-001"]})
    assert r.get_json()["results"][0]["ok"] is True


def test_a_product_can_have_case_sensitive_serials_and_gs1_ones_do(shop):
    assert shop.post("/products", {"sku": "CS", "name": "Case matters",
                                   "serials_case_sensitive": True}).status_code == 201
    assert [x["ok"] for x in receive(shop, "CS", "ab-1", "AB-1")] == [True, True]
    assert shop.get("/products/MED").get_json()["serials_case_sensitive"] is True
    assert shop.get("/products/GAD").get_json()["serials_case_sensitive"] is False
    # GS1 serial (AI 21) "Ab1" and "AB1" of the same GTIN are two packs.
    results = receive(shop, "MED", "(01)09506000134352(21)Ab1", "(01)09506000134352(21)AB1")
    assert [x["ok"] for x in results] == [True, True]


def test_lookalike_letters_are_refused_naming_the_character(shop):
    (result,) = receive(shop, "GAD", "ABC-HG-1".replace("A", "\u0410", 1))
    assert result["ok"] is False and result["error"]["code"] == "invalid_serial"
    assert "Cyrillic" in result["error"]["message"] and "U+0410" in result["error"]["message"]


def test_nfc_and_nfd_are_one_serial(shop):
    nfc = "CAFÉ-1"
    nfd = unicodedata.normalize("NFD", nfc)
    first, again = receive(shop, "GAD", nfc, nfd)
    assert first["ok"] and first["serial"] == nfc
    assert again["repeat"] is True and again["serial"] == nfc


def test_an_overlong_or_invisible_serial_is_refused_and_nothing_is_stored(shop):
    # 80: longer than a serial (64) but within a scanned text (100, which may be a GS1
    # string carrying GTIN, lot and expiry too); longer texts are a 400 (test_api_schema).
    long_one, hidden = receive(shop, "GAD", "X" * 80, "AB\u200bC")
    assert long_one["error"]["code"] == "invalid_serial"
    assert "at most 64 characters" in long_one["error"]["message"]
    assert hidden["error"]["code"] == "invalid_serial"
    assert "Zero Width Space" in hidden["error"]["message"]
    assert shop.get("/serials?sku=GAD").get_json()["serials"] == []


WEIRD = ["SN/2024/001", "A#1", "B?2", "C%3", "D 4 5", "../../etc", "E//F", "G/"]


def test_every_allowed_character_works_in_page_and_api_urls(app, shop, users, live_server):
    results = receive(shop, "GAD", *WEIRD)
    assert all(x["ok"] for x in results), results
    for serial in WEIRD:
        url = f"{live_server}/api/serials/{quote(serial, safe='')}"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {users['manager']}"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 200 and json.loads(r.read())["serial"] == serial, serial
    with app.test_request_context():
        from flask import url_for
        links = {s: url_for("catalogue.serial_page", text=s) for s in WEIRD}
    assert links["SN/2024/001"] == "/serials/SN%2F2024%2F001"
    assert links["../../etc"] == "/serials/..%2F..%2Fetc"
    client = app.test_client()
    assert login(client, "manager").status_code == 302
    for serial, link in links.items():
        page = client.get(link)
        assert page.status_code == 200, (serial, page.status_code, page.headers.get("Location"))
        assert serial.replace("&", "&amp;") in page.get_data(as_text=True)


def test_a_bad_serial_text_says_so_before_asking_which_product(shop):
    r = shop.post("/receive", {"location": "A1", "serials": ["ABC-\u0410-1"]})
    (result,) = r.get_json()["results"]
    assert result["error"]["code"] == "invalid_serial"
    assert "Cyrillic" in result["error"]["message"]
