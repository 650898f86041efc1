"""Issue 9's warranty: the date, the verdict, the ending list, warranty returns."""
from datetime import date, timedelta

from serialapp.extensions import db
from serialapp.models import Serial
from serialapp.records import warranty
from tests.factories import imei, setup_shop
from tests.integration.test_auth_and_pages import login


def _ship(api, *ns, order="SO1"):
    r = api.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(n) for n in ns]})
    assert all(x["ok"] for x in r.get_json()["results"])
    assert all(x["ok"] for x in api.post("/pick", {"order": order, "serials": [
        imei(n) for n in ns]}).get_json()["results"])
    assert api.post("/ship", {"order": order}).status_code == 200


def test_warranty_until_is_ship_date_plus_the_products_warranty(app, manager):
    setup_shop(manager)
    _ship(manager, 1, 2)
    s = manager.get(f"/serials/{imei(1)}").get_json()
    shipped = date.fromisoformat(s["shipped_at"][:10])
    assert s["warranty_until"] == (shipped + timedelta(days=365)).isoformat()
    assert s["warranty"]["state"] == "in_warranty" and s["warranty"]["days_left"] == 365
    with app.app_context():
        unit = db.session.query(Serial).filter_by(serial=imei(1)).one()
        until = unit.warranty_until
        assert warranty.verdict(unit, until)["text"] == \
            f"in warranty until {until.isoformat()} (0 days left)"
        assert warranty.verdict(unit, until + timedelta(days=1))["text"] == \
            f"expired on {until.isoformat()}"


def test_serial_page_says_the_verdict(app, manager, users):
    setup_shop(manager)
    _ship(manager, 1, 2)
    client = app.test_client()
    login(client, "manager")
    page = client.get(f"/serials/{imei(1)}").get_data(as_text=True)
    assert "In warranty until" in page and "(365 days left)" in page


def test_list_of_warranties_ending_per_customer(manager):
    setup_shop(manager)
    _ship(manager, 1, 2)
    body = manager.get("/warranty?days=365").get_json()
    assert body["total"] == 2 and [c["code"] for c in body["customers"]] == ["C1"]
    assert sorted(u["serial"] for u in body["customers"][0]["units"]) == [imei(1), imei(2)]
    assert manager.get("/warranty?days=364").get_json()["total"] == 0
    r = manager.get("/warranty?days=soon")
    assert r.status_code == 400 and "days" in r.get_json()["error"]["message"]
    assert manager.get("/warranty?day=3").status_code == 400


def test_a_return_in_warranty_is_marked_a_warranty_return(manager):
    setup_shop(manager)
    _ship(manager, 1, 2)
    r = manager.post("/return", {"serials": [imei(1)], "reason": "screen dead",
                                 "disposition": "quarantine", "location": "Q"})
    result = r.get_json()["results"][0]
    assert result["ok"] and result["warranty_return"] is True
    assert result["note"] == "warranty return"  # the return page shows it beside the serial
    event = [e for e in manager.get(f"/serials/{imei(1)}").get_json()["history"]
             if e["type"] == "return"][0]
    assert event["warranty_return"] is True and event["note"] == "screen dead"


def test_a_return_without_warranty_is_a_plain_return(manager):
    setup_shop(manager)
    assert manager.post("/products", {"sku": "NOWAR", "name": "No warranty"}).status_code == 201
    assert manager.post("/sales-orders", {"number": "SO7", "customer": "C1",
                                          "lines": [{"sku": "NOWAR", "qty": 1}]}).status_code == 201
    manager.post("/receive", {"location": "A1", "sku": "NOWAR", "serials": ["NW-1"]})
    manager.post("/pick", {"order": "SO7", "serials": ["NW-1"]})
    assert manager.post("/ship", {"order": "SO7"}).status_code == 200
    assert manager.get("/serials/NW-1").get_json()["warranty"]["state"] == "none"
    r = manager.post("/return", {"serials": ["NW-1"], "reason": "changed mind",
                                 "disposition": "restock", "location": "A1"})
    assert r.get_json()["results"][0]["warranty_return"] is False
    event = [e for e in manager.get("/serials/NW-1").get_json()["history"]
             if e["type"] == "return"][0]
    assert event["note"] == "changed mind" and event["warranty_return"] is False
