"""Serving: /healthz, the per-request log line, the repo's gunicorn.conf.py under real
gunicorn, prompt token revocation, and a backup restored into a working app."""
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from serialapp.app import create_app
from serialapp.extensions import db
from serialapp.models import ApiToken
from tests.conftest import ON_POSTGRES
from tests.factories import setup_shop

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_says_the_database_answers(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["database"] == "ok"


def test_healthz_is_503_with_retry_after_when_the_database_does_not_answer(tmp_path):
    # A SQLite file in a folder that does not exist cannot be opened: the database is down.
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'gone' / 'x.db'}",
                      "SECRET_KEY": "t", "TESTING": True})
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.headers["Retry-After"] and r.get_json()["database"] == "unreachable"


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def request_lines():
    handler = Lines()
    logger = logging.getLogger("serialapp.requests")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_one_log_line_per_request_with_duration_user_and_status(app, manager, request_lines):
    setup_shop(manager)
    request_lines.clear()
    # A WSGI server closes each response once sent; the line is written then (so that a
    # streamed export is timed to its last byte).
    manager.get("/products/PHONE").close()
    manager.post("/move", {"location": "NOWHERE", "serials": ["X"]}).close()
    app.test_client().get("/api/products", headers={"Authorization": "Bearer wrong"}).close()
    assert [(x["method"], x["path"], x["status"], x["user"]) for x in request_lines] == [
        ("GET", "/api/products/PHONE", 200, "manager"),
        ("POST", "/api/move", 404, "manager"),
        ("GET", "/api/products", 401, None)]
    assert all(isinstance(x["ms"], float) and x["ms"] >= 0 for x in request_lines)
    # Never a secret in the log: not the token, whatever else changes in the line.
    assert "Bearer" not in json.dumps(request_lines)


def test_a_revoked_token_is_refused_on_the_next_request(app, manager, users):
    assert manager.get("/products").status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(revoked=True))
        db.session.commit()
    assert manager.get("/products").status_code == 401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b" ")[1], body


def test_gunicorn_conf_serves_keep_alive_and_logs_each_request(app, tmp_path):
    """The repo's gunicorn.conf.py under real gunicorn: /healthz twice on one connection
    (keep-alive), and a JSON log line for each request on stderr."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="t",
               SERIALAPP_BIND=f"127.0.0.1:{port}", SERIALAPP_WORKERS="1")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                                 str(ROOT / "gunicorn.conf.py"), "app:app"], cwd=ROOT, env=env,
                                stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        with sock:
            assert _get(sock, "/healthz")[0] == b"200"
            assert _get(sock, "/healthz")[0] == b"200"  # the same connection, kept alive
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert [(x["path"], x["status"]) for x in lines] == [("/healthz", 200)] * 2


def test_backup_restores_into_a_working_app(app, manager, tmp_path):
    """What docs/deploy.md says to do: SQLite's online backup (what `.backup` does) or
    pg_dump, restored into a fresh database that then answers for the same serial."""
    setup_shop(manager)
    assert manager.post("/receive", {"location": "A1", "sku": "CASE",
                                         "serials": ["CS-0001"]}).status_code == 200
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if ON_POSTGRES:
        from sqlalchemy import create_engine, make_url, text
        source = make_url(url)
        target = source.set(database=source.database + "_restored")
        admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        libpq = lambda u: u.set(drivername="postgresql").render_as_string(hide_password=False)  # noqa: E731
        dump = tmp_path / "serialapp.sql"
        subprocess.run([str(bindir / "pg_dump"), "--no-owner", "-f", str(dump), libpq(source)],
                       check=True)
        subprocess.run([str(bindir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump),
                        libpq(target)], check=True, stdout=subprocess.DEVNULL)
        restored_url = target.render_as_string(hide_password=False)
    else:
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        backup = sqlite3.connect(tmp_path / "backup.db")
        source.backup(backup)  # the online backup API, safe while the app writes
        backup.close()
        source.close()
        shutil.copy(tmp_path / "backup.db", tmp_path / "restored.db")
        restored_url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = create_app({"SQLALCHEMY_DATABASE_URI": restored_url, "SECRET_KEY": "t",
                           "TESTING": True})
    try:
        token = manager.headers["Authorization"]
        r = restored.test_client().get("/api/serials/CS-0001", headers={"Authorization": token})
        assert r.status_code == 200
        assert r.get_json()["status"] == "in_stock"
        assert [e["type"] for e in r.get_json()["history"]] == ["receive"]
    finally:
        with restored.app_context():
            db.engine.dispose()
        if ON_POSTGRES:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            admin.dispose()
