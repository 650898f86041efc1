"""Shared fixtures: a real SQLite file per test, built by the real migrations."""
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from serialapp.app import create_app
from serialapp.extensions import db


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """Run the migrations once; each test starts from a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "test"})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def app(migrated_db, tmp_path):
    path = tmp_path / "serialapp.db"
    shutil.copy(migrated_db, path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "test",
                      "TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


class Api:
    """A client that speaks the API with one user's bearer token."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get("/api" + path, headers=self.headers, **kw)

    def post(self, path, json=None, key=None, **kw):
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post("/api" + path, json=json, headers=headers, **kw)


@pytest.fixture
def users(app):
    """name -> bearer token, one user per role."""
    from serialapp import auth
    tokens = {}
    with app.app_context():
        for role in ("picker", "manager", "admin"):
            user = auth.create_user(role, role, "secret-pw")
            tokens[role] = auth.issue_token(user)
    return tokens


@pytest.fixture
def manager(app, users):
    return Api(app.test_client(), users["manager"])


@pytest.fixture
def picker(app, users):
    return Api(app.test_client(), users["picker"])


@pytest.fixture
def live_server(app):
    """The app behind a real threaded HTTP server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
