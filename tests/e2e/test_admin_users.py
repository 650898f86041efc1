"""An admin manages users and API tokens from a phone (360x740): create a user (a short
password refused first), issue a token and copy it, see it listed and revoke it, reset
the password, disable the user. Each page keeps the phone rules. Screenshots of each step
go to $SERIALAPP_SHOTS when it is set, to look at."""
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD
from .test_back_office import PHONE_740, log_in, phone_rules


@pytest.fixture
def admin_phone(browser, live_server):
    ctx = browser.new_context(**PHONE_740)
    ctx.set_default_timeout(15000)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    yield ctx.new_page()
    ctx.close()


def shot(page, name):
    folder = os.environ.get("SERIALAPP_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"admin-{name}.png"), full_page=True)


def api_status(base, token) -> int:
    request = urllib.request.Request(base + "/api/products",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_admin_manages_users_and_tokens_from_a_phone(live_server, users, admin_phone):
    page, base = admin_phone, live_server
    log_in(page, base, "admin")
    page.locator(".areas a", has_text="Users").click()
    page.wait_for_url(base + "/admin/users")
    phone_rules(page)
    expect(page.locator("table.users")).to_contain_text("picker")
    shot(page, "1-list")

    # A short password: refused in words, beside the field, the name kept.
    page.fill("#name", "dana")
    page.select_option("#role", "manager")
    page.fill("#password", "short")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".field-error")).to_have_text("A password needs at least 6 characters.")
    expect(page.locator("#name")).to_have_value("dana")
    phone_rules(page)
    shot(page, "2-refused")
    page.fill("#password", "dana-pw-1")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash.ok")).to_have_text("dana can log in now, as a manager.")
    expect(page.locator("h1")).to_have_text("dana")
    phone_rules(page)

    # A token: shown once, copied with the button, and it works.
    page.get_by_role("button", name="Issue a new token").click()
    field = page.locator("#new-token")
    expect(field).to_be_visible()
    token = field.input_value()
    assert token.startswith("sa_")
    page.get_by_role("button", name="Copy the token").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    phone_rules(page)
    shot(page, "3-token")
    assert api_status(base, token) == 200

    # Listed (not shown again) once the page is opened anew; revoked, it stops working.
    page.goto(page.url.rsplit("/tokens", 1)[0])  # the user's page, opened anew
    expect(page.locator("#new-token")).to_have_count(0)
    row = page.locator("table.tokens tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash.ok")).to_contain_text("is revoked")
    expect(page.locator("table.tokens tbody tr")).to_contain_text("revoked")
    assert api_status(base, token) == 401
    shot(page, "4-revoked")

    # A new password: a too-short one refused, then set; dana logs in with it.
    page.fill("#password", "12345")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator(".field-error")).to_have_text("A password needs at least 6 characters.")
    page.fill("#password", "dana-pw-2")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator(".flash.ok")).to_contain_text("New password set for dana")

    # Disabled: behind a summary, so that it is not tapped by mistake.
    page.get_by_text("Disable dana…").click()
    page.get_by_role("button", name="Disable dana").click()
    expect(page.locator(".flash.ok")).to_contain_text("dana is disabled")
    expect(page.locator(".facts")).to_contain_text("disabled")
    phone_rules(page)
    shot(page, "5-disabled")
    page.locator(".areas a", has_text="Users").click()
    expect(page.locator("table.users tr", has_text="dana")).to_contain_text("disabled")
    shot(page, "6-list-after")

    # The admin cannot disable themselves from their own page: no such button there.
    page.get_by_role("link", name="admin", exact=True).click()
    expect(page.locator("h1")).to_have_text("admin")
    expect(page.get_by_text("Disable admin…")).to_have_count(0)
    assert PASSWORD  # the fixtures' users keep theirs
