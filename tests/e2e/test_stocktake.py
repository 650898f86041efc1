"""A count (stocktake) on a phone, 360x740: a picker counts a shelf with one photo of a case
label (seven serials and the product code), typed scans and one scan made offline; a
manager closes it and fixes each difference with one tap."""
import re

from playwright.sync_api import expect

from tests.factories import imei, setup_shop
from tests.imagegen import label_photo

from .conftest import PHONE, login
from .test_offline import open_controlled

PHONE_740 = {**PHONE, "viewport": {"width": 360, "height": 740}}
UNKNOWN = imei(99)


def history(api, serial):
    return api.get(f"/serials/{serial}").get_json()["history"]


def test_a_count_with_a_photo_typed_and_offline_scans_then_one_tap_fixes(
        live_server, manager, browser):
    setup_shop(manager)
    assert manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [
        imei(n) for n in range(1, 12)]}).status_code == 200
    count_id = manager.post("/stocktakes", {"location": "A1"}).get_json()["id"]
    url = f"{live_server}/counts/{count_id}"

    picker_ctx = browser.new_context(**PHONE_740)
    picker_ctx.set_default_timeout(20000)
    page = picker_ctx.new_page()
    login(page, live_server)
    page.get_by_role("link", name="Count", exact=True).click()
    page.get_by_role("link", name=re.compile(f"Count {count_id}: A1")).click()
    expect(page.locator("h1")).to_have_text(f"Count {count_id}: A1")
    open_controlled(page, url)  # cached by the service worker, for the offline part
    expect(page.locator("#count-progress")).to_contain_text("0 of 11 found")

    # One photo of a case label: the product code and seven serials. Filling the frame (a
    # 3 MP photo, the label 60% of its width): the decoder's first pass reads all eight, so
    # the test does not hang on its time budget on a busy machine.
    photo = label_photo([("4006381333931", "EAN13")] +
                        [(imei(n), "Code128") for n in range(1, 8)], "case", seed=3,
                        width_frac=0.6, size=(2016, 1512))
    page.set_input_files("#photo-input", files=[{"name": "case.jpg", "mimeType": "image/jpeg",
                                                 "buffer": photo.data}])
    expect(page.locator("#feedback")).to_have_text("+7 from this photo", timeout=30000)
    expect(page.locator("#count-progress")).to_contain_text("7 of 11 found")
    expect(page.locator("#scan-log li.ok")).to_have_count(8)  # seven serials, and the +7

    # Typed (a wedge scanner types the same): two more, and one no one received.
    for text in (imei(8), imei(9), UNKNOWN):
        page.fill("#scan-input", text)
        page.press("#scan-input", "Enter")
    expect(page.locator("#count-progress")).to_contain_text("9 of 11 found")
    expect(page.locator("#feedback")).to_contain_text(f"{UNKNOWN}: counted · not known here")
    expect(page.locator("#feedback")).to_have_class(re.compile("info"))
    # The same label again: counted once.
    page.fill("#scan-input", imei(8))
    page.press("#scan-input", "Enter")
    expect(page.locator("#feedback")).to_contain_text("Already counted")

    # Offline: the scan waits on the phone, and joins the count when the phone is back.
    picker_ctx.set_offline(True)
    page.fill("#scan-input", imei(10))
    page.press("#scan-input", "Enter")
    expect(page.locator("#queue-badge")).to_have_text("queued (1)")
    expect(page.locator("#count-progress")).to_contain_text("9 of 11 found")
    picker_ctx.set_offline(False)
    expect(page.locator("#queue-badge")).to_be_hidden(timeout=20000)
    expect(page.locator("#count-progress")).to_contain_text("10 of 11 found")
    expect(page.locator("#count-extra")).to_contain_text("1 not expected · 11 scanned")
    page.screenshot(path=str(_shots() / "count-open.png"))

    # The manager closes the count on a phone and fixes each difference with one tap.
    manager_ctx = browser.new_context(**PHONE_740)
    manager_ctx.set_default_timeout(20000)
    boss = manager_ctx.new_page()
    login(boss, live_server, "manager")
    boss.get_by_role("link", name="Counts", exact=True).click()
    boss.get_by_role("link", name=re.compile(f"Count {count_id}: A1")).click()
    boss.once("dialog", lambda dialog: dialog.accept())
    boss.get_by_role("button", name="Close the count").click()
    expect(boss.locator(".flash.ok")).to_have_text(
        "Closed: 10 of 11 found, 1 missing, 1 unexpected.")
    missing = boss.locator(f'#missing-list li[data-serial="{imei(11)}"]')
    expect(missing).to_contain_text("recorded at A1")
    unknown = boss.locator(f'#unexpected-list li[data-serial="{UNKNOWN}"]')
    expect(unknown).to_contain_text("not known here")
    boss.screenshot(path=str(_shots() / "count-closed.png"), full_page=True)
    missing.get_by_role("button", name="Mark missing").click()
    expect(boss.locator(".flash.ok")).to_have_text(f"{imei(11)}: marked missing.")
    unknown = boss.locator(f'#unexpected-list li[data-serial="{UNKNOWN}"]')
    unknown.locator('select[name="sku"]').select_option("PHONE")
    unknown.get_by_role("button", name="Receive at A1").click()
    expect(boss.locator(".flash.ok")).to_have_text(f"{UNKNOWN}: received here.")
    expect(boss.locator("#unexpected-list li.resolved")).to_contain_text("received here")
    expect(boss.locator("#missing-list li.resolved")).to_contain_text("marked missing")

    # Each fix is on the serial's record; the count kept who counted what.
    assert [e["type"] for e in history(manager, imei(11))] == ["receive", "mark_missing"]
    assert [(e["type"], e["to_location"]) for e in history(manager, UNKNOWN)] == [
        ("receive", "A1")]
    view = manager.get(f"/stocktakes/{count_id}?scans=true").get_json()
    sources = {s["serial"]: s["source"] for s in view["scans"]}
    assert sources[imei(1)] == "photo" and sources[imei(8)] == "wedge"
    assert sources[imei(10)] == "wedge" and len(sources) == 11
    assert {s["user"] for s in view["scans"]} == {"picker"}
    picker_ctx.close()
    manager_ctx.close()


def _shots():
    from pathlib import Path
    folder = Path(__file__).resolve().parent.parent.parent / ".pytest_cache" / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
