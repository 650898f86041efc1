"""A refusal is final: shown with its reason, and the queue moves on. Only what the server
did not decide (network, 5xx, Retry-After) is retried, after the delay it asked for."""
from playwright.sync_api import expect

from tests.factories import imei

from .conftest import PHONE, events, login


def pick_all(api, order, serials):
    r = api.post("/pick", {"order": order, "serials": serials})
    assert all(x["ok"] for x in r.get_json()["results"]), r.get_json()


def next_scan_goes_through(page, base, serial, order="SO1"):
    """The scan after a refusal is answered at once, not queued behind it."""
    page.goto(f"{base}/scan/pick/{order}")
    page.fill("#scan-input", serial)
    page.press("#scan-input", "Enter")
    expect(page.locator("#scan-log li").first).to_contain_text(f"✔ {serial}")
    expect(page.locator("#queue-badge")).to_be_hidden()
    expect(page.locator("#net-banner")).to_be_hidden()


def test_double_tap_on_ship_ships_once_and_the_queue_moves_on(live_server, shop, page):
    pick_all(shop, "SO3", [imei(1), imei(2), imei(3)])
    login(page, live_server)
    page.goto(live_server + "/scan/ship")
    page.locator(".ship-form[data-order=SO3] button").dblclick()
    expect(page.locator("#feedback")).to_contain_text("Order SO3 shipped")
    for n in (1, 2, 3):
        assert len(events(shop, imei(n), "ship")) == 1
    # Two ship requests that got past the button anyway (an older page, two tabs): the
    # second is refused as final, said in words, and nothing waits behind it.
    assert shop.post("/sales-orders", {"number": "SO4", "customer": "C1",
                                       "lines": [{"sku": "PHONE", "qty": 1}]}).status_code == 201
    pick_all(shop, "SO4", [imei(4)])
    answers = page.evaluate("""async () => {
        const o = window.serialappOutbox;
        const spec = {endpoint: "/api/ship", body: {order: "SO4"}, label: "ship SO4"};
        return Promise.all([o.submit(Object.assign({}, spec)), o.submit(Object.assign({}, spec))]);
    }""")
    statuses = sorted(a["status"] for a in answers)
    assert statuses == [200, 409], answers
    refused = next(a for a in answers if a["status"] == 409)
    assert "already shipped" in refused["body"]["error"]["message"]
    next_scan_goes_through(page, live_server, imei(5))


def test_ship_on_a_partly_picked_order_says_why_and_the_next_scan_goes(live_server, shop, page):
    pick_all(shop, "SO3", [imei(1)])
    login(page, live_server)
    page.goto(live_server + "/scan/ship")
    page.locator(".ship-form[data-order=SO3] button").click()
    feedback = page.locator("#feedback")
    expect(feedback).to_contain_text("not fully picked")
    expect(feedback).to_have_class("feedback bad")
    expect(page.locator("#net-banner")).to_be_hidden()
    expect(page.locator("#queue-badge")).to_be_hidden()
    # The button works again: ship what is picked, as a partial shipment.
    page.locator(".ship-form[data-order=SO3] input[name=partial]").check()
    page.locator(".ship-form[data-order=SO3] button").click()
    expect(feedback).to_contain_text("Order SO3 shipped")
    next_scan_goes_through(page, live_server, imei(4))


def test_an_order_shipped_by_another_picker_is_refused_in_words(live_server, shop, browser):
    pick_all(shop, "SO3", [imei(1), imei(2), imei(3)])
    first = browser.new_context(**PHONE).new_page()
    second = browser.new_context(**PHONE).new_page()
    login(first, live_server)
    login(second, live_server)
    first.goto(live_server + "/scan/ship")
    second.goto(live_server + "/scan/ship")
    second.locator(".ship-form[data-order=SO3] button").click()
    expect(second.locator("#feedback")).to_contain_text("Order SO3 shipped")
    first.locator(".ship-form[data-order=SO3] button").click()
    expect(first.locator("#feedback")).to_contain_text("already shipped")
    expect(first.locator("#net-banner")).to_be_hidden()
    next_scan_goes_through(first, live_server, imei(4))
    first.context.close()
    second.context.close()


def test_busy_answers_are_retried_after_the_delay_the_server_asks(live_server, shop, page):
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    seen = []

    def busy_once(route):
        seen.append(route.request.headers.get("idempotency-key"))
        if len(seen) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                          body='{"error": {"code": "busy", "message": "Busy."}}')
        else:
            route.continue_()
    page.route("**/api/pick", busy_once)
    page.fill("#scan-input", imei(1))
    page.press("#scan-input", "Enter")
    expect(page.locator("#net-banner")).to_contain_text("busy")
    expect(page.locator("#scan-log li.ok")).to_have_count(1, timeout=10000)
    assert len(seen) == 2 and seen[0] == seen[1]  # the same key, sent again
    assert len(events(shop, imei(1))) == 1


def test_a_scan_the_server_keeps_failing_on_is_set_aside_not_lost(live_server, shop, context):
    context.add_init_script("window.serialappOutboxRetryMs = 100")
    page = context.new_page()
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO3")

    def fail_first_serial(route):
        if imei(1) in (route.request.post_data or ""):
            route.fulfill(status=500, content_type="text/html", body="<h1>Internal error</h1>")
        else:
            route.continue_()
    page.route("**/api/pick", fail_first_serial)
    for n in (1, 2):
        page.fill("#scan-input", imei(n))
        page.press("#scan-input", "Enter")
    # The failing scan is set aside; the one after it is not held up.
    expect(page.locator("#scan-log li.ok")).to_have_count(1, timeout=15000)
    badge = page.locator("#queue-badge")
    expect(badge).to_have_text("1 set aside")
    badge.click()
    item = page.locator("#queue-list li.failed")
    expect(item).to_contain_text(imei(1))
    page.unroute("**/api/pick")
    item.get_by_role("button", name="Try again").click()
    expect(badge).to_be_hidden(timeout=10000)
    assert len(events(shop, imei(1))) == 1 and len(events(shop, imei(2))) == 1


def test_a_person_can_see_every_queued_scan_and_discard_one(live_server, shop, context):
    page = context.new_page()
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO3")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    context.set_offline(True)
    for n in (1, 2):
        page.fill("#scan-input", imei(n))
        page.press("#scan-input", "Enter")
    badge = page.locator("#queue-badge")
    expect(badge).to_have_text("queued (2)")
    badge.click()
    items = page.locator("#queue-list li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(f"Pick: {imei(1)}")
    page.once("dialog", lambda d: d.accept())
    items.nth(0).get_by_role("button", name="Discard").click()
    expect(items).to_have_count(1)
    expect(page.locator("#scan-log li.bad").first).to_contain_text(f"{imei(1)}: discarded")
    expect(badge).to_have_text("queued (1)")
    context.set_offline(False)
    expect(badge).to_be_hidden(timeout=20000)
    assert events(shop, imei(1)) == []
    assert len(events(shop, imei(2))) == 1
