"""Power cut mid-batch: clients receive serials through gunicorn with Idempotency-Keys, the
whole gunicorn process group is SIGKILLed several times mid-stream and restarted, and every
client retries each request with its key until it gets an answer. Then:

- lost: a serial a client sent that is not in the database;
- doubled: a serial with more than one receive event, or more than one row;
- told duplicate for own scan: a result `duplicate_serial` for a serial of one's own request;
- generate: `generate: N` requests must leave exactly N serials each, all in the answer;
- longest wait: the longest a retry was kept waiting ("in progress" answers) after a restart.

On PostgreSQL, `--kill-postgres DATADIR` (the data directory of a local cluster this script
may restart with pg_ctl, such as the one .ci/postgres makes) also SIGKILLs every process of
the database server once mid-run, while gunicorn stays up, and starts it again: the server's
crash recovery, the app's dead pooled connections and the lost advisory locks all at once.

    .venv/bin/python bench/crash.py [--clients 8] [--kills 3] [--batch 100]
    TEST_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/crash.py \
        [--kill-postgres /tmp/serialapp-pg/data]

The suite runs a short version (tests/integration/test_crash.py)."""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(database_url: str) -> str:
    """Migrate, and make a user, a token, a product of each kind and a location."""
    from flask_migrate import upgrade

    from serialapp import auth
    from serialapp.app import create_app
    from serialapp.extensions import db
    from serialapp.models import Location, Product
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "crash"})
    with app.app_context():
        upgrade()
        user = auth.create_user("crash", "manager", "crash-pw-1")
        token = auth.issue_token(user)
        db.session.add_all([Product(sku="UNIT", name="Unit"),
                            Product(sku="OWN", name="Own", serial_pattern="OWN-{seq:07}"),
                            Location(code="DOCK", kind="dock")])
        db.session.commit()
        db.engine.dispose()
    return token


class Server:
    def __init__(self, database_url: str, workers: int = 2):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="crash")
        self.workers = workers
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", str(self.workers),
             "--threads", "4", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
             "app:app"], cwd=ROOT, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers die mid-request."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class Postgres:
    """A local cluster's server, killed the hard way and started again with pg_ctl."""

    def __init__(self, datadir: str):
        self.datadir = Path(datadir).resolve()
        if not (self.datadir / "PG_VERSION").is_file():
            raise SystemExit(f"{datadir} is not a PostgreSQL data directory")
        version = (self.datadir / "PG_VERSION").read_text().strip()
        self.pg_ctl = f"/usr/lib/postgresql/{version}/bin/pg_ctl"
        if not os.path.exists(self.pg_ctl):
            self.pg_ctl = "pg_ctl"
        self.kills = 0

    def _as_owner(self, *args: str) -> list[str]:
        # PostgreSQL will not run as root; the data directory's owner runs it.
        if os.geteuid() == 0:
            import pwd
            owner = pwd.getpwuid(self.datadir.stat().st_uid).pw_name
            return ["runuser", "-u", owner, "--", *args]
        return list(args)

    def _processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.datadir / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def kill(self) -> None:
        """SIGKILL the whole server at once, as a power cut would stop it."""
        pids = self._processes()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in pids):
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL processes outlived SIGKILL")
            time.sleep(0.02)
        self.kills += 1

    def start(self) -> None:
        subprocess.run(self._as_owner(self.pg_ctl, "-D", str(self.datadir), "-l",
                                      str(self.datadir / "crash-restart.log"), "-w", "-t", "60",
                                      "start"), check=True, stdout=subprocess.DEVNULL)


class Client(threading.Thread):
    def __init__(self, n: int, server: Server, token: str, batch: int, requests: int,
                 generate: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.n, self.server, self.token, self.batch = n, server, token, batch
        self.requests, self.generate, self.stop = requests, generate, stop
        self.sent: list[str] = []          # every serial text this client sent
        self.answered: list[str] = []      # serials named ok in the answers
        self.own_duplicates = 0
        self.generated: list[tuple[int, list[str]]] = []  # (asked, serials in the answer)
        self.longest_wait = 0.0
        self.errors: list[str] = []

    def post(self, body: dict, key: str) -> dict:
        data = json.dumps(body).encode()
        waiting_since = None
        while True:
            req = urllib.request.Request(
                self.server.url + "/api/receive", data=data, method="POST",
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key,
                         "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    answer = json.loads(r.read())
                if waiting_since is not None:
                    self.longest_wait = max(self.longest_wait, time.monotonic() - waiting_since)
                return answer
            except urllib.error.HTTPError as exc:
                if exc.headers.get("Retry-After"):
                    waiting_since = waiting_since or time.monotonic()
                    time.sleep(float(exc.headers.get("Retry-After") or 0.2))
                    continue
                if exc.code >= 500:
                    time.sleep(0.1)
                    continue
                self.errors.append(f"{exc.code} {exc.read()[:200]!r}")
                return {"results": []}
            except (OSError, http.client.HTTPException, ValueError):
                # The server is down, or died while sending the answer (a cut-off body is
                # an IncompleteRead, or JSON that does not parse): retry with the same key.
                time.sleep(0.05)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a client that dies says so, rather than seem to finish
            self.errors.append(f"client {self.n} stopped: {exc!r}")

    def _run(self) -> None:
        for r in range(self.requests):
            key = f"c{self.n}-r{r}"
            if self.generate and r % 3 == 2:
                answer = self.post({"location": "DOCK", "sku": "OWN", "generate": self.generate},
                                   key)
                self.generated.append((self.generate, [x["serial"] for x in answer["results"]
                                                       if x.get("ok")]))
                continue
            serials = [f"C{self.n}-R{r:04d}-{i:04d}" for i in range(self.batch)]
            self.sent.extend(serials)
            answer = self.post({"location": "DOCK", "sku": "UNIT", "serials": serials}, key)
            if len(answer["results"]) != len(serials):  # an answer that lost some of its steps
                self.errors.append(f"{key}: {len(answer['results'])} results for "
                                   f"{len(serials)} serials: {json.dumps(answer)[:300]}")
            for x in answer["results"]:
                if x.get("ok"):
                    self.answered.append(x["serial"])
                elif x.get("error", {}).get("code") == "duplicate_serial":
                    self.own_duplicates += 1
                else:
                    self.errors.append(json.dumps(x)[:200])


def count(database_url: str) -> dict:
    from sqlalchemy import create_engine, text
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT s.serial, count(e.id) FROM serials s LEFT JOIN events e "
            "ON e.serial_id = s.id AND e.type = 'receive' GROUP BY s.id, s.serial")).all())
        doubled_rows = conn.execute(text(
            "SELECT count(*) FROM (SELECT serial FROM serials GROUP BY serial "
            "HAVING count(*) > 1) d")).scalar()
        interrupted = conn.execute(text(
            "SELECT count(DISTINCT key) FROM idempotency_steps")).scalar()
    engine.dispose()
    return {"events": rows, "doubled_rows": doubled_rows, "unfinished_keys": interrupted}


def run(database_url: str, *, clients: int = 6, kills: int = 2, batch: int = 100,
        requests: int = 6, generate: int = 150, kill_every_s: float = 0.6,
        kill_postgres: str | None = None) -> dict:
    postgres = Postgres(kill_postgres) if kill_postgres else None
    if postgres and not database_url.startswith("postgresql"):
        raise SystemExit("--kill-postgres needs a PostgreSQL database URL")
    token = prepare(database_url)
    server = Server(database_url)
    server.start()
    stop = threading.Event()
    threads = [Client(n, server, token, batch, requests, generate, stop) for n in range(clients)]
    for t in threads:
        t.start()
    interrupted = 0
    for n in range(kills):
        time.sleep(kill_every_s)
        server.kill()
        interrupted = max(interrupted, count(database_url)["unfinished_keys"])
        server.start()
        if postgres and n == 0:
            # Once, between two gunicorn kills: the database dies under a running app.
            time.sleep(kill_every_s / 2)
            postgres.kill()
            postgres.start()
            interrupted = max(interrupted, count(database_url)["unfinished_keys"])
    for t in threads:
        t.join(timeout=300)
    server.kill()
    found = count(database_url)
    events = found["events"]
    sent = [s for t in threads for s in t.sent]
    generated = [g for t in threads for g in t.generated]
    minted = [s for s in events if s.startswith("OWN-")]
    return {
        "serials_sent": len(sent),
        "lost": sum(1 for s in sent if events.get(s, 0) == 0),
        "doubled": sum(1 for n in events.values() if n > 1) + found["doubled_rows"],
        "told_duplicate_for_own_scan": sum(t.own_duplicates for t in threads),
        "not_answered_ok": len(sent) - sum(len(t.answered) for t in threads),
        "generate_requests": len(generated),
        "generate_wrong_count": sum(1 for asked, got in generated if len(got) != asked),
        "minted_not_in_any_answer": len(set(minted) - {s for _, got in generated for s in got}),
        "requests_cut_mid_batch": interrupted,
        "gunicorn_kills": kills,
        "postgres_kills": postgres.kills if postgres else 0,
        "longest_wait_s": round(max(t.longest_wait for t in threads), 2),
        "other_errors": [e for t in threads for e in t.errors][:5],
        "hung_clients": sum(1 for t in threads if t.is_alive()),
    }


def main() -> None:
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--generate", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--kill-postgres", metavar="DATADIR",
                        help="also SIGKILL the local PostgreSQL server with this data "
                             "directory once mid-run, and restart it with pg_ctl")
    args = parser.parse_args()
    from serialapp.config import database_url
    url = database_url(os.environ.get("TEST_DATABASE_URL", ""))
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='crash-')}/crash.db"
    elif url.startswith("postgresql"):
        _reset_postgres(url)
    figures = run(url, clients=args.clients, kills=args.kills, batch=args.batch,
                  requests=args.requests, generate=args.generate, kill_every_s=1.0,
                  kill_postgres=args.kill_postgres)
    kind = url.split(":")[0].split("+")[0]
    lines = [f"{kind}, {args.clients} clients, {args.requests} requests each (batches of "
             f"{args.batch}, every third a `generate: {args.generate}`), gunicorn SIGKILLed "
             f"{args.kills} times mid-stream:", "", "| figure | value |", "|---|---:|"]
    lines += [f"| {name.replace('_', ' ')} | {value} |" for name, value in figures.items()]
    print("\n".join(lines))
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from report import write_section
        write_section(f"crash-{kind}", f"## Power cut mid-batch ({kind})\n\nMade with "
                      f"`.venv/bin/python bench/crash.py --clients {args.clients} --kills "
                      f"{args.kills} --requests {args.requests} --batch {args.batch} "
                      f"--generate {args.generate} --write`. A retry after the crash finishes "
                      "the original request.\n\n" + "\n".join(lines))


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    main()
