"""Phone-size screenshots of the main pages, for docs/pwa.md.

    .venv/bin/python docs/screenshots/make_screenshots.py

Runs the app on a throw-away database with the demo data, drives Debian's Chromium
(headless, 360x640 CSS pixels at 2x, with a fake camera filming a demo label) and writes
PNGs next to this file.
"""
import shutil
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from serialapp import identifiers
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402
from tests.e2e.barcodes import code_image, write_y4m  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, find_chromium  # noqa: E402

PASSWORD = "demo1234"


def demo_imei(n: int) -> str:
    body = f"35345678901{n:03d}"
    return body + identifiers.luhn_check_digit(body)


def serve(tmp: Path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'demo.db'}",
                      "SECRET_KEY": "screenshots"})
    with app.app_context():
        from flask_migrate import upgrade

        from serialapp.seed import seed_demo
        upgrade()
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium is needed: apt-get install chromium")
    tmp = Path(tempfile.mkdtemp(prefix="serialapp-shots-"))
    server, base = serve(tmp)
    video = write_y4m(tmp / "label.y4m", code_image(demo_imei(1)), size=(960, 720))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS + [
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}"])
            context = browser.new_context(**PHONE, permissions=["camera"])
            context.set_default_timeout(20000)
            page = context.new_page()

            def shot(name):
                page.wait_for_timeout(1000)  # let the green/red flash fade
                page.screenshot(path=str(HERE / f"{name}.png"))
                print("wrote", name + ".png")

            page.goto(base + "/login")
            page.fill("#name", "manager")
            page.fill("#password", PASSWORD)
            shot("login")
            page.click("form button.primary")
            page.wait_for_url(base + "/")
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            shot("home")

            # Receive: two new phones typed (as a wedge scanner would), one duplicate.
            page.goto(base + "/scan/receive")
            page.select_option("select[data-field=purchase_order]", "PO-1001")
            page.select_option("#sku", "PHONE-X1")
            for text in (demo_imei(4), demo_imei(5), demo_imei(1)):
                page.fill("#scan-input", text)
                page.press("#scan-input", "Enter")
                page.wait_for_timeout(300)
            expect(page.locator("#scan-log li")).to_have_count(3)
            page.evaluate("document.getElementById('scan-form').scrollIntoView()")
            shot("receive")

            page.goto(base + "/scan/pick")
            shot("pick-orders")

            # Pick with the live camera: the fake camera films demo phone 1's label.
            page.goto(base + "/scan/pick/SO-2001")
            page.click("#camera-start")
            expect(page.locator("#feedback")).to_contain_text("picked")
            page.wait_for_timeout(600)
            shot("pick-camera")
            page.click("#camera-stop")
            page.fill("#scan-input", demo_imei(9))
            page.press("#scan-input", "Enter")
            expect(page.locator("#feedback")).to_contain_text("✘")
            page.fill("#scan-input", "LT00000001")
            page.press("#scan-input", "Enter")
            expect(page.locator("#order-lines tr[data-sku='LAPTOP-14'] .progress")).to_have_text("1 of 1")
            page.evaluate("document.querySelector('h1').scrollIntoView()")
            shot("pick")

            # Offline: scans wait on the phone.
            context.set_offline(True)
            page.reload()
            for text in (demo_imei(2), demo_imei(3)):
                page.fill("#scan-input", text)
                page.press("#scan-input", "Enter")
            expect(page.locator("#queue-badge")).to_have_text("queued (2)")
            page.evaluate("document.querySelector('h1').scrollIntoView()")
            shot("pick-offline")
            context.set_offline(False)
            expect(page.locator("#queue-badge")).to_be_hidden()

            page.goto(base + "/scan/ship")
            page.fill("#scan-input", "SO-2001")
            page.press("#scan-input", "Enter")
            page.wait_for_timeout(800)
            shot("ship")

            page.goto(base + "/scan/lookup")
            shot("lookup")
            page.goto(base + f"/serials/{demo_imei(1)}")
            shot("serial")
            page.goto(base + "/products")
            shot("stock")
            page.goto(base + "/products/PHONE-X1")
            shot("product")

            # A phone on plain http from the LAN: no live camera, photo offered instead.
            insecure = browser.new_context(**PHONE)
            insecure.add_init_script(
                "Object.defineProperty(window, 'isSecureContext', {value: false})")
            page = insecure.new_page()
            page.goto(base + "/login")
            page.fill("#name", "picker")
            page.fill("#password", PASSWORD)
            page.click("form button.primary")
            page.wait_for_url(base + "/")
            page.goto(base + "/scan/move")
            page.evaluate("document.getElementById('scan-form').scrollIntoView()")
            shot("http-no-camera")
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
