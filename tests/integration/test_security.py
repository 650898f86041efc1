"""Issue 12: sessions that end on the server, login throttling, security headers and
cookies, private instance files, and purging old idempotency records."""
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from serialapp import auth, config
from serialapp.app import create_app
from serialapp.extensions import db
from serialapp.models import ApiToken, IdempotencyRecord, IdempotencyStep, User, utcnow

from .test_auth_and_pages import login


def _copy_cookies(source, target):
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def test_a_cookie_saved_before_logout_no_longer_logs_in(app, users):
    client = app.test_client()
    assert login(client, "picker").status_code == 302
    thief = app.test_client()
    _copy_cookies(client, thief)
    assert thief.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    r = thief.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert thief.get("/api/products").status_code == 401


def test_password_change_and_disabling_end_sessions_and_tokens(app, users):
    client = app.test_client()
    assert login(client, "picker").status_code == 302
    headers = {"Authorization": f"Bearer {users['picker']}"}
    assert client.get("/api/products", headers=headers).status_code == 200
    with app.app_context():
        auth.set_password(db.session.scalar(db.select(User).filter_by(name="picker")),
                          "new-secret-pw")
    assert client.get("/").status_code == 302
    assert app.test_client().get("/api/products", headers=headers).status_code == 401
    assert login(client, "picker", "new-secret-pw").status_code == 302

    manager = app.test_client()
    assert login(manager, "manager").status_code == 302
    with app.app_context():
        auth.disable_user(db.session.scalar(db.select(User).filter_by(name="manager")))
        # Enabling again revives neither the old session nor the old token.
        db.session.execute(db.update(User).where(User.name == "manager").values(active=True))
        db.session.commit()
    assert manager.get("/").status_code == 302
    r = app.test_client().get("/api/products",
                              headers={"Authorization": f"Bearer {users['manager']}"})
    assert r.status_code == 401


def test_remember_me_lasts_remember_days(app, users):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"name": "picker", "password": "secret-pw",
                                    "remember": "y", "csrf_token": csrf})
    cookie = client.get_cookie("remember_token")
    assert r.status_code == 302 and cookie is not None
    days = (cookie.expires.replace(tzinfo=None) - utcnow()).days
    assert 29 <= days <= 30


def _try(client, name, password, address):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf},
                       environ_base={"REMOTE_ADDR": address})


def test_logins_are_throttled_per_name_and_per_address(app, users):
    app.config.update(LOGIN_FAILURES_PER_NAME=3, LOGIN_FAILURES_PER_ADDRESS=5)
    client = app.test_client()
    for n in range(3):
        assert _try(client, "picker", "wrong", f"10.0.0.{n}").status_code == 200
    # The right password too is refused now, from any address: guessing gains nothing.
    r = _try(client, "picker", "secret-pw", "10.0.0.9")
    assert r.status_code == 429
    assert "Too many wrong passwords" in r.get_data(as_text=True)
    assert "Wait 15 minutes" in r.get_data(as_text=True)
    # Another name from a fresh address is not affected...
    assert _try(client, "manager", "secret-pw", "10.0.1.1").status_code == 302
    # ...but one address guessing many names is stopped (unknown names count too).
    for n in range(5):
        assert _try(client, f"nobody{n}", "wrong", "10.0.2.1").status_code == 200
    assert _try(client, "admin", "secret-pw", "10.0.2.1").status_code == 429
    assert _try(client, "admin", "secret-pw", "10.0.2.2").status_code == 302


def test_login_takes_as_long_for_unknown_names(app, users):
    with app.app_context():
        auth.check_login("picker", "warm-up")

        def timed(name):
            start = time.perf_counter()
            assert auth.check_login(name, "wrong-password") is None
            return time.perf_counter() - start
        known = statistics.median(timed("picker") for _ in range(5))
        unknown = statistics.median(timed("no-such-user") for _ in range(5))
    assert unknown > known * 0.5


def _run(app, *args, check=True):
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
           "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          capture_output=True, text=True, env=env, check=check)


def test_cli_disables_resets_lists_and_revokes(app, users):
    with app.app_context():
        picker_token = db.session.scalar(db.select(ApiToken.id).join(User)
                                         .where(User.name == "picker"))
    listing = _run(app, "tokens", "list", "picker").stdout
    assert f"{picker_token}\tactive" in listing
    assert "revoked token" in _run(app, "tokens", "revoke", str(picker_token)).stdout
    assert f"{picker_token}\trevoked" in _run(app, "tokens", "list", "picker").stdout
    client = app.test_client()
    assert client.get("/api/products", headers={
        "Authorization": f"Bearer {users['picker']}"}).status_code == 401

    _run(app, "users", "reset-password", "manager", "--password", "another-pw")
    assert login(app.test_client(), "manager", "another-pw").status_code == 302
    assert client.get("/api/products", headers={
        "Authorization": f"Bearer {users['manager']}"}).status_code == 401

    _run(app, "users", "disable", "admin")
    assert login(app.test_client(), "admin").status_code == 200
    assert client.get("/api/products", headers={
        "Authorization": f"Bearer {users['admin']}"}).status_code == 401
    missing = _run(app, "users", "disable", "nobody", check=False)
    assert missing.returncode == 1 and "no user nobody" in missing.stderr


def test_security_headers_on_pages_and_api(app, users):
    client = app.test_client()
    for path in ("/login", "/api/products", "/static/app.css"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"


def test_templates_hold_no_inline_script_or_style():
    """The CSP refuses inline code: any left in a template would silently stop working."""
    root = Path(__file__).resolve().parents[2] / "serialapp"
    # A <style> carrying the response's nonce is what the CSP allows (computed sizes).
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b(?![^>]*\bnonce=)|\sstyle=|"
                        r"\son[a-z]+=", re.I)
    found = [f"{path.relative_to(root)}: {match.group(0)}"
             for path in [*root.glob("templates/**/*.html"), *root.glob("static/*.html")]
             for match in inline.finditer(path.read_text())]
    assert found == []


def test_cookies_are_secure_over_https_and_behind_a_trusted_proxy(app, users):
    client = app.test_client()
    r = client.get("/login", base_url="https://shop.example")
    assert "Secure" in r.headers["Set-Cookie"]
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     r.get_data(as_text=True)).group(1)
    r = client.post("/login", base_url="https://shop.example", data={
        "name": "picker", "password": "secret-pw", "remember": "y", "csrf_token": csrf},
        headers={"Referer": "https://shop.example/login"})  # Flask-WTF checks it over https
    assert r.status_code == 302
    cookies = r.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") for c in cookies)
    assert all("Secure" in c for c in cookies)
    r = app.test_client().get("/login")
    assert "Secure" not in r.headers["Set-Cookie"]
    # X-Forwarded-Proto is believed only with TRUST_PROXY set.
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    r = app.test_client().get("/login", headers=forwarded)
    assert "Secure" not in r.headers["Set-Cookie"]
    proxied = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "SECRET_KEY": "test", "TESTING": True, "TRUST_PROXY": 1})
    r = proxied.test_client().get("/login", headers=forwarded)
    assert "Secure" in r.headers["Set-Cookie"]
    with proxied.app_context():
        db.engine.dispose()


def test_instance_folder_database_and_secret_key_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old = os.umask(0o022)
    try:
        instance = tmp_path / "instance"
        keys = []
        barrier = threading.Barrier(8)

        def start():
            barrier.wait()
            keys.append(config.load(str(instance))["SECRET_KEY"])
        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.umask(old)
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert (instance / "secret_key").read_text().strip() == keys[0]
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (instance / "serialapp.db").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in instance.iterdir()) == ["secret_key", "serialapp.db"]


def _old_and_new_records(app):
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).filter_by(name="picker"))
        long_ago = utcnow() - timedelta(days=31)
        for key, when in (("old", long_ago), ("new", utcnow() - timedelta(days=29))):
            db.session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint="f",
                                             status_code=200, body="{}", created_at=when))
            db.session.add_all(IdempotencyStep(user_id=user_id, key=key, step=n, result="{}")
                               for n in (-1, 0, 1))
        db.session.commit()


def _keys_left(app):
    with app.app_context():
        return (sorted(db.session.scalars(db.select(IdempotencyRecord.key))),
                sorted(set(db.session.scalars(db.select(IdempotencyStep.key)))))


def test_purge_command_deletes_records_older_than_30_days(app, users):
    _old_and_new_records(app)
    out = _run(app, "purge").stdout
    assert "purged 1 idempotency records, 3 steps" in out
    assert _keys_left(app) == (["new"], ["new"])


def test_old_records_are_purged_now_and_then_after_a_request(app, users):
    _old_and_new_records(app)
    app.config["PURGE_EVERY_REQUESTS"] = 0
    app.test_client().get("/login")
    assert _keys_left(app) == (["new", "old"], ["new", "old"])
    app.config["PURGE_EVERY_REQUESTS"] = 1
    assert app.test_client().get("/login").status_code == 200
    assert _keys_left(app) == (["new"], ["new"])
