"""Scans over HTTP through gunicorn (the repo's gunicorn.conf.py), by keep-alive clients, on
SQLite or PostgreSQL, each figure beside its floor measured in the same run:

- floor: an authenticated GET (GET /api/locations/<code>: token check, one indexed read);
- single-serial moves, each with its own Idempotency-Key as the phone sends it: rate,
  ratio to the GET rate (target >= 0.6), p50/p99 latency (target p99 < 100 ms);
- 20-serial batches: transitions/s (targets 2,500 on SQLite, 1,000 on PostgreSQL);
- errors: any answer that is not a 200 with every serial ok (target 0).

The phases run in rounds (GET, scans, batches, GET), each scan rate against its own
round's GET rate, and the median round is reported: on a shared 2-core machine the GET
rate alone wanders by a third from one run to the next.

    .venv/bin/python bench/load.py [--seconds 5] [--rounds 3] [--clients 8] [--workers 4]
    .venv/bin/python bench/load.py --database-url postgresql://serialapp:serialapp@127.0.0.1:54329/x

The client is asyncio on raw sockets with HTTP/1.1 keep-alive (a new connection only when
the server closes one), so that the client's own cost stays small next to the server's on
the same 2 cores."""
import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from seed import drop_database, fresh_database  # noqa: E402

TARGET_RATIO, TARGET_P99_MS = 0.6, 100.0
TARGET_BATCH = {"sqlite": 2500, "postgresql": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, serials: int) -> str:
    """Migrate; a manager with a token; a product, two shelves, `serials` units on A."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from serialapp import auth
    from serialapp.app import create_app
    from serialapp.extensions import db
    from serialapp.models import Location, Product, Serial
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load"})
    with app.app_context():
        upgrade()
        user = auth.create_user("load", "manager", "load-pw-1")
        token = auth.issue_token(user)
        product, a, b = Product(sku="UNIT", name="Unit"), Location(code="A"), Location(code="B")
        db.session.add_all([product, a, b])
        db.session.flush()
        db.session.execute(insert(Serial), [
            {"product_id": product.id, "serial": f"LD{n:07d}", "serial_key": f"ld{n:07d}",
             "search_key": f"ld{n:07d}", "search_rev": f"ld{n:07d}"[::-1],
             "status": "in_stock", "location_id": a.id} for n in range(serials)])
        db.session.commit()
        db.engine.dispose()
    return token


class Gunicorn:
    def __init__(self, url: str, workers: int, worker_class: str, threads: int, log: Path):
        self.port = _free_port()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="load",
                   SERIALAPP_WORKERS=str(workers), SERIALAPP_WORKER_CLASS=worker_class,
                   SERIALAPP_THREADS=str(threads), SERIALAPP_BIND=f"127.0.0.1:{self.port}")
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "app:app"], cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start; see {log}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict, body: bytes = b""):
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                fresh = True
            else:
                fresh = False
            head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            try:
                self.writer.write(head.encode() + body)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh:
                    raise
        raise ConnectionError("no answer")

    async def _response(self):
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, close, chunked = 0, False, False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _phase(port: int, clients: int, seconds: float, make_request, check) -> dict:
    """`clients` connections, each sending make_request(client, n) back to back for
    `seconds`; returns requests, latencies (s) and errors."""
    latencies, errors = [], []
    stop_at = time.perf_counter() + seconds

    async def client(c: int):
        conn = Connection(port)
        n = 0
        while time.perf_counter() < stop_at:
            method, path, headers, body = make_request(c, n)
            started = time.perf_counter()
            try:
                status, answer = await conn.request(method, path, headers, body)
            except (OSError, asyncio.IncompleteReadError) as exc:
                errors.append(f"connection: {exc!r}")
                conn.close()
                continue
            latencies.append(time.perf_counter() - started)
            problem = check(status, answer)
            if problem:
                errors.append(problem)
            n += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "rate": len(latencies) / elapsed,
            "latencies": latencies, "errors": errors}


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def _ok_get(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"GET {status} {body[:120]!r}"


def _ok_action(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"POST {status} {body[:160]!r}"
    bad = [r for r in json.loads(body)["results"] if not r.get("ok") or r.get("repeat")]
    return f"POST result {bad[0]}" if bad else None


class Serials:
    """Each client moves its own share of the units between A and B, so no two clients
    fight over a unit and every move really moves (never a no-op 'already there')."""

    def __init__(self, clients: int, total: int):
        share = total // clients
        self.own = [[f"LD{n:07d}" for n in range(c * share, (c + 1) * share)]
                    for c in range(clients)]
        self.cursor = [0] * clients

    def take(self, client: int, count: int) -> tuple[list[str], str]:
        """The next `count` of this client's units and the shelf they go to. A pass over
        the client's share goes to B, the next one back to A."""
        own, taken = self.own[client], []
        start = self.cursor[client]
        target = "B" if (start // len(own)) % 2 == 0 else "A"
        for i in range(count):
            position = start + i
            if (position // len(own)) % 2 != (start // len(own)) % 2:
                break  # do not straddle a pass: the batch would name units on both shelves
            taken.append(own[position % len(own)])
        self.cursor[client] = start + len(taken)
        return taken, target


def run(url: str, *, clients: int, seconds: float, workers: int, worker_class: str,
        threads: int, serials: int, tmp: Path, rounds: int = 3) -> dict:
    token = prepare(url, serials)
    auth = {"Authorization": f"Bearer {token}"}
    server = Gunicorn(url, workers, worker_class, threads, tmp / "gunicorn.log")
    units = Serials(clients, serials)

    def get(c, n):
        return "GET", "/api/locations/A", auth, b""

    def action(size):
        def make(c, n):
            taken, target = units.take(c, size)
            body = json.dumps({"location": target, "serials": taken}).encode()
            return "POST", "/api/move", {**auth, "Content-Type": "application/json",
                                         "Idempotency-Key": uuid.uuid4().hex}, body
        return make

    phases = {"get": (get, _ok_get), "scan": (action(1), _ok_action),
              "batch": (action(20), _ok_action)}

    def phase(name: str) -> dict:
        make, check = phases[name]
        return asyncio.run(_phase(server.port, clients, seconds, make, check))
    try:
        asyncio.run(_phase(server.port, clients, 1.5, get, _ok_get))  # warm every worker
        asyncio.run(_phase(server.port, clients, 1.5, action(1), _ok_action))
        # Rounds of GET, scans, batches, GET: each round's floor is the mean of its two GET
        # runs, so that the machine's drift (other work on a shared host) hits floor and
        # figure alike; the figures are the median round's, by each ratio.
        runs = []
        for _ in range(rounds):
            first, scan, batch, second = (phase(n) for n in ("get", "scan", "batch", "get"))
            runs.append({"get": first["rate"] / 2 + second["rate"] / 2, "scan": scan["rate"],
                         "batch": batch["rate"] * 20, "phases": [first, scan, batch, second]})
    finally:
        server.stop()
    return summarise(runs)


def summarise(runs: list[dict]) -> dict:
    """Median rates and ratios over the rounds; latencies and errors over all of them."""
    def median(values):
        ordered = sorted(values)
        return ordered[len(ordered) // 2] if len(ordered) % 2 else \
            (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2

    def pooled(index: int) -> list[float]:
        return [x for run in runs for x in run["phases"][index]["latencies"]]
    errors = [e for run in runs for p in run["phases"] for e in p["errors"]]
    return {
        "rounds": len(runs), "get": median([r["get"] for r in runs]),
        "scan": median([r["scan"] for r in runs]), "batch": median([r["batch"] for r in runs]),
        "ratio": median([r["scan"] / r["get"] for r in runs]),
        "ratios": [r["scan"] / r["get"] for r in runs],
        "scan_p50_ms": _percentile(pooled(1), 50) * 1000,
        "scan_p99_ms": _percentile(pooled(1), 99) * 1000,
        "batch_p99_ms": _percentile(pooled(2), 99) * 1000, "errors": errors}


def report(figures: dict, dialect: str, args) -> list[str]:
    ratios = ", ".join(f"{r:.2f}" for r in figures["ratios"])
    lines = [
        f"{dialect}: gunicorn.conf.py with {args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + f", {args.clients} keep-alive clients, {figures['rounds']} rounds of "
        f"{args.seconds:g} s phases (GET, scans, batches, GET), {args.serials} serials; "
        f"medians over the rounds (scan ratio per round: {ratios}).", "",
        "| figure | value | floor or target | ratio |", "|---|---:|---:|---:|",
        f"| floor: authenticated GET /api/locations/A, requests/s | {figures['get']:.0f} | "
        "| 1.00 |",
        f"| single-serial move (Idempotency-Key), scans/s | {figures['scan']:.0f} | "
        f">= {TARGET_RATIO} x GET = {TARGET_RATIO * figures['get']:.0f} | "
        f"{figures['ratio']:.2f} |",
        f"| single-serial move, p50 / p99 ms | {figures['scan_p50_ms']:.1f} / "
        f"{figures['scan_p99_ms']:.1f} | p99 < {TARGET_P99_MS:.0f} | |",
        f"| 20-serial batches, transitions/s | {figures['batch']:.0f} | "
        f">= {TARGET_BATCH[dialect]} | {figures['batch'] / figures['get']:.2f} |",
        f"| 20-serial batches, p99 ms | {figures['batch_p99_ms']:.1f} | | |",
        f"| errors (non-200 or a serial not moved) | {len(figures['errors'])} | 0 | |",
    ]
    for problem in figures["errors"][:3]:
        lines.append(f"    e.g. {problem}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL server (a database of the run's own is made on "
                             "it); default: a SQLite file")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serials", type=int, default=24000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, f"serialapp_load_{os.getpid()}", Path(tmp))
        dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        try:
            figures = run(url, clients=args.clients, seconds=args.seconds, workers=args.workers,
                          worker_class=args.worker_class, threads=args.threads,
                          serials=args.serials, tmp=Path(tmp), rounds=args.rounds)
        finally:
            drop_database(url)
    lines = report(figures, dialect, args)
    print("\n".join(lines))
    if args.write:
        from report import write_section
        write_section(f"load-{dialect}", f"## Scans over HTTP ({dialect})\n\nMade with "
                      f"`.venv/bin/python bench/load.py{' --database-url ...' if dialect != 'sqlite' else ''} "
                      f"--seconds {args.seconds:g} --rounds {args.rounds}` on {platform.machine()} with "
                      f"{os.cpu_count()} CPUs.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
