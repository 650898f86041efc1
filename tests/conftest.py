"""Shared fixtures: a real database per test, built by the real migrations.

SQLite by default: a copy of a migrated file per test. With TEST_DATABASE_URL set to a
PostgreSQL server (any URL form DATABASE_URL takes; the role must be allowed to create
databases), every test gets a database of its own on that server, cloned from a template
database migrated once per session: tests that serve the app from threads or a subprocess
see only their own rows, and a test's leftovers cannot reach the next one.

Tests marked `postgresql` need that server whatever the main database is; without
TEST_DATABASE_URL they are skipped locally and fail in CI (CI is set)."""
import itertools
import json
import logging
import os
import shutil
import threading

import pytest
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from serialapp.app import create_app
from serialapp.config import database_url
from serialapp.extensions import db

TEST_DATABASE_URL = database_url(os.environ.get("TEST_DATABASE_URL", ""))
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
if TEST_DATABASE_URL and not ON_POSTGRES:
    raise pytest.UsageError(f"TEST_DATABASE_URL must be a PostgreSQL URL, not "
                            f"{TEST_DATABASE_URL.split(':')[0]}")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: needs the PostgreSQL server named by "
                                       "TEST_DATABASE_URL, whatever the main test database")


def pytest_report_header(config):
    return f"test database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"


def _need_postgres():
    message = ("This test needs PostgreSQL: set TEST_DATABASE_URL (README: running the suite "
               "on PostgreSQL).")
    if os.environ.get("CI"):
        pytest.fail("TEST_DATABASE_URL is not set in CI. " + message, pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgresql") and not ON_POSTGRES:
        _need_postgres()


@pytest.fixture(scope="session", autouse=True)
def _which_database(record_testsuite_property):
    """Named in the JUnit report, so that CI can check the PostgreSQL pass ran on it."""
    record_testsuite_property("database", "postgresql" if ON_POSTGRES else "sqlite")


class PostgresServer:
    """Creates and drops databases on the TEST_DATABASE_URL server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        # Named after the URL's database and this process: two suites on one server
        # (two worktrees, two CI jobs) never share or drop each other's databases.
        self.prefix = f"{self.url.database or 'serialapp_test'}_{os.getpid()}"
        self._numbers = itertools.count(1)
        # pre_ping: the crash test kills and restarts the server mid-session.
        self.engine = create_engine(self.url.set(database="postgres"),
                                    isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(self._numbers)}"
        # FILE_COPY copies the template's files: on a small template it is several times
        # quicker than PostgreSQL 15's default (WAL_LOG), which logs every copied page.
        clause = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return name

    def drop(self, name: str) -> None:
        # FORCE ends connections a test left behind (a server thread, a killed worker's).
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_stale(self) -> None:
        """Databases of earlier runs of this suite that died before dropping them."""
        base = self.url.database or "serialapp_test"
        with self.engine.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": base.replace("_", r"\_") + r"\_%"}).scalars().all()
        for name in names:
            pid = name[len(base) + 1:].split("_")[0]
            if pid.isdigit() and not _alive(int(pid)):
                self.drop(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url():
    """The TEST_DATABASE_URL server's maintenance database, for tests that make their own."""
    if not ON_POSTGRES:
        _need_postgres()
    return make_url(TEST_DATABASE_URL).set(database="postgres").render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def pg_server():
    if not ON_POSTGRES:
        _need_postgres()
    server = PostgresServer(TEST_DATABASE_URL)
    server.drop_stale()
    yield server
    server.engine.dispose()


@pytest.fixture
def empty_pg_database(pg_server):
    """A URL to an empty database of this test's own on the PostgreSQL server."""
    name = pg_server.create()
    yield pg_server.url_of(name)
    pg_server.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Run the migrations once; each test starts from a copy of the result."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server):
    name = pg_server.create()
    _migrate(pg_server.url_of(name))
    yield name
    pg_server.drop(name)


def _app(url: str, files):
    """The app on `url`, its history key and checkpoint in the test's own folder: a
    checkpoint of one test's shop would report another's serials as deleted."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "TESTING": True,
                       "HISTORY_KEY_FILE": str(files / "history_key"),
                       "HISTORY_CHECKPOINT_FILE": str(files / "history_checkpoint")})


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path):
    """The app on a SQLite file whatever TEST_DATABASE_URL says: for SQLite's own settings."""
    path = tmp_path / "serialapp.db"
    shutil.copy(sqlite_template, path)
    app = _app(f"sqlite:///{path}", tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(request, tmp_path):
    if not ON_POSTGRES:
        yield request.getfixturevalue("sqlite_app")
        return
    server = request.getfixturevalue("pg_server")
    name = server.create(template=request.getfixturevalue("pg_template"))
    app = _app(server.url_of(name), tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()
    server.drop(name)


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


class _RequestLines(logging.Handler):
    """Keeps each line of the request log (serialapp.requests) as the dict it encodes."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def request_lines():
    """The request log's lines written during the test, as dicts, oldest first."""
    handler = _RequestLines()
    logger = logging.getLogger("serialapp.requests")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
