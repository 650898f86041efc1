"""Transitions per second through the service layer, next to the floor: the same serial
UPDATE + event INSERT + commit in plain SQL on the same database file, in the same run.

    .venv/bin/python bench/transitions.py [--serials 2000] [--rounds 3]
"""
import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402

from serialapp import inventory  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402
from serialapp.models import Location, Product, Serial, User  # noqa: E402
from report import write_section  # noqa: E402


def build(path: Path, count: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        user = User(name="bench", role="manager", password_hash="x")
        product = Product(sku="BENCH", name="Bench unit")
        a, b = Location(code="A"), Location(code="B")
        db.session.add_all([user, product, a, b])
        db.session.flush()
        db.session.add_all([Serial(product_id=product.id, serial=f"SN{n:08d}",
                                   serial_key=f"sn{n:08d}", status="in_stock",
                                   location_id=a.id) for n in range(count)])
        db.session.commit()
    return app


def service_rate(app, count: int, batch: int = 1) -> float:
    """`move` calls of `batch` serials (1: one scan per request; 100: a pasted list or a
    case label). Each serial is still its own lookup, rule check, UPDATE, event, commit."""
    with app.app_context():
        user = db.session.query(User).one()
        actor = inventory.Actor(user_id=user.id, role=user.role, source="wedge")
        service_rate.flip = not getattr(service_rate, "flip", False)
        target = "B" if service_rate.flip else "A"
        start = time.perf_counter()
        for first in range(0, count, batch):
            texts = [f"SN{n:08d}" for n in range(first, min(first + batch, count))]
            outcome = inventory.move(actor, location=target, serials=texts)
            assert all(r["ok"] for r in outcome.results), outcome.results
        return count / (time.perf_counter() - start)


def floor_rate(path: Path, count: int, sync: str = "FULL") -> float:
    """The least any implementation must do per transition, in plain sqlite3. The app runs
    synchronous=FULL (every answered scan is on disk); NORMAL shows what that costs."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                   f"synchronous={sync}"):
        conn.execute(f"PRAGMA {pragma}")
    ids = [row[0] for row in conn.execute("SELECT id FROM serials ORDER BY id LIMIT ?", (count,))]
    loc = {code: i for i, code in conn.execute("SELECT id, code FROM locations")}
    user = conn.execute("SELECT id FROM users").fetchone()[0]
    start = time.perf_counter()
    for n, serial_id in enumerate(ids):
        to = loc["A"] if n % 2 else loc["B"]
        conn.execute("BEGIN")
        conn.execute("UPDATE serials SET location_id=?, version=version+1 WHERE id=?",
                     (to, serial_id))
        conn.execute("INSERT INTO events (serial_id, type, from_status, to_status, "
                     "from_location_id, to_location_id, user_id, at, source) "
                     "VALUES (?, 'move', 'in_stock', 'in_stock', ?, ?, ?, ?, 'wedge')",
                     (serial_id, to, to, user, datetime.now(timezone.utc).replace(tzinfo=None)))
        conn.execute("COMMIT")
    rate = len(ids) / (time.perf_counter() - start)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serials", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        app = build(path, args.serials)
        floors, normals, singles, batches = [], [], [], []
        for _ in range(args.rounds):  # interleaved so drift hits both alike
            floors.append(floor_rate(path, args.serials))
            normals.append(floor_rate(path, args.serials, sync="NORMAL"))
            singles.append(service_rate(app, args.serials, batch=1))
            batches.append(service_rate(app, args.serials, batch=100))
        floor = statistics.median(floors)
        rows = [("floor: plain SQL UPDATE + INSERT + COMMIT (synchronous=FULL)", floor),
                ("same floor with synchronous=NORMAL (not durable: the old setting)",
                 statistics.median(normals))] + [
            (f"service layer, {name}", statistics.median(rates))
            for name, rates in (("1 serial per call", singles), ("100 serials per call", batches))]
        lines = [f"SQLite file, WAL, synchronous=FULL as the app runs it, {args.serials} serials "
                 f"x {args.rounds} rounds, median:", "",
                 "| path | transitions/s | ratio to floor |", "|---|---:|---:|"]
        lines += [f"| {name} | {rate:.0f} | {rate / floor:.2f} |" for name, rate in rows]
        print("\n".join(lines))
        if args.write:
            write_section("transitions", "## Serial transitions\n\nMade with "
                          f"`.venv/bin/python bench/transitions.py --serials {args.serials} "
                          f"--rounds {args.rounds} --write`.\n\n" + "\n".join(lines))
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
