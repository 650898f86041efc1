"""Expected serials in a real browser, at 360x740 and at desktop size: a manager attaches
the supplier's EPCIS document on the purchase order's page, the picker receives against it
(a suspect unit in red with its reason, a case received whole after confirming), and the
order's page and the printable receiving report show expected, received, missing and
suspect. Screenshots go to $SERIALAPP_SHOTS when it is set (docs/screenshots has some)."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import epcisgen as gen
from tests.factories import setup_shop

from .conftest import PASSWORD, login

MED = "09506000134352"
CASE = gen.sscc(1)
SIZES = {"phone": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True},
         "desktop": {"viewport": {"width": 1280, "height": 900}}}


def shot(page, name: str, at: str | None = None) -> None:
    """The screen as the person sees it, scrolled to `at`; and the whole page beside it."""
    folder = os.environ.get("SERIALAPP_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1000)  # past the answer's flash
        page.screenshot(path=str(Path(folder) / f"{name}-full.png"), full_page=True)
        if at:
            page.evaluate("(sel) => document.querySelector(sel).scrollIntoView()", at)
            page.evaluate("window.scrollBy(0, -120)")
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.fixture
def po_med(manager):
    setup_shop(manager)
    assert manager.post("/purchase-orders", {"number": "PO-MED", "supplier": "Acme Pharma",
                                             "lines": [{"sku": "MED", "qty": 8}]}
                        ).status_code == 201
    return manager


def document(tmp_path) -> Path:
    ship = gen.Shipment(packs=[gen.Pack(MED, f"LOOSE{n}", "L1", "2027-01-31") for n in (1, 2)],
                        cases={CASE: [gen.Pack(MED, f"C1P{n}", "L2", "2027-02-28")
                                      for n in (1, 2, 3)]})
    path = tmp_path / "asn-0504.xml"
    path.write_bytes(gen.epcis_xml(ship))
    return path


@pytest.mark.parametrize("size", sorted(SIZES))
def test_attach_receive_and_report(live_server, po_med, browser, tmp_path, size):
    context = browser.new_context(locale="en-GB", **SIZES[size])
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        # The manager attaches the supplier's EPCIS document on the order's page.
        login(page, live_server, "manager", PASSWORD)
        page.goto(live_server + "/purchase-orders/PO-MED")
        expect(page.locator(".expected")).to_contain_text("No list from the supplier yet")
        page.set_input_files("form.attach input[type=file]", str(document(tmp_path)))
        page.click("form.attach button")
        expect(page.locator(".flash.ok")).to_have_text(
            "asn-0504.xml: 5 serials in 1 case expected on PO-MED.")
        counts = page.locator(".expected-counts")
        expect(counts).to_contain_text("5expected")
        shot(page, f"po-attached-{size}")

        # Receiving: a listed unit, a stranger (red, with the reason), the case.
        page.goto(live_server + "/scan/receive?po=PO-MED")
        page.select_option("select[data-field=location]", "A1")
        feedback = page.locator("#feedback")
        page.fill("#scan-input", f"(01){MED}(21)LOOSE1")
        page.press("#scan-input", "Enter")
        expect(feedback).to_have_text(re.compile(r"✔ LOOSE1 MED: in stock"))
        page.fill("#scan-input", f"(01){MED}(21)STRANGER")
        page.press("#scan-input", "Enter")
        expect(feedback).to_have_class(re.compile(r"\bbad\b"))
        expect(feedback).to_have_text(
            "⚠ STRANGER MED: SUSPECT. Not on the supplier list for PO-MED: quarantined as "
            "suspect, so set it aside for a manager.")
        expect(page.locator("#scan-log li.bad").first).to_have_css(
            "background-color", "rgb(176, 0, 32)")
        shot(page, f"receive-suspect-{size}", "#feedback")
        page.fill("#scan-input", f"(00){CASE}")
        page.press("#scan-input", "Enter")
        case = page.locator("#scan-log li.case").first
        expect(case).to_contain_text(f"Case {CASE} on PO-MED holds 3 (3 of MED)")
        expect(case.locator(".case-packs li")).to_have_count(3)
        assert po_med.get("/serials/C1P1?sku=MED").status_code == 404  # not yet
        shot(page, f"receive-case-{size}", "#feedback")
        case.locator("button.case-confirm").click()
        opened = page.locator("#scan-log li.case.opened").first
        expect(opened.locator(".case-packs li.ok")).to_have_count(3)
        expect(feedback).to_have_text(f"Case {CASE} opened: 3 received (3 of MED).")
        shot(page, f"receive-opened-{size}", "#feedback")

        # The order's page: expected, received, missing, suspect; the report prints.
        page.goto(live_server + "/purchase-orders/PO-MED")
        expect(counts).to_contain_text("5expected")
        expect(counts).to_contain_text("4received")
        expect(counts).to_contain_text("1missing")
        expect(counts).to_contain_text("1suspect")
        expect(page.locator("table.suspects")).to_contain_text("STRANGER")
        expect(page.locator("table.missing")).to_contain_text("LOOSE2")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, "the order's page scrolls sideways"
        shot(page, f"po-expected-{size}", ".expected")
        with page.expect_download() as download:
            page.click("text=Report as CSV")
        text = Path(download.value.path()).read_text()
        assert text.splitlines()[0].startswith("state,sku,gtin,serial")
        page.click("text=Receiving report")
        expect(page.locator("h1")).to_have_text("Receiving report · PO-MED")
        expect(page.locator(".report-rows tr.state-suspect")).to_contain_text("STRANGER")
        page.emulate_media(media="print")
        expect(page.locator("button[data-print]")).to_be_hidden()
        expect(page.locator("nav.areas")).to_be_hidden()
        shot(page, f"receiving-report-print-{size}")
        page.emulate_media(media="screen")

        # One search answers a regulator: TI, TS, the document.
        page.goto(live_server + f"/transactions?q=(01){MED}(21)C1P2")
        expect(page.locator(".transaction")).to_contain_text("Seller has complied")
        expect(page.locator(".transaction")).to_contain_text("Acme Pharma Distribution")
        shot(page, f"transactions-{size}")
        with page.expect_download() as download:
            page.click("text=Download the document")
        assert Path(download.value.path()).read_bytes() == document(tmp_path).read_bytes()
    finally:
        context.close()
