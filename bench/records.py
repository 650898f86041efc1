"""Records at scale: 1,000,000 serials and 3,000,000 events in a SQLite file built by the
migrations, then GET /api/recall?lot= (one lot, 200 units, some shipped to customers) and
GET /api/reports/stage-times (12 weeks, the default) over the Flask test client; median of
20 warm calls each, next to the same run's GET /api/serials/<serial> as the baseline.

Events: each unit is received, moved to a stage, and then either moved on to storage or
(one in three) shipped to a customer, all in the past; the receipts are spread over the
last 52 weeks, so the 12-week report window holds about a quarter of the history, as it
would in a shop.

The events are written straight into the file after the migrations ran on it empty, so the
time-in-stage tables (records.stays) are then built once from all of them, as the migration
that adds them does on an existing shop: that build is timed too. Last, NEW_EVENTS moves are
written and one report call times catching up with them.

    .venv/bin/python bench/records.py [--serials 1000000] [--write]
"""
import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402

from report import timed, write_section  # noqa: E402
from serialapp import auth  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402
from serialapp.records import stays  # noqa: E402

TARGETS_MS = {"recall": 200, "stage-times": 500}
LOT_SIZE = 200
LOCATIONS = 200  # 1-150 storage, 151-200 stages
NEW_EVENTS = 10_000  # written after the warm calls; the next report catches up with them
NOW = datetime.utcnow().replace(microsecond=0)


def serial_text(n: int) -> str:
    return f"SN{n * 7919 % 10_000_000_000:010d}X{n % 97:02d}"


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.000000")


def build(path: Path, count: int, parties: int) -> tuple:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        token = auth.issue_token(auth.create_user("bench", "manager", "bench-pw-1"))
        db.engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # seeding only; the app itself runs FULL
    now = _ts(NOW)
    conn.executemany("INSERT INTO products (id, sku, name, warranty_days, attributes, next_seq, "
                     "created_at, serials_case_sensitive) VALUES (?, ?, ?, 365, '{}', 1, ?, 0)",
                     [(n, f"SKU-{n:03d}", f"Product {n}", now) for n in range(1, 101)])
    conn.executemany("INSERT INTO locations (id, code, name, kind, pickable) VALUES "
                     "(?, ?, '', ?, ?)",
                     [(n, f"LOC-{n:03d}", "storage" if n <= 150 else "stage", int(n <= 150))
                      for n in range(1, LOCATIONS + 1)])
    conn.executemany("INSERT INTO customers (id, code, name, email, phone) VALUES (?, ?, ?, ?, ?)",
                     [(n, f"C{n:06d}", f"Customer {n:06d} Ltd", f"buyer{n}@example.com",
                       f"+1 555-{n:07d}") for n in range(1, parties + 1)])
    conn.executemany("INSERT INTO sales_orders (id, number, customer_id, status, created_at) "
                     "VALUES (?, ?, ?, 'shipped', ?)",
                     [(n, f"SO-{n:06d}", n, now) for n in range(1, parties + 1)])
    span = 52 * 7 * 24 * 3600

    def plan(n):
        """(received, staged, left, shipped?, storage, stage, customer) for unit n."""
        # 170 h back at least: a unit's last event (169 h after its receipt at most) is past.
        received = NOW - timedelta(hours=170,
                                   seconds=span * ((n * 7_777) % count) / count)
        staged = received + timedelta(hours=1 + n % 48)
        left = staged + timedelta(hours=2 + (n * 13) % 120)
        storage, stage = 1 + n % 150, 151 + n % 50
        return received, staged, left, n % 3 == 0, storage, stage, 1 + n % parties

    def serial_rows():
        for n in range(1, count + 1):
            received, _, left, shipped, storage, _, customer = plan(n)
            key = serial_text(n).casefold()
            status = "shipped" if shipped else "in_stock"
            yield (n, 1 + n % 100, serial_text(n), key, key, key[::-1], status,
                   None if status == "shipped" else storage, f"LOT{(n - 1) // LOT_SIZE:05d}",
                   customer if status == "shipped" else None,
                   customer if status == "shipped" else None,
                   _ts(left) if status == "shipped" else None, _ts(received))
    conn.executemany("INSERT INTO serials (id, product_id, serial, serial_key, search_key, "
                     "search_rev, status, location_id, lot, sales_order_id, customer_id, "
                     "shipped_at, version, received_at) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)", serial_rows())

    def event_rows():
        for n in range(1, count + 1):
            received, staged, left, shipped, storage, stage, customer = plan(n)
            yield (n, "receive", None, "in_stock", None, storage, None, None, _ts(received))
            yield (n, "move", "in_stock", "in_stock", storage, stage, None, None, _ts(staged))
            if shipped:
                yield (n, "ship", "picked", "shipped", stage, None, customer, customer, _ts(left))
            else:
                yield (n, "move", "in_stock", "in_stock", stage, storage, None, None, _ts(left))
    conn.executemany("INSERT INTO events (serial_id, type, from_status, to_status, "
                     "from_location_id, to_location_id, sales_order_id, customer_id, at, "
                     "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import')", event_rows())
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    return app, token


def _after_new_events(path: Path, client, headers, count: int) -> float:
    """NEW_EVENTS moves (stage to storage and back, spread over the units) written the way
    the scans write them, then one report call: its time includes the catch-up."""
    now = _ts(datetime.utcnow())
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, location_id FROM serials WHERE status = 'in_stock' "
                            "ORDER BY id LIMIT ?", (NEW_EVENTS,)).fetchall()
        conn.executemany("INSERT INTO events (serial_id, type, from_status, to_status, "
                         "from_location_id, to_location_id, at, source) VALUES "
                         "(?, 'move', 'in_stock', 'in_stock', ?, ?, ?, 'wedge')",
                         [(sid, loc, 151 + sid % 50, now) for sid, loc in rows])
        conn.executemany("UPDATE serials SET location_id = ? WHERE id = ?",
                         [(151 + sid % 50, sid) for sid, _ in rows])
    t0 = time.perf_counter()
    r = client.get("/api/reports/stage-times", headers=headers)
    assert r.status_code == 200
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.db"
        t0 = time.perf_counter()
        app, token = build(path, args.serials, args.parties)
        seeded = time.perf_counter() - t0
        print(f"seeded in {seeded:.0f} s", flush=True)
        t0 = time.perf_counter()
        with app.app_context(), db.engine.begin() as conn:
            stays.rebuild(conn)
        built = time.perf_counter() - t0
        with sqlite3.connect(path) as conn:
            stay_rows, week_rows = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                    for t in ("stage_stays", "stage_weeks"))
        print(f"stage stays built in {built:.1f} s ({stay_rows:,} stays, {week_rows} weeks "
              "summarised)", flush=True)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        n = args.serials // 2
        lot = f"LOT{(n - 1) // LOT_SIZE:05d}"
        recall_units = len(client.get(f"/api/recall?lot={lot}",
                                      headers=headers).get_json()["units"])
        base = timed(client, headers, f"/api/serials/{serial_text(n)}", args.rounds)
        cases = [("recall", f"GET /api/recall?lot={lot} ({recall_units} units)",
                  f"/api/recall?lot={lot}"),
                 ("stage-times", "GET /api/reports/stage-times (12 weeks)",
                  "/api/reports/stage-times")]
        events = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
        lines = [f"SQLite, {args.serials:,} serials and {events:,} events (seeded in "
                 f"{seeded:.0f} s); median of {args.rounds} warm calls over the app's HTTP "
                 "layer (Flask test client).", "",
                 "| query | ms | ratio to baseline | target |", "|---|---:|---:|---|",
                 f"| baseline: GET /api/serials/<serial> | {base:.1f} | 1.00 | |"]
        for name, label, url in cases:
            ms = timed(client, headers, url, args.rounds)
            target = TARGETS_MS[name]
            lines.append(f"| {label} | {ms:.1f} | {ms / base:.2f} | < {target} ms: "
                         f"{'met' if ms < target else 'MISSED'} |")
            print(lines[-1], flush=True)
        ms = _after_new_events(path, client, headers, args.serials)
        lines.append(f"| the same, first call after {NEW_EVENTS:,} new events (catches up "
                     f"with them) | {ms:.1f} | {ms / base:.2f} | |")
        lines += ["", f"The time-in-stage tables were built once from the {events:,} events in "
                  f"{built:.1f} s ({stay_rows:,} stays, {week_rows} finished weeks summarised): "
                  "what the migration that adds them takes on a shop of this size."]
        print("\n".join(lines))
        if args.write:
            write_section("records", "## Recall and stage times\n\nMade with "
                          f"`.venv/bin/python bench/records.py --serials {args.serials} "
                          "--write`.\n\n" + "\n".join(lines))
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
