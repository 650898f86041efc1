"""Issue 9's pages at phone size: recall (find, save, quarantine), keeping the phone rules,
and using the width on a desktop."""
from tests.factories import imei, setup_shop

from .test_back_office import log_in, phone, phone_rules  # noqa: F401  (fixture)


def _shop(manager):
    setup_shop(manager)
    r = manager.post("/receive", {"location": "A1", "sku": "PHONE", "lot": "L1",
                                  "purchase_order": "PO1", "serials": [imei(1), imei(2)]})
    assert all(x["ok"] for x in r.get_json()["results"])
    manager.post("/pick", {"order": "SO2", "serials": [imei(1)]})
    assert manager.post("/ship", {"order": "SO2"}).status_code == 200


def test_recall_from_the_browser(live_server, users, manager, phone, browser):
    _shop(manager)
    page = phone
    log_in(page, live_server, "manager")
    page.locator(".areas a", has_text="Reports").click()
    phone_rules(page)
    page.get_by_role("link", name="Recall").first.click()
    phone_rules(page)
    page.fill("input[name=sku]", "PHONE")
    page.fill("input[name=lot]", "L1")
    page.click("text=Find units")
    phone_rules(page)
    assert page.locator(".call h3").all_inner_texts() == ["Ann Buyer (C1)"]
    page.fill("input[name=name]", "Hot battery")
    page.click("text=Save this recall")
    phone_rules(page)
    assert "Recall #1: Hot battery" in page.locator("h1").inner_text()
    page.select_option("select[name=location]", "Q")
    page.check("input[name=confirm]")
    page.click("button.danger")
    assert "1 unit quarantined" in page.locator(".flash").inner_text()
    phone_rules(page)
    assert manager.get(f"/serials/{imei(2)}").get_json()["status"] == "quarantined"
    # On a desktop the table shows its secondary columns: the page uses the width.
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    wide = desk.new_page()
    log_in(wide, live_server, "manager")
    wide.goto(live_server + "/recalls/1")
    assert wide.locator("table.list th.wide").first.is_visible()
    assert wide.locator("main").bounding_box()["width"] > 1000
    desk.close()


def test_report_pages_keep_the_phone_rules(live_server, users, manager, phone):
    _shop(manager)
    log_in(phone, live_server, "manager")
    for path in ("/reports", "/warranty?days=400", "/reports/stock", "/reports/stage-times",
                 "/reports/flow", "/reports/ageing", "/recalls", "/book"):
        phone.goto(live_server + path)
        phone_rules(phone)
        if path.startswith("/reports/"):
            box = phone.locator("figure.chart svg").first.bounding_box()
            assert box and 300 <= box["width"] <= 360, (path, box)
