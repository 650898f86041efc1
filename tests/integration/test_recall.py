"""Issue 9's recall: the done-when checks, over HTTP on a real database."""
import csv
import io

import pytest

from tests.factories import imei, setup_shop


@pytest.fixture
def recall_shop(manager):
    """Lot L1: phones 1-4 (1 and 2 shipped to Ann, 3 to Bob, 4 in stock), lot L2: 5-6 in
    stock. Bob is a second customer with contact details of his own."""
    setup_shop(manager)
    assert manager.post("/customers", {"code": "C2", "name": "Bob Holder", "phone": "555-0200",
                                       "email": "bob@example.com", "address": "1 High St"}
                        ).status_code == 201
    assert manager.post("/purchase-orders", {"number": "PO2", "supplier": "Other Co",
                                             "lines": [{"sku": "PHONE", "qty": 5}]}
                        ).status_code == 201
    assert manager.post("/sales-orders", {"number": "SO9", "customer": "C2",
                                          "lines": [{"sku": "PHONE", "qty": 1}]}
                        ).status_code == 201
    for lot, ns, po in (("L1", (1, 2, 3), "PO1"), ("L1", (4,), "PO2"), ("L2", (5, 6), "PO2")):
        r = manager.post("/receive", {"location": "A1", "sku": "PHONE", "lot": lot,
                                      "purchase_order": po, "serials": [imei(n) for n in ns]})
        assert all(x["ok"] for x in r.get_json()["results"]), r.get_json()
    for order, ns in (("SO1", (1, 2)), ("SO9", (3,))):
        assert all(x["ok"] for x in manager.post(
            "/pick", {"order": order, "serials": [imei(n) for n in ns]}).get_json()["results"])
        assert manager.post("/ship", {"order": order}).status_code == 200
    return manager


def test_recall_by_lot_lists_exactly_the_customers_and_the_unshipped_units(recall_shop):
    r = recall_shop.get("/recall?sku=PHONE&lot=L1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 4
    assert body["by_status"] == {"in_stock": 1, "shipped": 3}
    customers = {c["code"]: c for c in body["customers"]}
    assert set(customers) == {"C1", "C2"}
    assert customers["C1"]["email"] == "ann@example.com" and customers["C1"]["phone"] == "555-0100"
    assert customers["C2"]["address"] == "1 High St"
    assert sorted(u["serial"] for u in customers["C1"]["units"]) == [imei(1), imei(2)]
    unshipped = [u["serial"] for u in body["units"] if u["status"] != "shipped"]
    assert unshipped == [imei(4)]
    shipped = next(u for u in body["units"] if u["serial"] == imei(3))
    assert shipped["customer"]["name"] == "Bob Holder" and shipped["shipped_at"]


def test_other_scopes_range_dates_supplier_po(recall_shop):
    def serials(query):
        r = recall_shop.get("/recall?" + query)
        assert r.status_code == 200, r.get_json()
        return sorted(u["serial"] for u in r.get_json()["units"])
    assert serials(f"sku=PHONE&serial_from={imei(2)}&serial_to={imei(4)}") == \
        [imei(2), imei(3), imei(4)]
    assert serials("purchase_order=PO2") == [imei(4), imei(5), imei(6)]
    assert serials("lot=L1,L2") == [imei(n) for n in range(1, 7)]
    assert serials("lot=L2,L1&purchase_order=PO1") == [imei(1), imei(2), imei(3)]
    assert serials("sku=PHONE&received_from=2000-01-01&received_to=2999-12-31") == \
        [imei(n) for n in range(1, 7)]
    assert serials("sku=PHONE&received_to=2000-01-01") == []
    supplier = recall_shop.get("/suppliers").get_json()["suppliers"]
    other = next(s["code"] for s in supplier if s["name"] == "Other Co")
    assert serials(f"supplier={other}") == [imei(4), imei(5), imei(6)]


def test_recall_csv_has_contact_columns(recall_shop):
    r = recall_shop.get("/recall?sku=PHONE&lot=L1&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert {"customer", "contact", "email", "phone", "address"} <= set(rows[0])
    by_serial = {row["serial"]: row for row in rows}
    assert set(by_serial) == {imei(n) for n in (1, 2, 3, 4)}
    assert by_serial[imei(3)]["phone"] == "555-0200" and by_serial[imei(3)]["address"] == "1 High St"
    assert by_serial[imei(1)]["email"] == "ann@example.com"
    assert by_serial[imei(4)]["customer"] == "" and by_serial[imei(4)]["status"] == "in_stock"


@pytest.mark.parametrize("query, status, code", [
    ("sku=PHONE&colour=red", 400, "unknown_parameter"),
    ("", 400, "missing_field"),
    ("serial_from=1", 400, "missing_field"),
    ("sku=PHONE&received_from=yesterday", 400, "invalid_field"),
    ("sku=PHONE&format=xml", 400, "invalid_field"),
    ("sku=NOPE", 404, "unknown_sku"),
    ("sku=NOPE&format=csv", 404, "unknown_sku"),
    ("purchase_order=NOPE", 404, "unknown_order"),
])
def test_bad_recall_queries_are_a_readable_4xx(recall_shop, query, status, code):
    r = recall_shop.get("/recall?" + query)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]


def test_pickers_do_not_see_customer_contacts(recall_shop, picker):
    assert picker.get("/recall?sku=PHONE").status_code == 403


def test_saved_recall_quarantines_exactly_the_in_stock_units(recall_shop, picker):
    # Phone 5 (lot L2) is picked: neither in stock nor shipped; it must be left alone.
    assert recall_shop.post("/sales-orders", {"number": "SO8", "customer": "C1",
                                              "lines": [{"sku": "PHONE", "qty": 1}]}
                            ).status_code == 201
    assert picker.post("/pick", {"order": "SO8", "serials": [imei(5)]}).get_json()[
        "results"][0]["ok"]
    r = recall_shop.post("/recalls", {"name": "Battery swelling", "sku": "PHONE",
                                      "lot": ["L1", "L2"]})
    assert r.status_code == 201, r.get_json()
    saved = r.get_json()
    assert saved["created_by"] == "manager" and saved["created_at"]
    again = recall_shop.get(f"/recalls/{saved['id']}").get_json()
    assert again["name"] == "Battery swelling" and again["total"] == 6
    assert recall_shop.get("/recalls").get_json()["recalls"][0]["id"] == saved["id"]

    r = recall_shop.post(f"/recalls/{saved['id']}/quarantine", {"location": "Q"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["quarantined"] == 2
    statuses = {n: recall_shop.get(f"/serials/{imei(n)}").get_json()["status"]
                for n in range(1, 7)}
    assert statuses == {1: "shipped", 2: "shipped", 3: "shipped", 4: "quarantined",
                        5: "picked", 6: "quarantined"}
    for n in (4, 6):
        events = [e for e in recall_shop.get(f"/serials/{imei(n)}").get_json()["history"]
                  if e["type"] == "quarantine"]
        assert len(events) == 1 and "Battery swelling" in events[0]["note"]
        assert events[0]["to_location"] == "Q"
    for n in (1, 5):
        history = recall_shop.get(f"/serials/{imei(n)}").get_json()["history"]
        assert not any(e["type"] == "quarantine" for e in history)
    assert recall_shop.get(f"/recalls/{saved['id']}").get_json()["quarantined_at"]


def test_unknown_recall_is_404(recall_shop):
    r = recall_shop.get("/recalls/999")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_recall"
