"""The app as a PWA: installable, phone-sized pages, and honest about the camera on http."""
import pytest
from playwright.sync_api import expect

from tests.factories import imei

from .conftest import CHROMIUM_ARGS, PHONE, login

PAGES = ["/", "/scan/receive", "/scan/move", "/scan/pick", "/scan/pick/SO1", "/scan/ship",
         "/scan/lookup", "/products", "/products/PHONE", "/search?q=A", "/search",
         "/customers/C1", "/admin/import", "/admin/downloads"]


def test_the_app_is_installable(live_server, users, playwright, chromium_path, tmp_path):
    # A persistent profile: Chromium never offers to install from an incognito context,
    # which is what an ordinary Playwright context is.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_path, headless=True,
        args=CHROMIUM_ARGS, **PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        login(page, live_server)
        page.wait_for_function(
            "navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        manifest = page.evaluate("""async () => {
            const link = document.querySelector('link[rel=manifest]');
            return (await fetch(link.href)).json(); }""")
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
        assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_phone_without_sideways_scrolling(live_server, shop, page, path):
    login(page, live_server, "manager")
    page.goto(live_server + path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide"
    # Every button and link meant for a thumb is at least 44 px tall.
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
            'main button, main .button, main .tool, .tiles a, .choices a, main input, main select'))
        .filter(e => e.offsetParent !== null && e.type !== 'checkbox'
                     && e.getBoundingClientRect().height < 44)
        .map(e => e.outerHTML.slice(0, 80))""")
    assert small == []


def test_on_plain_http_from_another_host_the_page_explains_and_offers_photo(
        live_server, shop, context, page):
    # A phone opening http://<LAN address>: the browser says "not a secure context".
    context.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    login(page, live_server)
    page.goto(live_server + "/scan/pick/SO1")
    expect(page.locator("#camera-start")).to_be_hidden()
    note = page.locator("#camera-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("https")
    expect(note).to_contain_text("Photo")
    expect(page.locator("#photo-button")).to_be_visible()


def test_scanning_an_order_number_on_the_ship_page_brings_it_up(live_server, shop, page):
    # The Ship page lists orders with picked units waiting, so SO2 gets one.
    assert shop.post("/pick", {"order": "SO2", "serials": [imei(6)]}).status_code == 200
    login(page, live_server)
    page.goto(live_server + "/scan/ship")
    page.fill("#scan-input", "so2")
    page.press("#scan-input", "Enter")
    expect(page.locator(".ship-order.target h2")).to_contain_text("SO2")
    expect(page.locator("#feedback")).to_contain_text("Order SO2")
