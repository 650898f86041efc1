"""Issue 9's pages at phone size: recall (find, save, quarantine), keeping the phone rules,
and using the width on a desktop."""
from playwright.sync_api import expect
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
    # expect() waits for the answer page: a plain read could see the form page still.
    expect(page.locator(".call h3")).to_have_text(["Ann Buyer (C1)"])
    page.fill("input[name=name]", "Hot battery")
    page.click("text=Save this recall")
    phone_rules(page)
    expect(page.locator("h1")).to_contain_text("Recall #1: Hot battery")
    page.select_option("select[name=location]", "Q")
    page.check("input[name=confirm]")
    page.click("button.danger")
    expect(page.locator(".flash")).to_contain_text("1 unit quarantined")
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
            # The chart drawn for a phone's width shows; the desktop's does not.
            assert phone.locator(".chart-narrow svg").first.is_visible()
            assert not phone.locator(".chart-wide svg").first.is_visible()


def test_report_charts_on_a_desktop(live_server, users, manager, browser):
    _shop(manager)
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    page = desk.new_page()
    log_in(page, live_server, "manager")
    for path in ("/reports/stock", "/reports/stage-times", "/reports/flow", "/reports/ageing"):
        page.goto(live_server + path)
        assert page.locator(".chart-wide svg").first.is_visible(), path
        assert not page.locator(".chart-narrow svg").first.is_visible(), path
        assert page.locator(".chart-wide svg").first.bounding_box()["width"] > 800, path
    desk.close()


def _gun_shop(manager):
    assert manager.post("/products", {"sku": "G17", "name": "Pistol", "attributes": {
        "book": True, "manufacturer": "Glock", "model": "17", "type": "pistol",
        "caliber": "9mm"}}).status_code == 201
    assert manager.post("/locations", {"code": "SAFE", "kind": "storage"}).status_code == 201
    assert manager.post("/customers", {"code": "JD", "name": "Jane Doe",
                                       "address": "5 Elm St"}).status_code == 201
    assert manager.post("/sales-orders", {"number": "SO-G", "customer": "JD",
                                          "lines": [{"sku": "G17", "qty": 1}]}).status_code == 201
    r = manager.post("/receive", {"location": "SAFE", "sku": "G17",
                                  "serials": ["ABC101", "ABC102", "ABC103"]})
    assert all(x["ok"] for x in r.get_json()["results"])
    assert manager.post("/pick", {"order": "SO-G", "serials": ["ABC101"]}).get_json()[
        "results"][0]["ok"]


def _book_rows(manager, serial):
    r = manager.get(f"/reports/acquisitions-dispositions?serial={serial}")
    return r.get_json()["entries"]


def test_the_book_from_the_browser(live_server, users, manager, phone, browser):
    """Ship with a Form 4473 number, correct an entry, record a theft: all from the pages
    at phone size, then the book on a desktop."""
    _gun_shop(manager)
    page = phone
    log_in(page, live_server, "manager")
    page.goto(live_server + "/scan/ship")
    phone_rules(page)
    page.fill("input[name=form_4473]", "2024-000123")
    page.click("text=Ship SO-G")
    page.wait_for_selector("text=✔ Shipped")
    shipped = [r for r in _book_rows(manager, "ABC101") if r["disposed_on"]]
    assert [r["form_4473"] for r in shipped] == ["2024-000123"]

    page.goto(live_server + "/book?serial=ABC102")
    phone_rules(page)
    link = page.locator("a[aria-label^='Correct entry E']").first
    entry = link.get_attribute("aria-label").split()[-1]  # E<n>, its acquisition
    link.click()
    phone_rules(page)
    page.fill("input[name=caliber]", "9x19mm")
    page.click("text=Record the correction")  # no reason given: the browser asks for one
    assert "/correct" in page.url
    page.fill("textarea[name=note]", "caliber misread")
    page.click("text=Record the correction")
    expect(page.locator(".flash")).to_contain_text(f"it corrects {entry}, which stays as it was")
    phone_rules(page)
    rows = _book_rows(manager, "ABC102")
    original = next(r for r in rows if r["entry"] == entry)
    correction = next(r for r in rows if r["corrects"] == entry)
    assert original["caliber"] == "9mm" and correction["caliber"] == "9x19mm"
    assert correction["note"] == "caliber misread"

    page.goto(live_server + "/book")
    page.click("text=Record a theft or loss")
    phone_rules(page)
    page.fill("#theft-loss input[name=serial]", "ABC103")
    page.select_option("#theft-loss select[name=kind]", "theft")
    page.fill("#theft-loss input[name=atf_incident]", "T2024-0001")
    page.fill("#theft-loss input[name=police_incident]", "PD-77")
    page.click("text=Record and write the unit off")
    expect(page.locator(".flash")).to_contain_text("Theft of ABC103 recorded")
    disposed = [r for r in _book_rows(manager, "ABC103") if r["disposed_on"]]
    assert [(r["theft_loss"], r["atf_incident"], r["police_incident"]) for r in disposed] == [
        ("theft", "T2024-0001", "PD-77")]
    # Twice is refused with the reason, and what was typed stays in the form.
    page.goto(live_server + "/book")
    page.click("text=Record a theft or loss")
    page.fill("#theft-loss input[name=serial]", "ABC103")
    page.select_option("#theft-loss select[name=kind]", "loss")
    page.fill("#theft-loss input[name=atf_incident]", "T2024-0002")
    page.fill("#theft-loss input[name=police_incident]", "PD-78")
    page.click("text=Record and write the unit off")
    expect(page.locator("#theft-loss .flash.error")).to_be_visible()  # waits for the answer page
    assert page.input_value("#theft-loss input[name=atf_incident]") == "T2024-0002"
    phone_rules(page)

    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    wide = desk.new_page()
    log_in(wide, live_server, "manager")
    wide.goto(live_server + "/book")
    assert wide.locator("main").bounding_box()["width"] > 1000
    assert wide.locator("td", has_text="2024-000123").is_visible()
    desk.close()


def test_the_book_prints_in_its_columns_from_a_phone_and_a_desktop(live_server, users, manager,
                                                                     phone, browser):
    """Printed (Chromium's page.pdf, as "Save as PDF" does), the book is a landscape page
    with every column across it, from a phone as from a desktop."""
    from tests.labelread import pdf_pages
    _gun_shop(manager)
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    for page in (phone, desk.new_page()):
        log_in(page, live_server, "manager")
        page.goto(live_server + "/book")
        page.emulate_media(media="print")
        assert not page.locator("#theft-loss").is_visible()  # forms and buttons stay off paper
        assert not page.locator("a[aria-label^='Correct entry']").first.is_visible()
        assert page.locator(".book-table thead tr:last-child th").count() == 18
        pages = pdf_pages(page.pdf(prefer_css_page_size=True), dpi=60)
        assert len(pages) == 1 and pages[0][1][0] > pages[0][1][1], [s for _, s in pages]
        # Nothing cut at the right edge: the ink ends inside the page's margin.
        ink = pages[0][0].convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
        assert ink and ink[2] < pages[0][0].width - 10, (ink, pages[0][0].size)
    desk.close()
