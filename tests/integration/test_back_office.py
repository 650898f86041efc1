"""The back office's rules, through the API and the pages alike: suppliers, edits, PO
close/cancel, sales order status, where a shipped unit is, forms that keep what was typed."""
import re

from tests.factories import imei, setup_shop


def codes(r):
    return [x["ok"] for x in r.get_json()["results"]]


def test_a_po_supplier_name_links_to_one_supplier_row(manager):
    setup_shop(manager)
    assert manager.get("/suppliers").get_json()["suppliers"][0]["name"] == "Acme"
    r = manager.post("/purchase-orders", {"number": "PO2", "supplier": "ACME",
                                          "lines": [{"sku": "CASE", "qty": 1}]})
    assert r.status_code == 201 and r.get_json()["supplier"] == "Acme"  # found, case aside
    assert len(manager.get("/suppliers").get_json()["suppliers"]) == 1
    r = manager.post("/suppliers", {"code": "BOLT", "name": "Bolt & Co", "licence": "FFL-1"})
    assert r.status_code == 201
    r = manager.post("/purchase-orders", {"number": "PO3", "supplier": "BOLT",
                                          "lines": [{"sku": "CASE", "qty": 1}]})
    assert r.get_json()["supplier"] == "Bolt & Co"  # by code too


def test_patch_edits_and_refuses_what_must_stay(manager, picker):
    setup_shop(manager)
    r = manager.client.patch("/api/products/PHONE", json={"name": "Phone 2", "warranty_days": 730},
                             headers=manager.headers)
    assert r.status_code == 200 and r.get_json()["name"] == "Phone 2"
    assert r.get_json()["warranty_days"] == 730
    r = manager.client.patch("/api/products/PHONE", json={"sku": "OTHER"}, headers=manager.headers)
    assert r.status_code == 400
    manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    r = manager.client.patch("/api/products/CASE", json={"serials_case_sensitive": True},
                             headers=manager.headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "has_serials"
    r = manager.client.patch("/api/locations/A2", json={"pickable": False, "name": "Top"},
                             headers=manager.headers)
    assert r.get_json() == {"code": "A2", "name": "Top", "kind": "storage", "pickable": False}
    r = manager.client.patch("/api/customers/C1", json={"licence": "FFL-9"}, headers=manager.headers)
    assert r.get_json()["licence"] == "FFL-9" and r.get_json()["email"] == "ann@example.com"
    r = picker.client.patch("/api/customers/C1", json={"name": "x"}, headers=picker.headers)
    assert r.status_code == 403


def test_closed_and_cancelled_pos_take_no_more_receipts(manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE",
                              "serials": [imei(1)]})
    assert manager.post("/purchase-orders/PO1/cancel").status_code == 409  # one came: close
    r = manager.post("/purchase-orders/PO1/close")
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    r = manager.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE",
                                  "serials": [imei(2)]})
    assert r.status_code == 409 and "closed" in r.get_json()["error"]["message"]
    manager.post("/purchase-orders", {"number": "PO9", "supplier": "Acme",
                                      "lines": [{"sku": "PHONE", "qty": 1}]})
    assert manager.post("/purchase-orders/PO9/cancel").get_json()["status"] == "cancelled"


def test_order_status_follows_pick_unpick_and_ship(manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(n) for n in (1, 2)]})
    status = lambda: manager.get("/sales-orders/SO1").get_json()["status"]  # noqa: E731
    manager.post("/pick", {"order": "SO1", "serials": [imei(1)]})
    assert status() == "open"
    manager.post("/pick", {"order": "SO1", "serials": [imei(2)]})
    assert status() == "picked"
    r = manager.post("/unpick", {"order": "SO1", "location": "A2", "serials": [imei(2)]})
    assert r.get_json()["results"][0]["location"] == "A2" and status() == "open"
    manager.post("/ship", {"order": "SO1", "partial": True})
    assert status() == "partially_shipped"
    manager.post("/pick", {"order": "SO1", "serials": [imei(2)]})
    assert status() == "partially_shipped"
    manager.post("/ship", {"order": "SO1"})
    assert status() == "shipped"
    s = manager.get(f"/serials/{imei(1)}").get_json()
    assert s["location"] is None and s["customer"] == "C1"  # with the customer, off the shelf
    assert s["history"][-1]["from_location"] == "A1"


def test_move_says_where_to(manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    r = manager.post("/move", {"location": "TEST-BENCH", "serials": [imei(1)]})
    assert r.get_json()["results"][0]["location"] == "TEST-BENCH"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _login(client, name="manager"):
    token = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"name": name, "password": "secret-pw", "csrf_token": token})
    assert r.status_code == 302


def test_a_form_refusal_is_a_sentence_and_keeps_what_was_typed(app, users):
    client = app.test_client()
    _login(client)
    page = client.get("/products/new").get_data(as_text=True)
    r = client.post("/products/new", data={"csrf_token": _csrf(page), "sku": "X1",
                                            "name": "Widget <b>", "gtin": "4006381333932",
                                            "warranty_days": "a year"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Write the warranty as a number of days" in html
    assert 'value="Widget &lt;b&gt;"' in html
    r = client.post("/products/new", data={"csrf_token": _csrf(page), "sku": "X1",
                                           "name": "Widget", "gtin": "4006381333932"})
    assert "is not valid" in r.get_data(as_text=True)  # the check digit, from catalog
    r = client.post("/products/new", data={"sku": "X1", "name": "Widget"})  # no CSRF token
    assert r.status_code == 400 and "Widget" not in client.get("/products").get_data(as_text=True)


def test_receive_offers_every_open_po_with_units_to_come_and_nothing_else(app, manager):
    setup_shop(manager)
    for n in range(60):  # newer orders never push an open one off the list
        manager.post("/purchase-orders", {"number": f"NEW{n}", "supplier": "Acme",
                                          "lines": [{"sku": "CASE", "qty": 1}]})
    manager.post("/purchase-orders/NEW0/close")
    client = app.test_client()
    _login(client, "picker")
    html = client.get("/scan/receive").get_data(as_text=True)
    assert "PO1 · Acme · 0 of 3 received" in html and "NEW59" in html
    assert 'value="NEW0"' not in html


def test_pages_answer_in_the_shops_time_zone(app, manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    app.config["SHOP_TIMEZONE"] = "Asia/Kathmandu"  # +05:45: no other zone has it
    client = app.test_client()
    _login(client)
    at = manager.get(f"/serials/{imei(1)}").get_json()["history"][0]["at"]
    from datetime import datetime, timedelta
    local = (datetime.fromisoformat(at.rstrip("Z")) + timedelta(hours=5, minutes=45))
    html = client.get(f"/serials/{imei(1)}").get_data(as_text=True)
    assert local.strftime("%Y-%m-%d %H:%M") in html and "Asia/Kathmandu" in html


def test_ship_list_shows_each_order_with_units_waiting_and_what_is_picked(app, manager):
    """The ship list reads every order's lines in a few queries (queries.orders_to_ship):
    what each card says must still be per order and per line."""
    setup_shop(manager)
    manager.post("/sales-orders", {"number": "SO3", "customer": "C1",
                                   "lines": [{"sku": "PHONE", "qty": 1}, {"sku": "CASE", "qty": 2}]})
    manager.post("/receive", {"location": "A1", "sku": "PHONE",
                              "serials": [imei(n) for n in range(1, 5)]})
    manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    manager.post("/pick", {"order": "SO1", "serials": [imei(1)]})  # 1 of 2
    manager.post("/pick", {"order": "SO2", "serials": [imei(2)]})
    assert manager.post("/ship", {"order": "SO2"}).status_code == 200  # gone: nothing waits
    manager.post("/pick", {"order": "SO3", "serials": [imei(3), "CS-0001"]})  # 2 of 3
    client = app.test_client()
    _login(client, "picker")
    html = re.sub(r"\s+", " ", client.get("/scan/ship").get_data(as_text=True))
    cards = re.findall(r"<h2>(SO\d) · Ann Buyer</h2> <p class=\"ready\">(\d+ of \d+ picked)"
                       r"( · <strong>not complete</strong>)?", html)
    assert cards == [("SO1", "1 of 2 picked", " · <strong>not complete</strong>"),
                     ("SO3", "2 of 3 picked", " · <strong>not complete</strong>")]
    # The pick list (one query of plain rows): every order not yet shipped, with its sums.
    picks = re.sub(r"\s+", " ", client.get("/scan/pick").get_data(as_text=True))
    assert re.findall(r"(SO\d) · Ann Buyer <small>(\d+ of \d+) picked", picks) == [
        ("SO1", "1 of 2"), ("SO3", "2 of 3")]
    # SO1 partly shipped, then its second unit picked: 1 of the 1 still wanted.
    assert manager.post("/ship", {"order": "SO1", "partial": True}).status_code == 200
    manager.post("/pick", {"order": "SO1", "serials": [imei(4)]})
    html = re.sub(r"\s+", " ", client.get("/scan/ship").get_data(as_text=True))
    assert "<h2>SO1 · Ann Buyer</h2> <p class=\"ready\">1 of 1 picked ·" in html


def test_product_page_counts_per_status_and_place_and_pages_them(app, manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "CASE",
                              "serials": [f"CS-{n:04d}" for n in range(1, 6)]})
    manager.post("/move", {"location": "TEST-BENCH", "serials": ["CS-0005"]})
    manager.post("/quarantine", {"location": "Q", "serials": ["CS-0004"]})
    product = manager.get("/products/CASE").get_json()
    assert product["by_status"] == {"in_stock": 4, "quarantined": 1}
    assert product["by_location"] == {"A1": 3, "TEST-BENCH": 1}
    assert (product["on_hand"], product["available"]) == (4, 3)  # the bench is not pickable
    client = app.test_client()
    _login(client)
    app.config["PAGE_SIZE"] = 2
    html = client.get("/products/CASE").get_data(as_text=True)
    assert "<p>5 serials.</p>" in html and "CS-0001" in html and "CS-0003" not in html
    html = client.get("/products/CASE?status=in_stock&page=2").get_data(as_text=True)
    assert "<p>4 serials.</p>" in html and "CS-0003" in html and "CS-0001" not in html
    html = client.get("/products/CASE?status=quarantined").get_data(as_text=True)
    assert "<p>1 serial.</p>" in html and "CS-0004" in html and "CS-0001" not in html
    html = client.get("/products/CASE?location=A1").get_data(as_text=True)
    assert "<p>3 serials.</p>" in html
    html = client.get("/products/CASE?q=0005").get_data(as_text=True)
    assert "<p>1 serial.</p>" in html
    # Each row's links (made by row_url) and each place's.
    assert ('<a href="/serials/CS-0005?sku=CASE">CS-0005</a>' in html
            and '<a href="/products/CASE">CASE</a>' in html
            and '<a href="/locations/TEST-BENCH">TEST-BENCH</a>' in html)


def test_row_url_makes_what_url_for_makes(app):
    """The lists' links are built once per request and filled in per row: the same text
    as url_for, whatever a serial, a code or the fixed arguments hold."""
    from flask import g, url_for

    from serialapp.web.common import row_url
    values = ["CS-0001", "A/B", "50% off", "a b#c?d", "..%2F..", "x&y=z+1", "é-ü",
              "zq7ROWSLOT7qz", "<b>"]
    for environ in ({}, {"SCRIPT_NAME": "/shop"}):
        with app.test_request_context("/", environ_overrides=environ):
            for value in values:
                for sku in ("CASE", "S/K U&1", "zq7ROWSLOT7qz"):
                    assert row_url("catalogue.serial_page", "text", value, sku=sku) == \
                        url_for("catalogue.serial_page", text=value, sku=sku)
                for endpoint, name in (("catalogue.product_page", "sku"),
                                       ("catalogue.location_page", "code"),
                                       ("catalogue.customer_page", "code")):
                    assert row_url(endpoint, name, value) == url_for(endpoint, **{name: value})
            # Each built once, with a slot (not url_for per row).
            assert len(g._row_urls) == 6 and all(g._row_urls.values())
