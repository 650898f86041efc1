"""Every action and every documented refusal, over HTTP, on a real SQLite file."""
import pytest

from tests.factories import bad_luhn, imei, setup_shop


@pytest.fixture
def shop(manager):
    setup_shop(manager)
    return manager


def codes(response):
    return [r.get("error", {}).get("code") if not r["ok"] else "ok"
            for r in response.get_json()["results"]]


def receive_phones(api, *ns, location="A1"):
    r = api.post("/receive", {"location": location, "purchase_order": "PO1", "sku": "PHONE",
                              "serials": [imei(n) for n in ns]})
    assert r.status_code == 200, r.get_json()
    return r


def test_receive_against_po_counts_and_refuses_over_receipt(shop, picker):
    r = picker.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE",
                                 "serials": [imei(1), imei(2), imei(3), imei(4)]})
    assert codes(r) == ["ok", "ok", "ok", "over_receipt"]
    po = shop.get("/purchase-orders/PO1").get_json()
    assert po["lines"][0]["received"] == 3
    assert po["lines"][0]["serials"] == [imei(1), imei(2), imei(3)]
    product = shop.get("/products/PHONE").get_json()
    assert product["on_hand"] == 3 and product["by_location"] == {"A1": 3}
    assert product["by_status"] == {"in_stock": 3}


def test_the_same_label_scanned_twice_while_receiving_is_a_repeat_not_a_refusal(shop):
    receive_phones(shop, 1)
    r = shop.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    (result,) = r.get_json()["results"]
    assert result["ok"] is True and result["repeat"] is True
    assert result["note"] == "Already received here."
    assert len(shop.get(f"/serials/{imei(1)}").get_json()["history"]) == 1


def test_a_bad_imei_check_digit_says_misread_even_without_a_product(shop):
    r = shop.post("/receive", {"location": "A1", "serials": [bad_luhn(imei(2))]})
    (result,) = r.get_json()["results"]
    assert result["error"]["code"] == "invalid_serial"
    assert "misread" in result["error"]["message"]


def test_receive_refusals(shop):
    receive_phones(shop, 1)
    r = shop.post("/receive", {"location": "A2", "sku": "PHONE",
                               "serials": [bad_luhn(imei(2)), imei(1), "12345"]})
    assert codes(r) == ["invalid_serial", "duplicate_serial", "invalid_serial"]
    assert "misread" in r.get_json()["results"][0]["error"]["message"]
    assert "IMEI of 15 digits" in r.get_json()["results"][2]["error"]["message"]
    r = shop.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "CASE",
                               "serials": ["CS-0001"]})
    assert codes(r) == ["sku_not_on_order"]
    assert shop.get("/products/PHONE").get_json()["on_hand"] == 1


def test_receive_without_sku_finds_product_from_po_pattern(shop):
    r = shop.post("/receive", {"location": "A1", "purchase_order": "PO1", "serials": [imei(5)]})
    assert r.get_json()["results"][0]["sku"] == "PHONE"


@pytest.mark.parametrize("text", [
    "(01)09506000134352(17)271231(10)LOT7(21)PK42",
    "]d2010950600013435217271231" "10LOT7\x1d21PK42",
    "]C1010950600013435210LOT7\x1d17271231" "21PK42",
    "\x1d010950600013435217271231" "10LOT7\x1d21PK42",
])
def test_gs1_without_sku_finds_product_by_gtin_and_keeps_lot_and_expiry(shop, text):
    r = shop.post("/receive", {"location": "A1", "serials": [text]})
    assert r.get_json()["results"] == [
        {"serial": "PK42", "sku": "MED", "ok": True, "status": "in_stock"}]
    s = shop.get("/serials/PK42").get_json()
    assert (s["lot"], s["expiry"], s["location"]) == ("LOT7", "2027-12-31", "A1")


def test_receive_generate_mints_from_template(shop):
    shop.post("/products", {"sku": "DESK", "name": "Desk", "serial_pattern": "OWN-{seq:06}"})
    r = shop.post("/receive", {"location": "A1", "sku": "DESK", "generate": 3})
    assert [x["serial"] for x in r.get_json()["results"]] == ["OWN-000001", "OWN-000002",
                                                              "OWN-000003"]
    r = shop.post("/receive", {"location": "A1", "sku": "DESK", "generate": 1})
    assert r.get_json()["results"][0]["serial"] == "OWN-000004"
    r = shop.post("/receive", {"location": "A1", "sku": "PHONE", "generate": 1})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "no_serial_template"


def test_full_lifecycle_pick_ship_return(shop, picker):
    receive_phones(shop, 1, 2, 3)
    # A unit moved to a non-pickable stage can't be picked.
    assert codes(picker.post("/move", {"location": "TEST-BENCH", "serials": [imei(3)]})) == ["ok"]
    r = picker.post("/pick", {"order": "SO1", "serials": [imei(3)]})
    assert codes(r) == ["serial_not_available"]
    assert "TEST-BENCH" in r.get_json()["results"][0]["error"]["message"]
    # Pick the order; a third phone overfills the line.
    assert codes(picker.post("/pick", {"order": "SO1", "serials": [imei(1)]})) == ["ok"]
    assert codes(picker.post("/pick", {"order": "SO2", "serials": [imei(1)]})) == [
        "serial_not_available"]
    r = picker.post("/ship", {"order": "SO1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "order_incomplete"
    assert codes(picker.post("/pick", {"order": "SO1", "serials": [imei(2)]})) == ["ok"]
    assert codes(picker.post("/move", {"location": "A1", "serials": [imei(3)]})) == ["ok"]
    assert codes(picker.post("/pick", {"order": "SO1", "serials": [imei(3)]})) == [
        "order_line_full"]
    so = shop.get("/sales-orders/SO1").get_json()
    assert so["lines"][0]["picked"] == 2 and sorted(so["serials"]) == [imei(1), imei(2)]
    r = picker.post("/ship", {"order": "SO1"})
    assert codes(r) == ["ok", "ok"]
    so = shop.get("/sales-orders/SO1").get_json()
    assert so["status"] == "shipped" and so["lines"][0]["shipped"] == 2
    s = shop.get(f"/serials/{imei(1)}").get_json()
    assert s["status"] == "shipped" and s["customer"] == "C1"
    assert s["warranty_until"] is not None
    assert [e["type"] for e in s["history"]] == ["receive", "pick", "ship"]
    assert all(e["user"] for e in s["history"])
    held = shop.get("/customers/C1").get_json()["serials"]
    assert sorted(h["serial"] for h in held) == [imei(1), imei(2)]
    assert shop.get("/products/PHONE").get_json()["on_hand"] == 1
    # A picker may not take returns; a manager may.
    r = picker.post("/return", {"serials": [imei(1)], "reason": "DOA", "disposition": "restock",
                                "location": "A2"})
    assert r.status_code == 403
    r = shop.post("/return", {"serials": [imei(1)], "reason": "DOA", "disposition": "quarantine",
                              "location": "Q"})
    assert codes(r) == ["ok"] and r.get_json()["results"][0]["status"] == "quarantined"
    s = shop.get(f"/serials/{imei(1)}").get_json()
    assert s["customer"] is None and s["history"][-1]["note"] == "DOA"
    assert s["history"][-1]["customer"] == "C1"
    assert codes(shop.post("/release", {"serials": [imei(1)]})) == ["ok"]
    assert shop.get("/products/PHONE").get_json()["on_hand"] == 2
    assert codes(shop.post("/scrap", {"serials": [imei(1)], "reason": "cracked"})) == ["ok"]
    assert codes(picker.post("/move", {"location": "A2", "serials": [imei(1)]})) == [
        "invalid_transition"]


def test_unpick_returns_unit_to_stock(shop, picker):
    receive_phones(shop, 1)
    picker.post("/pick", {"order": "SO1", "serials": [imei(1)]})
    r = picker.post("/unpick", {"order": "SO1", "location": "A2", "serials": [imei(1)]})
    assert codes(r) == ["ok"]
    s = shop.get(f"/serials/{imei(1)}").get_json()
    assert (s["status"], s["location"], s["order"]) == ("in_stock", "A2", None)
    assert shop.get("/sales-orders/SO1").get_json()["lines"][0]["picked"] == 0
    assert codes(picker.post("/unpick", {"order": "SO1", "location": "A2",
                                         "serials": [imei(1)]})) == ["serial_not_on_order"]


def test_sku_not_on_order_and_unknown_serial(shop, picker):
    shop.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    r = picker.post("/pick", {"order": "SO1", "serials": ["CS-0001", "NOPE-1"]})
    assert codes(r) == ["sku_not_on_order", "unknown_serial"]


def test_ambiguous_serial_needs_sku(shop):
    shop.post("/products", {"sku": "X1", "name": "x1"})
    shop.post("/products", {"sku": "X2", "name": "x2"})
    shop.post("/receive", {"location": "A1", "sku": "X1", "serials": ["SAME"]})
    shop.post("/receive", {"location": "A1", "sku": "X2", "serials": ["SAME"]})
    assert codes(shop.post("/move", {"location": "A2", "serials": ["SAME"]})) == [
        "ambiguous_serial"]
    assert codes(shop.post("/move", {"location": "A2", "serials": ["SAME"], "sku": "X2"})) == ["ok"]
    assert shop.get("/serials/SAME").status_code == 409
    assert shop.get("/serials/SAME?sku=X2").get_json()["location"] == "A2"


def test_partial_ship_leaves_order_open(shop, picker):
    receive_phones(shop, 1)
    picker.post("/pick", {"order": "SO1", "serials": [imei(1)]})
    r = picker.post("/ship", {"order": "SO1", "partial": True})
    assert codes(r) == ["ok"]
    assert shop.get("/sales-orders/SO1").get_json()["status"] == "partially_shipped"
    r = picker.post("/ship", {"order": "SO1", "partial": True})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "nothing_to_ship"


@pytest.mark.parametrize("path,body,status,code", [
    ("/pick", {"order": "NOPE", "serials": ["x"]}, 404, "unknown_order"),
    ("/receive", {"location": "NOWHERE", "serials": ["x"]}, 404, "unknown_location"),
    ("/receive", {"serials": ["x"]}, 400, "missing_field"),
    ("/move", {"location": "A1"}, 400, "missing_field"),
    ("/move", {"location": "A1", "serials": "   "}, 400, "missing_field"),
    ("/move", {"location": "A1", "serials": [{"a": 1}]}, 400, "invalid_field"),
    ("/ship", {"order": "NOPE"}, 404, "unknown_order"),
    ("/return", {"serials": ["x"], "disposition": "restock", "location": "A1"}, 400,
     "missing_field"),
    ("/return", {"serials": ["x"], "reason": "r", "disposition": "burn"}, 400, "invalid_field"),
    ("/return", {"serials": ["x"], "reason": "r", "disposition": "restock"}, 400, "missing_field"),
    ("/receive", {"location": "A1", "sku": "PHONE", "expiry": "soon", "serials": ["x"]}, 400,
     "invalid_field"),
    ("/receive", {"location": "A1", "sku": "GHOST", "serials": ["x"]}, 404, "unknown_sku"),
])
def test_requests_that_cannot_be_processed_change_nothing(shop, path, body, status, code):
    receive_phones(shop, 1)
    before = shop.get(f"/serials/{imei(1)}").get_json()
    r = shop.post(path, body)
    assert r.status_code == status
    error = r.get_json()["error"]
    assert error["code"] == code and len(error["message"]) > 10
    assert shop.get(f"/serials/{imei(1)}").get_json() == before


def test_malformed_json_and_wrong_content_type(shop):
    r = shop.client.post("/api/receive", data="{not json", headers={
        **shop.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed"
    r = shop.client.post("/api/products", data="sku=x", headers={
        **shop.headers, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "unsupported_media_type"


def test_serial_list_filters_pages_and_csv(shop):
    receive_phones(shop, 1, 2)
    shop.post("/move", {"location": "A2", "serials": [imei(2)]})
    body = shop.get("/serials?sku=PHONE&location=A2").get_json()
    assert [s["serial"] for s in body["serials"]] == [imei(2)] and body["total"] == 1
    assert shop.get("/serials?status=gone").status_code == 400
    assert shop.get("/serials?location=NOWHERE").status_code == 404
    r = shop.get("/serials?sku=PHONE&format=csv")
    lines = r.get_data(as_text=True).strip().splitlines()
    assert r.mimetype == "text/csv" and lines[0].startswith("serial,sku")
    assert len(lines) == 3 and imei(1) in lines[1]


def test_a_pattern_saved_before_linear_time_matching_refuses_in_words(app, shop):
    """A look-ahead pattern (refused when saved today) already in the database: a scan
    against it is refused for the product, not answered 500."""
    from sqlalchemy import update

    from serialapp.extensions import db
    from serialapp.models import Product
    with app.app_context():
        db.session.execute(update(Product).where(Product.sku == "CASE")
                           .values(serial_pattern=r"(?=CS)CS-\d{4}"))
        db.session.commit()
    r = shop.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    assert r.status_code == 200
    (result,) = r.get_json()["results"]
    assert result["error"]["code"] == "invalid_serial"
    assert "ask a manager to correct the product" in result["error"]["message"]


def _counts_agree(app):
    """serial_counts (kept by triggers) against a count of the units themselves."""
    from sqlalchemy import func, select

    from serialapp.extensions import db
    from serialapp.models import Serial, SerialCount
    with app.app_context():
        kept = {(p, s): n for p, s, n in db.session.execute(
            select(SerialCount.product_id, SerialCount.status, SerialCount.n)).all() if n}
        real = {(p, s): n for p, s, n in db.session.execute(
            select(Serial.product_id, Serial.status, func.count())
            .group_by(Serial.product_id, Serial.status)).all()}
    assert kept == real
    return real


def test_counts_per_product_and_status_follow_every_writer(app, shop, picker):
    """Home and the product page read serial_counts, not the units: every way a unit
    arrives or changes status keeps it exact, with no code of ours writing it."""
    receive_phones(shop, 1, 2, 3)
    assert codes(shop.post("/receive", {"location": "A1", "sku": "PHONE",
                                        "serials": [imei(4)]})) == ["ok"]
    assert codes(shop.post("/receive", {"location": "A1", "sku": "CASE", "serials": [
        "CS-0001", "CS-0002", "CS-0003"]})) == ["ok"] * 3
    data = {"file": (__import__("io").BytesIO(b"sku,serial,location\nCASE,CS-0900,A2\n"),
                     "serials.csv")}
    assert shop.client.post("/api/import/serials", data=data, headers=shop.headers,
                            content_type="multipart/form-data").status_code == 200
    assert codes(picker.post("/move", {"location": "A2", "serials": [imei(4)]})) == ["ok"]
    assert codes(picker.post("/pick", {"order": "SO1", "serials": [imei(1), imei(2)]})) == [
        "ok", "ok"]
    assert codes(picker.post("/pick", {"order": "SO2", "serials": [imei(3)]})) == ["ok"]
    assert codes(picker.post("/unpick", {"order": "SO2", "location": "A1",
                                         "serials": [imei(3)]})) == ["ok"]
    assert codes(picker.post("/ship", {"order": "SO1"})) == ["ok", "ok"]
    assert codes(shop.post("/return", {"serials": [imei(1)], "reason": "DOA",
                                       "disposition": "quarantine", "location": "Q"})) == ["ok"]
    assert codes(shop.post("/scrap", {"serials": [imei(4)], "reason": "cracked"})) == ["ok"]
    real = _counts_agree(app)
    assert sorted(real.values()) == [1, 1, 1, 1, 4], real
    product = shop.get("/products/PHONE").get_json()
    assert product["by_status"] == {"in_stock": 1, "quarantined": 1, "scrapped": 1,
                                    "shipped": 1}
    assert product["on_hand"] == 1
