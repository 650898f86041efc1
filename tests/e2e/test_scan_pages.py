"""The three ways to scan, in a real browser at phone size: wedge/typing, photo, live camera."""
import re

import pytest
from playwright.sync_api import expect

from tests.factories import imei

from .barcodes import code_image, label, png, write_y4m
from .conftest import PHONE, events, launch, login


def test_wedge_scan_into_an_order_shows_progress(live_server, shop, page):
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    row = page.locator("#order-lines tr[data-sku=PHONE] .progress")
    expect(row).to_have_text("0 of 2")
    page.fill("#scan-input", imei(1))
    page.press("#scan-input", "Enter")
    expect(page.locator("#feedback")).to_have_text(re.compile(rf"✔ {imei(1)} PHONE: picked"))
    expect(page.locator("#feedback")).to_have_class(re.compile(r"\bok\b"))
    expect(row).to_have_text("1 of 2")
    expect(page.locator("#scan-input")).to_be_focused()  # ready for the next scan
    assert [e["source"] for e in events(shop, imei(1))] == ["wedge"]


def test_pasting_serials_picks_a_whole_order_line_by_line(live_server, shop, page):
    """A picker pastes a list (one serial per line): each is its own scan, the lines fill."""
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO3")
    row = page.locator("#order-lines tr[data-sku=PHONE]")
    expect(row.locator(".progress")).to_have_text("0 of 3")
    pasted = "\n".join(imei(n) for n in (1, 2, 3)) + "\n"
    page.focus("#scan-input")
    page.evaluate("""(text) => {
        const data = new DataTransfer();
        data.setData('text/plain', text);
        document.getElementById('scan-input').dispatchEvent(
            new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    }""", pasted)
    expect(row.locator(".progress")).to_have_text("3 of 3")
    expect(row).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#scan-log li.ok")).to_have_count(3)
    for n in (1, 2, 3):
        assert [e["order"] for e in events(shop, imei(n))] == ["SO3"]


def test_wrong_serials_show_their_reason_in_red(live_server, shop, page):
    shop.post("/pick", {"order": "SO2", "serials": [imei(2)]})
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    feedback = page.locator("#feedback")
    page.fill("#scan-input", imei(2))  # already on SO2
    page.press("#scan-input", "Enter")
    expect(feedback).to_have_class(re.compile(r"\bbad\b"))
    expect(feedback).to_contain_text(imei(2))
    reason_taken = feedback.inner_text()
    assert len(reason_taken) > len(f"✘ {imei(2)}: ") + 10  # a reason, not just a cross
    page.fill("#scan-input", "NOT-A-SERIAL-42")
    page.press("#scan-input", "Enter")
    expect(feedback).to_contain_text("NOT-A-SERIAL-42")
    expect(feedback).to_contain_text("Not known here")
    expect(feedback).to_have_class(re.compile(r"\bbad\b"))
    # Both reasons stay in the log, newest first.
    expect(page.locator("#scan-log li.bad")).to_have_count(2)
    expect(page.locator("#scan-log li.bad").last).to_have_text(reason_taken)
    expect(page.locator("#order-lines tr[data-sku=PHONE] .progress")).to_have_text("0 of 2")


def test_the_same_serial_twice_reads_alike_on_receive_and_pick(live_server, shop, page):
    """A second scan of the same label is neither a success nor a refusal, and the page
    names the serial once."""
    login(page, live_server)
    feedback = page.locator("#feedback")

    def scan_twice(saying):
        for expected in ("✔", "↺"):
            page.fill("#scan-input", imei(9))
            page.press("#scan-input", "Enter")
            expect(feedback).to_contain_text(expected)
        expect(feedback).to_have_class(re.compile(r"\binfo\b"))
        expect(feedback).to_contain_text(saying)
        assert feedback.inner_text().count(imei(9)) == 1

    page.goto(live_server + "/scan/receive")
    page.select_option("select[data-field=sku]", "PHONE")
    page.select_option("select[data-field=location]", "A1")
    scan_twice("Already received here.")
    page.goto(live_server + "/scan/pick/SO1")
    scan_twice("Already picked for SO1.")


def test_photo_upload_applies_every_code_in_it(live_server, shop, page):
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO3")
    photo = png(label([imei(2), imei(3)]))
    page.set_input_files("#photo-input", files=[{"name": "label.png", "mimeType": "image/png",
                                                 "buffer": photo}])
    log = page.locator("#scan-log")
    expect(log).to_contain_text("2 codes in the photo", timeout=20000)
    expect(log.locator("li.ok")).to_have_count(2)
    expect(page.locator("#order-lines tr[data-sku=PHONE] .progress")).to_have_text("2 of 3")
    for n in (2, 3):
        assert [e["source"] for e in events(shop, imei(n))] == ["photo"]


def test_photo_without_a_barcode_says_so(live_server, shop, page):
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    blank = png(label([]))
    page.set_input_files("#photo-input", files=[{"name": "blank.png", "mimeType": "image/png",
                                                 "buffer": blank}])
    feedback = page.locator("#feedback")
    expect(feedback).to_have_class(re.compile(r"\bbad\b"), timeout=20000)
    expect(feedback).to_contain_text(re.compile("no barcode", re.I))


@pytest.fixture
def camera_browser(playwright, chromium_path, tmp_path):
    """A Chromium whose (fake) camera films a label with imei(4) on it."""
    video = write_y4m(tmp_path / "label.y4m", code_image(imei(4)))
    b = launch(playwright, chromium_path, [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    yield b
    b.close()


def test_live_camera_scans_a_serial_into_an_order(live_server, shop, camera_browser):
    context = camera_browser.new_context(**PHONE, permissions=["camera"])
    context.set_default_timeout(15000)
    # Record the confirmations: vibrations and beeps.
    context.add_init_script("""
        window.__buzz = []; window.__beeps = [];
        navigator.vibrate = (p) => { window.__buzz.push(p); return true; };
        const make = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () {
            const osc = make.call(this);
            const start = osc.start.bind(osc);
            osc.start = (t) => { window.__beeps.push(osc.frequency.value); start(t); };
            return osc;
        };""")
    page = context.new_page()
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    frames = []
    page.on("request", lambda r: frames.append(r) if r.url.endswith("/api/decode") else None)
    page.click("#camera-start")
    expect(page.locator("#camera-box")).to_be_visible()
    expect(page.locator("#feedback")).to_have_text(re.compile(rf"✔ {imei(4)} PHONE: picked"),
                                                   timeout=20000)
    expect(page.locator("#order-lines tr[data-sku=PHONE] .progress")).to_have_text("1 of 2")
    expect(page.locator("body")).to_have_class(re.compile(r"\bflash-ok\b"))
    assert page.evaluate("window.__buzz") == [80]
    assert page.evaluate("window.__beeps") == [1760]
    # The code stays in view: frames keep going, but it is not sent again.
    page.wait_for_timeout(1500)
    assert len(frames) >= 3
    assert page.evaluate("window.__buzz") == [80]  # confirmed once, not per frame
    assert frames[-1].headers["content-type"].startswith("multipart/form-data")
    expect(page.locator("#scan-log li.bad")).to_have_count(0)
    assert [e["source"] for e in events(shop, imei(4))] == ["camera"]
    # A box was drawn where the code is.
    drawn = page.evaluate("""() => {
        const c = document.getElementById('camera-overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert drawn > 100
    page.click("#camera-stop")
    expect(page.locator("#camera-box")).to_be_hidden()
    context.close()
