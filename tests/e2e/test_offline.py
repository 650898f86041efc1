"""Offline: scans wait on the phone (IndexedDB), survive a reload, and land exactly once."""
import re

from playwright.sync_api import expect

from tests.factories import imei

from .barcodes import label, png
from .conftest import events, login


def open_controlled(page, url):
    """Open `url` once the service worker controls the page (so it is cached for offline)."""
    page.goto(url)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    page.goto(url)


def test_offline_scans_survive_a_reload_and_land_exactly_once(live_server, shop, context, page):
    login(page, live_server)
    open_controlled(page, live_server + "/scan/pick/SO3")
    context.set_offline(True)
    badge = page.locator("#queue-badge")
    for n in (1, 2, 3):
        page.fill("#scan-input", imei(n))
        page.press("#scan-input", "Enter")
        expect(badge).to_have_text(f"queued ({n})")
    expect(page.locator("#net-banner")).to_contain_text("Offline")
    expect(page.locator("#scan-log li.queued")).to_have_count(3)

    # The page comes from the service worker's copy; the scans are still there.
    page.reload()
    expect(page.locator("h1")).to_have_text("Pick SO3")
    expect(badge).to_have_text("queued (3)")
    expect(page.locator("#scan-log li.queued")).to_have_count(3)
    for n in (1, 2, 3):
        assert events(shop, imei(n)) == []

    context.set_offline(False)
    expect(badge).to_be_hidden(timeout=20000)
    expect(page.locator("#scan-log li.ok")).to_have_count(3)
    expect(page.locator("#order-lines tr[data-sku=PHONE] .progress")).to_have_text("3 of 3")
    # Another reload: nothing is sent again.
    page.reload()
    page.wait_for_timeout(500)
    expect(badge).to_be_hidden()
    for n in (1, 2, 3):
        picks = events(shop, imei(n))
        assert len(picks) == 1, picks
        assert picks[0]["order"] == "SO3"


def test_a_lost_answer_is_retried_with_the_same_key(live_server, shop, context, page):
    """The request reaches the server but the answer never comes back (flaky Wi-Fi): the scan
    stays queued, the retry re-uses its Idempotency-Key, and the pick happens once."""
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    keys = []
    dropped = []

    def flaky(route):
        keys.append(route.request.headers.get("idempotency-key"))
        response = route.fetch()            # the server does the work...
        if not dropped:
            dropped.append(response.status)
            route.abort("connectionreset")  # ...but the first answer is lost on the way
        else:
            route.fulfill(response=response)

    context.route("**/api/pick", flaky)
    page.fill("#scan-input", imei(5))
    page.press("#scan-input", "Enter")
    expect(page.locator("#scan-log li.queued")).to_have_count(1)
    expect(page.locator("#feedback")).to_have_text(re.compile(rf"✔ {imei(5)} PHONE: picked"),
                                                   timeout=20000)
    assert dropped == [200]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert len(events(shop, imei(5))) == 1
    expect(page.locator("#scan-log li.bad")).to_have_count(0)


def test_a_photo_taken_offline_is_kept_with_its_image_and_sent_later(live_server, shop, context,
                                                                      page):
    login(page, live_server)
    open_controlled(page, live_server + "/scan/pick/SO1")
    context.set_offline(True)
    page.set_input_files("#photo-input", files=[{
        "name": "label.png", "mimeType": "image/png", "buffer": png(label([imei(6)]))}])
    expect(page.locator("#queue-badge")).to_have_text("queued (1)")
    page.reload()
    expect(page.locator("#queue-badge")).to_have_text("queued (1)")
    context.set_offline(False)
    expect(page.locator("#queue-badge")).to_be_hidden(timeout=20000)
    expect(page.locator("#scan-log li.ok")).to_have_count(1)
    assert [e["source"] for e in events(shop, imei(6))] == ["photo"]


def test_queued_scans_answered_on_another_page_are_reported_there(live_server, shop, context,
                                                                  page):
    login(page, live_server)
    open_controlled(page, live_server + "/scan/pick/SO1")
    context.set_offline(True)
    for text in (imei(1), "NOPE-1"):
        page.fill("#scan-input", text)
        page.press("#scan-input", "Enter")
    expect(page.locator("#queue-badge")).to_have_text("queued (2)")
    page.goto(live_server + "/")  # the start page, from the service worker's copy
    expect(page.locator("#queue-badge")).to_have_text("queued (2)")
    context.set_offline(False)
    report = page.locator("#sent-report")
    expect(report.locator("li.ok")).to_have_text(re.compile(rf"✔ {imei(1)} PHONE: picked"),
                                                 timeout=20000)
    expect(report.locator("li.bad")).to_contain_text("NOPE-1")
    expect(page.locator("#queue-badge")).to_be_hidden()
    assert len(events(shop, imei(1))) == 1


def test_coming_back_online_while_the_queue_is_being_tried_sends_it_at_once(live_server, shop,
                                                                            context, page):
    """The phone's connection returns while the outbox is still finishing a try it began
    offline (say the page was just opened): the scan goes then, not at the next safety poll
    20 s later. CI once caught this order of events by chance; here it is made to happen:
    the first try's Web Lock is held open until the phone is back online."""
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    context.set_offline(True)
    page.fill("#scan-input", imei(1))
    page.press("#scan-input", "Enter")
    badge = page.locator("#queue-badge")
    expect(badge).to_have_text("queued (1)")
    page.evaluate("""() => {
        const locks = navigator.locks, real = locks.request.bind(locks);
        window.__held = new Promise((go) => { window.__go = go; });
        let first = true;
        locks.request = (name, fn) => {
            if (!first) return real(name, fn);
            first = false;
            return real(name, fn).then(async (value) => {
                window.__tried = true;
                await window.__held;
                return value;
            });
        };
        // Added after the outbox's own listener, so it hears the event after the outbox did.
        window.addEventListener("online", () => { window.__online = true; });
        window.serialappOutbox.flush();
    }""")
    page.wait_for_function("window.__tried === true")  # that try found the phone offline
    context.set_offline(False)
    page.wait_for_function("window.__online === true")  # it asked for another try mid-way
    page.evaluate("window.__go()")
    expect(badge).to_be_hidden(timeout=5000)
    assert len(events(shop, imei(1))) == 1
