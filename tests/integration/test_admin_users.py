"""The admin's users page (/admin/users): create, disable and reset users; issue, list and
revoke API tokens. The same service functions as the CLI (auth.py), so a disabled user's
or a new password's sessions and tokens end the same way."""
import re

from sqlalchemy import select

from serialapp.extensions import db
from serialapp.models import ApiToken, User
from tests.integration.test_auth_and_pages import login


def form_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def admin_client(app):
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    return client


def user_id(app, name):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.name == name))


def post(client, path, data=None, page=None):
    """Post a form from `page` (default: the path's own page), with its CSRF token."""
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={**(data or {}), "csrf_token": form_token(html)})


def api_status(app, token):
    return app.test_client().get("/api/products", headers={
        "Authorization": f"Bearer {token}"}).status_code


def test_only_admins_see_and_reach_the_page(app, users):
    admin = admin_client(app)
    home = admin.get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in home
    page = admin.get("/admin/users").get_data(as_text=True)
    for name, role in (("admin", "admin"), ("manager", "manager"), ("picker", "picker")):
        assert re.search(rf">{name}</a></td>\s*<td>{role}</td><td>active</td>", page), name
    for name in ("manager", "picker"):
        client = app.test_client()
        login(client, name)
        assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True)
        assert client.get("/admin/users").status_code == 403
        assert client.get(f"/admin/users/{user_id(app, 'picker')}").status_code == 403
    assert app.test_client().get("/admin/users").status_code == 302  # to the login page


def test_create_a_user_with_readable_refusals(app, users):
    admin = admin_client(app)
    r = post(admin, "/admin/users", {"name": "picker", "role": "picker",
                                     "password": "long-enough"})
    assert r.status_code == 400
    assert "There is already a user named picker." in r.get_data(as_text=True)
    r = post(admin, "/admin/users", {"name": "dana", "role": "picker", "password": "short"})
    assert r.status_code == 400
    assert "A password needs at least 6 characters." in r.get_data(as_text=True)
    assert 'value="dana"' in r.get_data(as_text=True)  # what was typed stays
    r = post(admin, "/admin/users", {"name": "  ", "role": "picker", "password": "long-enough"})
    assert r.status_code == 400 and "Give the user a name." in r.get_data(as_text=True)
    r = post(admin, "/admin/users", {"name": "dana", "role": "boss", "password": "long-enough"})
    assert r.status_code == 400 and "Not a valid choice" in r.get_data(as_text=True)
    assert user_id(app, "dana") is None

    r = post(admin, "/admin/users", {"name": " dana ", "role": "manager",
                                     "password": "dana-pw-1"})
    assert r.status_code == 302 and r.headers["Location"] == f"/admin/users/{user_id(app, 'dana')}"
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "dana can log in now, as a manager." in page
    assert login(app.test_client(), "dana", "dana-pw-1").status_code == 302


def test_issue_a_token_shown_once_list_it_and_revoke_it(app, users):
    admin = admin_client(app)
    picker = user_id(app, "picker")
    r = post(admin, f"/admin/users/{picker}/tokens", page=f"/admin/users/{picker}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    page = r.get_data(as_text=True)
    assert "shown only this once" in page and 'data-copy="#new-token"' in page
    token = re.search(r'id="new-token"[^>]*value="(sa_[^"]+)"', page).group(1)
    assert api_status(app, token) == 200
    with app.app_context():
        stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == picker)
                                    .order_by(ApiToken.id)).all()
    assert len(stored) == 2 and token not in {t.token_hash for t in stored}  # kept hashed
    again = admin.get(f"/admin/users/{picker}").get_data(as_text=True)
    assert token not in again  # never shown again
    for t in stored:
        assert re.search(rf"<td>{t.id}</td><td class=\"issued\">[^<]+</td>\s*<td>active</td>",
                         again)
    # Revoke the new one: it stops working, the other goes on.
    new_id = stored[-1].id
    r = post(admin, f"/admin/users/{picker}/tokens/{new_id}/revoke", page=f"/admin/users/{picker}")
    assert r.status_code == 302
    assert api_status(app, token) == 401 and api_status(app, users["picker"]) == 200
    page = admin.get(f"/admin/users/{picker}").get_data(as_text=True)
    assert f"Token {new_id} of picker is revoked." in page
    assert re.search(rf"<td>{new_id}</td><td class=\"issued\">[^<]+</td>\s*<td>revoked</td>",
                     page)
    # A token is revoked only through its own user's page.
    manager = user_id(app, "manager")
    with app.app_context():
        others = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == picker,
                                                             ApiToken.revoked.is_(False)))
    r = post(admin, f"/admin/users/{manager}/tokens/{others}/revoke",
             page=f"/admin/users/{manager}")
    assert r.status_code == 404 and api_status(app, users["picker"]) == 200


def test_reset_password_ends_sessions_and_tokens(app, users):
    admin = admin_client(app)
    manager = user_id(app, "manager")
    session = app.test_client()
    login(session, "manager")
    assert session.get("/").status_code == 200
    r = post(admin, f"/admin/users/{manager}/password", {"password": "12345"},
             page=f"/admin/users/{manager}")
    assert r.status_code == 400 and "at least 6 characters" in r.get_data(as_text=True)
    assert api_status(app, users["manager"]) == 200  # nothing changed
    r = post(admin, f"/admin/users/{manager}/password", {"password": "fresh-pw-9"},
             page=f"/admin/users/{manager}")
    assert r.status_code == 302
    assert "New password set for manager" in admin.get(r.headers["Location"]).get_data(True)
    assert session.get("/").status_code == 302  # logged out
    assert api_status(app, users["manager"]) == 401
    assert login(app.test_client(), "manager").status_code == 200  # the old one fails
    assert login(app.test_client(), "manager", "fresh-pw-9").status_code == 302


def test_disable_a_user_but_not_yourself(app, users):
    admin = admin_client(app)
    picker = user_id(app, "picker")
    session = app.test_client()
    login(session, "picker")
    r = post(admin, f"/admin/users/{picker}/disable", page=f"/admin/users/{picker}")
    assert r.status_code == 302
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "picker is disabled" in page and "<strong>disabled</strong>" in page
    assert "Issue a new token" not in page
    assert session.get("/").status_code == 302
    assert api_status(app, users["picker"]) == 401
    assert login(app.test_client(), "picker").status_code == 200  # refused
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert re.search(r">picker</a></td>\s*<td>picker</td><td>disabled</td>", listing)

    me = user_id(app, "admin")
    assert "Disable admin" not in admin.get(f"/admin/users/{me}").get_data(as_text=True)
    r = post(admin, f"/admin/users/{me}/disable", page=f"/admin/users/{me}")
    assert r.status_code == 409 and "You cannot disable yourself" in r.get_data(as_text=True)
    assert api_status(app, users["admin"]) == 200


def test_every_change_needs_the_pages_csrf_token(app, users):
    admin = admin_client(app)
    picker = user_id(app, "picker")
    for path, data in ((f"/admin/users/{picker}/disable", {}),
                       (f"/admin/users/{picker}/tokens", {}),
                       (f"/admin/users/{picker}/password", {"password": "whatever-1"}),
                       ("/admin/users", {"name": "eve", "role": "admin", "password": "eve-pw-1"})):
        assert admin.post(path, data=data).status_code == 400, path
    assert api_status(app, users["picker"]) == 200 and user_id(app, "eve") is None
    assert login(app.test_client(), "picker").status_code == 302
