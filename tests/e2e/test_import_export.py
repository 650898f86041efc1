"""A shop owner loads opening stock from a spreadsheet and downloads the serial list."""
import csv
import io

from playwright.sync_api import expect

from tests.factories import setup_shop

from .conftest import login


def test_import_2000_serials_then_export_them_with_formulas_neutralised(
        live_server, manager, page, tmp_path):
    setup_shop(manager)
    rows = ["sku,serial,location,lot"] + [
        f"CASE,CS-{n:04d},{'A1' if n % 2 else 'A2'},{'=SUM(A1:A2)' if n == 7 else 'L1'}"
        for n in range(2000)] + ["CASE,not-a-case-serial,A1,L1"]
    path = tmp_path / "opening-stock.csv"
    path.write_text("\n".join(rows))
    login(page, live_server, "manager")
    page.locator("nav.areas").get_by_role("link", name="Import").click()
    page.select_option("#kind", "serials")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("main")).to_contain_text("2000 of 2001 rows ready")
    expect(page.locator(".import-rows tr.bad-row")).to_have_count(1)
    expect(page.locator(".import-rows tr.bad-row")).to_contain_text("does not fit")
    assert manager.get("/serials?sku=CASE").get_json()["total"] == 0  # a check changes nothing
    page.locator("#apply-import").click(timeout=60000)  # 2,000 receives: slow on a busy machine
    expect(page.locator(".flash.ok")).to_contain_text("2000 rows imported, 1 not", timeout=60000)
    listing = manager.get("/serials?sku=CASE&status=in_stock").get_json()
    assert listing["total"] == 2000
    # A second tap on Import (back button, double tap) imports nothing twice.
    page.go_back()
    page.locator("#apply-import").click()
    expect(page.locator(".flash.error")).to_contain_text("no longer waiting")
    assert manager.get("/serials?sku=CASE").get_json()["total"] == 2000

    page.get_by_role("link", name="Downloads").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Every serial").click()
    text = open(download_info.value.path(), encoding="utf-8").read()
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == 2000
    seventh = next(r for r in exported if r["serial"] == "CS-0007")
    assert seventh["lot"] == "'=SUM(A1:A2)"
    assert all(not r[k].startswith(("=", "+", "-", "@")) for r in exported for k in r)


def test_the_search_box_opens_what_is_scanned_and_lists_parts(live_server, manager, page):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "CASE",
                              "serials": ["CS-1001", "CS-1002", "CS-2001"]})
    login(page, live_server, "manager")
    box = page.locator("#search-q")
    box.fill("cs-1002")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server}/serials/CS-1002?sku=CASE")
    box = page.locator("#search-q")
    box.fill("CS-10")
    box.press("Enter")
    expect(page.locator("section.results a")).to_have_count(2)
    box = page.locator("#search-q")
    box.fill("ann buyer")
    box.press("Enter")
    page.get_by_role("link", name="Ann Buyer").click()
    expect(page.locator("h1")).to_contain_text("Ann Buyer")
