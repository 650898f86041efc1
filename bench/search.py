"""The search box at scale: 1,000,000 serials, 20,000 customers and 20,000 orders in a
SQLite file built by the migrations, then GET /api/search for a serial's start, its end, a
whole scanned serial, a customer's name, a phone number and an order number; median of 20
warm calls each, next to the same run's GET /api/serials/<serial> (one indexed lookup) as
the baseline.

    .venv/bin/python bench/search.py [--serials 1000000] [--write]
"""
import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402

from report import timed, write_section  # noqa: E402
from serialapp import auth  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402

TARGET_MS = 100


def build(path: Path, count: int, parties: int) -> tuple:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        token = auth.issue_token(auth.create_user("bench", "manager", "bench-pw-1"))
        db.engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # seeding only; the app itself runs FULL
    now = "2026-11-01 10:00:00.000000"
    conn.executemany("INSERT INTO products (id, sku, name, warranty_days, attributes, next_seq, "
                     "created_at, serials_case_sensitive) VALUES (?, ?, ?, 365, '{}', 1, ?, 0)",
                     [(n, f"SKU-{n:03d}", f"Product {n}", now) for n in range(1, 101)])
    conn.executemany("INSERT INTO locations (id, code, name, kind, pickable) VALUES "
                     "(?, ?, '', 'storage', 1)", [(n, f"LOC-{n:03d}") for n in range(1, 201)])
    conn.executemany("INSERT INTO customers (id, code, name, email, phone) VALUES (?, ?, ?, ?, ?)",
                     [(n, f"C{n:06d}", f"Customer {n:06d} Ltd", f"buyer{n}@example.com",
                       f"+1 555-{n:07d}") for n in range(1, parties + 1)])
    conn.executemany("INSERT INTO sales_orders (id, number, customer_id, status, created_at) "
                     "VALUES (?, ?, ?, 'open', ?)",
                     [(n, f"SO-{n:06d}", n, now) for n in range(1, parties + 1)])

    def rows():
        for n in range(1, count + 1):
            serial = f"SN{n * 7919 % 10_000_000_000:010d}X{n % 97:02d}"
            key = serial.casefold()
            yield (n, 1 + n % 100, serial, key, key, key[::-1], 1 + n % 200,
                   f"LOT{n // 5000:04d}", now, now)
    conn.executemany("INSERT INTO serials (id, product_id, serial, serial_key, search_key, "
                     "search_rev, status, location_id, lot, version, received_at) VALUES "
                     "(?, ?, ?, ?, ?, ?, 'in_stock', ?, ?, 1, ?) ", (r[:9] for r in rows()))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    return app, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.db"
        t0 = time.perf_counter()
        app, token = build(path, args.serials, args.parties)
        seeded = time.perf_counter() - t0
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        n = args.serials // 2
        serial = f"SN{n * 7919 % 10_000_000_000:010d}X{n % 97:02d}"
        base = timed(client, headers, f"/api/serials/{serial}")
        cases = [
            ("start of a serial (6 characters)", serial[:6].lower()),
            ("end of a serial (5 characters)", serial[-5:]),
            ("a whole serial, scanned", serial),
            ("customer name, part", f"customer {n % args.parties:06d}"),
            ("phone number without spaces", f"555{n % args.parties:07d}"),
            ("order number", f"SO-{n % args.parties:06d}"),
            ("a lot", f"LOT{n // 5000:04d}"),
        ]
        lines = [f"SQLite, {args.serials:,} serials, {args.parties:,} customers and orders "
                 f"(seeded in {seeded:.0f} s); median of 20 warm calls over the app's HTTP "
                 f"layer (Flask test client). Target: under {TARGET_MS} ms.", "",
                 "| query | ms | ratio to baseline |", "|---|---:|---:|",
                 f"| baseline: GET /api/serials/<serial> | {base:.1f} | 1.00 |"]
        for name, q in cases:
            ms = timed(client, headers, f"/api/search?q={q}")
            lines.append(f"| GET /api/search: {name} | {ms:.1f} | {ms / base:.2f} |")
        print("\n".join(lines))
        if args.write:
            write_section("search", "## Search\n\nMade with `.venv/bin/python bench/search.py "
                          f"--serials {args.serials} --write`.\n\n" + "\n".join(lines))
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
