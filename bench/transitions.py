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

from flask_migrate import upgrade  # noqa: E402

from serialapp import create_app, inventory  # noqa: E402
from serialapp.extensions import db  # noqa: E402
from serialapp.models import Location, Product, Serial, User  # noqa: E402


def build(path: Path, count: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        user = User(name="bench", role="manager", password_hash="x")
        product = Product(sku="BENCH", name="Bench unit")
        a, b = Location(code="A"), Location(code="B")
        db.session.add_all([user, product, a, b])
        db.session.flush()
        db.session.add_all([Serial(product_id=product.id, serial=f"SN{n:08d}", status="in_stock",
                                   location_id=a.id) for n in range(count)])
        db.session.commit()
    return app


def service_rate(app, count: int) -> float:
    """Each transition a separate `move` call: lookup, rule check, UPDATE, event, commit."""
    with app.app_context():
        user = db.session.query(User).one()
        actor = inventory.Actor(user_id=user.id, role=user.role, source="wedge")
        service_rate.flip = not getattr(service_rate, "flip", False)
        target = "B" if service_rate.flip else "A"
        start = time.perf_counter()
        for n in range(count):
            outcome = inventory.move(actor, location=target, serials=[f"SN{n:08d}"])
            assert outcome.results[0]["ok"], outcome.results
        return count / (time.perf_counter() - start)


def floor_rate(path: Path, count: int) -> float:
    """The least any implementation must do per transition, in plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        app = build(path, args.serials)
        floors, services = [], []
        for _ in range(args.rounds):  # interleaved so drift hits both alike
            floors.append(floor_rate(path, args.serials))
            services.append(service_rate(app, args.serials))
        floor, service = statistics.median(floors), statistics.median(services)
        print(f"SQLite, {args.serials} serials x {args.rounds} rounds (median)")
        print(f"floor (plain SQL UPDATE+INSERT+COMMIT): {floor:8.0f} transitions/s")
        print(f"service layer (inventory.move):         {service:8.0f} transitions/s")
        print(f"ratio service/floor:                    {service / floor:8.2f}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
