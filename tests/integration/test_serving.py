"""Serving: /healthz, the per-request log line, the repo's gunicorn.conf.py under real
gunicorn, two gunicorn hosts sharing one PostgreSQL, prompt token revocation, and a backup
restored into a working app."""
import http.cookiejar
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text, update

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


class Gunicorn:
    """The repo's gunicorn.conf.py under real gunicorn on a free port, until stop()."""

    def __init__(self, url: str, log: Path, secret: str = "t", workers: int = 1):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secret,
                   SERIALAPP_BIND=f"127.0.0.1:{self.port}", SERIALAPP_WORKERS=str(workers))
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                                          str(ROOT / "gunicorn.conf.py"), "app:app"], cwd=ROOT,
                                         env=env, stdout=out, stderr=out)

    def connect(self) -> socket.socket:
        deadline = time.monotonic() + 30
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, \
                    self.log.read_text()
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def test_gunicorn_conf_serves_keep_alive_and_logs_each_request(app, tmp_path):
    """The repo's gunicorn.conf.py under real gunicorn: /healthz twice on one connection
    (keep-alive), and a JSON log line for each request on stderr."""
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], log)
    try:
        with server.connect() as sock:
            assert _get(sock, "/healthz")[0] == b"200"
            assert _get(sock, "/healthz")[0] == b"200"  # the same connection, kept alive
    finally:
        server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert [(x["path"], x["status"]) for x in lines] == [("/healthz", 200)] * 2


def _workers(master: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry))
    return found


def _sockets(port: int) -> dict[int, str]:
    """Socket inode -> TCP state ('0A' listening, '01' established) of the server side of
    `port`, from /proc/net/tcp."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            found[int(fields[9])] = fields[3]
    return found


def _held_by(pid: int, inodes) -> set[int]:
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            held.add(int(target[8:-1]))
    return held


def test_phones_connecting_at_once_are_spread_over_the_workers(app, tmp_path):
    """Keep-alive connections opened together (phones back online, a balancer's pool) are
    dealt out over the workers, not all kept by the first worker to wake: each worker
    listens on a socket of its own (reuse_port), and 16 connections opened at once land on
    at least 3 of 4 workers, none with more than 10 (with the kernel's even spread, either
    limit is broken about once in 5,000 runs; on one shared socket, most runs)."""
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], log, workers=4)
    try:
        server.connect().close()
        deadline = time.monotonic() + 30
        while True:  # every worker booted, each with its listening socket
            listening = {i for i, state in _sockets(server.port).items() if state == "0A"}
            workers = _workers(server.proc.pid)
            own = {pid: _held_by(pid, listening) for pid in workers}
            if len(workers) == 4 and all(own.values()):
                break
            assert time.monotonic() < deadline, (own, log.read_text())
            time.sleep(0.1)
        assert len(set().union(*own.values())) == 4, "the workers share one listening socket"

        with ThreadPoolExecutor(16) as pool:
            socks = list(pool.map(lambda _: server.connect(), range(16)))
        try:
            for sock in socks:  # answered, so accepted by some worker
                assert _get(sock, "/healthz")[0] == b"200"
            established = {i for i, s in _sockets(server.port).items() if s == "01"}
            served = {pid: len(_held_by(pid, established)) for pid in workers}
        finally:
            for sock in socks:
                sock.close()
    finally:
        server.stop()
    assert sum(served.values()) == 16, served
    assert sum(1 for n in served.values() if n) >= 3 and max(served.values()) <= 10, served


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One phone's cookie jar, sent to whichever host the balancer picks: cookies are not
    kept apart by port, as they would not be by the hosts behind one balanced name."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect)

    def call(self, url, body=None, headers=None, form=None):
        data = None
        headers = dict(headers or {})
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@pytest.mark.postgresql
def test_two_gunicorn_hosts_share_one_postgresql_shop(app, manager, users, tmp_path):
    """docs/deploy.md 4b: two app hosts (two gunicorns, other ports) on one PostgreSQL with
    one SECRET_KEY. A page login made on one is good on the other, a receipt made on one is
    seen on the other, a phone's retry of a keyed request that lands on the other host gets
    the first answer back, and moves sent to the two in turn (and at once) leave one shop:
    every unit once, one receive event each, where its last move put it."""
    setup_shop(manager)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    hosts = [Gunicorn(url, tmp_path / f"host{n}.log", secret="one-key-for-all-hosts")
             for n in (1, 2)]
    try:
        for host in hosts:
            host.connect().close()
        a, b = (host.base for host in hosts)
        phone = Browser()
        bearer = {"Authorization": f"Bearer {users['manager']}"}

        # A page session signed by A is read by B, and so is its CSRF token.
        status, page = phone.call(a + "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = phone.call(a + "/login", form={"name": "picker", "password": "secret-pw",
                                                   "csrf_token": token.decode()})
        assert status == 302
        status, page = phone.call(b + "/")
        assert status == 200 and b"picker" in page
        csrf = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page).group(1).decode()

        # Received on A (a cookie session with B's CSRF token), seen on B.
        units = [f"CS-{n:04d}" for n in range(1, 13)]
        receipt = {"location": "A1", "sku": "CASE", "serials": units}
        status, first = phone.call(a + "/api/receive", receipt,
                                   {"Idempotency-Key": "receive-1", "X-CSRFToken": csrf})
        assert status == 200, first
        assert all(r["ok"] for r in json.loads(first)["results"])
        status, seen = phone.call(b + "/api/serials/CS-0001", headers=bearer)
        assert status == 200 and json.loads(seen)["location"] == "A1"
        status, page = phone.call(b + "/serials/CS-0001")
        assert status == 200 and b"A1" in page

        # The phone's retry lands on B after A answered: A's answer, not a second receipt.
        status, again = phone.call(b + "/api/receive", receipt,
                                   {"Idempotency-Key": "receive-1", "X-CSRFToken": csrf})
        assert (status, json.loads(again)) == (200, json.loads(first))

        # Moves to A and B in turn, each retried once on the other host.
        moved = 0  # moves answered ok and not a repeat: each must be one move event
        for n in range(8):
            first_host, other = (a, b) if n % 2 == 0 else (b, a)
            body = {"location": ("A2", "A1", "TEST-BENCH")[n % 3], "serials": units[n % 3::3]}
            key = {"Idempotency-Key": f"move-{n}"}
            status, answer = phone.call(first_host + "/api/move", body, {**bearer, **key})
            results = json.loads(answer)["results"]
            assert status == 200 and all(r["ok"] for r in results), answer
            moved += sum(not r.get("repeat") for r in results)
            assert phone.call(other + "/api/move", body, {**bearer, **key}) == (status, answer)

        # Both hosts at once, on the same units, to different places: whichever commits
        # last, each unit is where its last move event says, and no move is lost or doubled.
        def mover(n):
            body = {"location": ("A1", "A2", "TEST-BENCH")[n % 3], "serials": units}
            return phone.call((a, b)[n % 2] + "/api/move", body,
                              {**bearer, "Idempotency-Key": f"race-{n}"})
        with ThreadPoolExecutor(4) as pool:
            raced = list(pool.map(mover, range(8)))
        for status, answer in raced:
            assert status == 200, answer
            moved += sum(r["ok"] and not r.get("repeat") for r in json.loads(answer)["results"])

        views = []
        for host in (a, b):
            status, listing = phone.call(host + "/api/serials?sku=CASE", headers=bearer)
            assert status == 200
            views.append(sorted((s["serial"], s["location"], s["status"])
                                for s in json.loads(listing)["serials"]))
        assert views[0] == views[1]
        assert [serial for serial, _, _ in views[0]] == units
        for n, (unit, location, status) in enumerate(views[0]):
            code, view = phone.call((a, b)[n % 2] + f"/api/serials/{unit}", headers=bearer)
            history = json.loads(view)["history"]
            assert [e["type"] for e in history].count("receive") == 1, (unit, history)
            assert (location, status) == (history[-1]["to_location"], "in_stock")
    finally:
        for host in hosts:
            host.stop()
    with app.app_context():
        receipts = db.session.execute(text(
            "SELECT s.serial, count(e.id) FROM serials s JOIN events e ON e.serial_id = s.id "
            "AND e.type = 'receive' GROUP BY s.serial")).all()
        moves = db.session.scalar(text("SELECT count(*) FROM events WHERE type = 'move'"))
    assert sorted(receipts) == [(u, 1) for u in units]
    assert moves == moved


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
