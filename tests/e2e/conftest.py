"""Real-browser tests: Playwright's sync API driving Debian's Chromium, headless, at phone size.

Chromium is found at $SERIALAPP_CHROMIUM, /usr/bin/chromium or on the PATH. Without it the
tests are skipped with a note on how to install it; in CI (the CI variable is set) they fail.
"""
import os
import shutil
from pathlib import Path

import pytest

from tests.factories import imei, setup_shop

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}
PASSWORD = "secret-pw"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


def find_chromium() -> str | None:
    for candidate in (os.environ.get("SERIALAPP_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path():
    path = find_chromium()
    if path is None:
        message = ("The browser tests need Chromium: install it with `apt-get install chromium` "
                   "(or set SERIALAPP_CHROMIUM to a Chromium binary).")
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI. " + message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def playwright(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - it is in requirements-dev.txt
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed: pip install -r requirements-dev.txt")
        pytest.skip("playwright is not installed: pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        yield p


def launch(playwright, chromium_path, extra_args=()):
    return playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                      args=CHROMIUM_ARGS + list(extra_args))


@pytest.fixture(scope="session")
def browser(playwright, chromium_path):
    b = launch(playwright, chromium_path)
    yield b
    b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(**PHONE)
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def login(page, base: str, name: str = "picker", password: str = PASSWORD) -> None:
    """Through the real login page, as a person would."""
    page.goto(base + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form button.primary")
    page.wait_for_url(base + "/")


@pytest.fixture
def shop(manager):
    """The factories' shop, six phones in stock at A1, and SO3 wanting three of them."""
    setup_shop(manager)
    r = manager.post("/receive", {"location": "A1", "sku": "PHONE",
                                  "serials": [imei(n) for n in range(1, 7)]})
    assert r.status_code == 200 and all(x["ok"] for x in r.get_json()["results"])
    assert manager.post("/sales-orders", {"number": "SO3", "customer": "C1",
                                          "lines": [{"sku": "PHONE", "qty": 3}]}
                        ).status_code == 201
    return manager


def events(api, serial: str, kind: str = "pick") -> list[dict]:
    history = api.get(f"/serials/{serial}").get_json()["history"]
    return [e for e in history if e["type"] == kind]
