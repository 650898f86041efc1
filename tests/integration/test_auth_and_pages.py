"""Roles on every endpoint, tokens, CSRF for cookie sessions, and the wedge pages."""
import re
import subprocess
import sys

import pytest

from tests.factories import imei, setup_shop


def login(client, name, password="secret-pw"):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def csrf_of(client, path="/"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def test_api_needs_a_valid_token(app):
    client = app.test_client()
    r = client.get("/api/products")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = client.get("/api/products", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


@pytest.mark.parametrize("path,body", [
    ("/products", {"sku": "S", "name": "n"}),
    ("/locations", {"code": "L"}),
    ("/customers", {"code": "C", "name": "n"}),
    ("/purchase-orders", {"number": "P", "supplier": "s", "lines": [{"sku": "PHONE", "qty": 1}]}),
    ("/sales-orders", {"number": "S", "customer": "C1", "lines": [{"sku": "PHONE", "qty": 1}]}),
    ("/return", {"serials": ["x"], "reason": "r", "disposition": "scrap"}),
    ("/quarantine", {"serials": ["x"]}),
    ("/scrap", {"serials": ["x"]}),
])
def test_pickers_cannot_do_managers_work(manager, picker, path, body):
    setup_shop(manager)
    r = picker.post(path, body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


def test_tokens_are_stored_hashed(app, users):
    from serialapp.extensions import db
    from serialapp.models import ApiToken, User
    with app.app_context():
        stored = [t.token_hash for t in db.session.query(ApiToken)]
        assert users["picker"] not in stored and all(len(h) == 64 for h in stored)
        assert all(u.password_hash.startswith(("scrypt:", "pbkdf2:"))
                   for u in db.session.query(User))


def test_cli_creates_users_and_prints_token_last(app, tmp_path):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
           "PATH": "/usr/bin:/bin"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                                       capture_output=True, text=True, env=env, check=True)
    run("users", "create", "sam", "--role", "manager", "--password", "pw-123456")
    token = run("tokens", "issue", "sam").stdout.strip().splitlines()[-1]
    r = app.test_client().post("/api/locations", json={"code": "CLI"},
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201


def test_session_post_needs_csrf_but_bearer_does_not(app, manager, users):
    setup_shop(manager)
    client = app.test_client()
    assert login(client, "picker").status_code == 302
    body = {"location": "A1", "sku": "PHONE", "serials": [imei(1)]}
    r = client.post("/api/receive", json=body)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/receive", json=body, headers={"X-CSRFToken": csrf_of(client)})
    assert r.get_json()["results"][0]["ok"] is True
    history = manager.get(f"/serials/{imei(1)}").get_json()["history"]
    assert history[0]["user"] == "picker"


def test_login_cookie_flags_and_bad_password(app, users):
    client = app.test_client()
    r = login(client, "picker", "wrong")
    assert r.status_code == 200 and "Wrong name or password" in r.get_data(as_text=True)
    r = login(client, "picker")
    cookie = r.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_form_without_csrf_is_refused(app, users):
    client = app.test_client()
    r = client.post("/login", data={"name": "picker", "password": "secret-pw"})
    assert r.status_code in (200, 400)
    assert client.get("/").status_code == 302  # still not logged in


def test_pages_need_login_and_role(app, manager, users):
    client = app.test_client()
    assert client.get("/scan/pick").headers["Location"].startswith("/login")
    login(client, "picker")
    assert client.get("/scan/return").status_code == 403
    assert "needs the manager role" in client.get("/scan/return").get_data(as_text=True)


def test_home_leads_a_manager_to_the_answers_and_a_picker_to_the_scans(app, users):
    picker, boss = app.test_client(), app.test_client()
    login(picker, "picker")
    login(boss, "manager")
    picker_home, manager_home = (c.get("/").get_data(as_text=True) for c in (picker, boss))
    for path in ("/recall", "/reports", "/warranty", "/book", "/admin/import"):
        assert f'href="{path}"' in manager_home, path
        assert f'href="{path}"' not in picker_home, path
        assert boss.get(path).status_code == 200, path
    assert 'href="/scan/receive"' in picker_home


def test_wedge_pages_render_with_a_focused_field(app, manager, users):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "serials": [imei(1)]})
    client = app.test_client()
    login(client, "picker")
    for path in ("/scan/receive", "/scan/move", "/scan/pick/SO1"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="scan-input"' in page and "autofocus" in page, path
    page = client.get("/scan/pick/SO1").get_data(as_text=True)
    assert "0 of 2" in page
    page = client.get(f"/serials/{imei(1)}").get_data(as_text=True)
    assert "in stock" in page and "receive" in page
    assert client.get("/serials/NOPE").status_code == 404
    assert "PHONE" in client.get("/products").get_data(as_text=True)
    r = client.get(f"/scan/lookup?q={imei(1)}")
    assert r.status_code == 302 and imei(1) in r.headers["Location"]


def test_unknown_page_is_readable_not_a_traceback(app, users):
    client = app.test_client()
    login(client, "picker")
    r = client.get("/scan/pick/NOPE")
    assert r.status_code == 404 and "There is no sales order NOPE" in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
