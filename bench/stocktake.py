"""Closing a count (stocktake) of 10,000 expected serials: a shelf holding 10,000 units in a
site of 200,000, counted through the API (9,950 of them found, 30 recorded at another shelf,
20 not known here), then POST /api/stocktakes/<id>/close; the worst case too (nothing
scanned: 10,000 missing). Each figure is the median of a few rounds, next to the same run's
baseline: the plain SQL read of the 10,000 units a close must compare (the floor of any
close). Target: a close under 2 s.

    .venv/bin/python bench/stocktake.py [--rounds 3] [--write]
    .venv/bin/python bench/stocktake.py --database-url postgresql://serialapp:serialapp@127.0.0.1:54329/x
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from report import write_section  # noqa: E402
from seed import drop_database, fresh_database  # noqa: E402
from serialapp import auth  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402
from serialapp.models import Location, Product, Serial  # noqa: E402

TARGET_S = 2.0
SHELF = 1             # the counted location's id
LOCATIONS = 200
NOW = "2026-11-01 10:00:00"


def serial_text(n: int) -> str:
    return f"SN{n:09d}"


def build(url: str, total: int, shelf: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        token = auth.issue_token(auth.create_user("bench", "manager", "bench-pw-1"))
        with db.engine.begin() as conn:
            conn.execute(insert(Product), [{"id": 1, "sku": "WIDGET", "name": "Widget",
                                            "warranty_days": 0, "attributes": {}, "next_seq": 1,
                                            "serials_case_sensitive": False}])
            conn.execute(insert(Location), [{"id": n, "code": f"LOC-{n:03d}", "name": "",
                                             "kind": "storage", "pickable": True}
                                            for n in range(1, LOCATIONS + 1)])
            # The shelf holds serials 1..shelf; the rest of the site is spread over the others.
            batch = []
            for n in range(1, total + 1):
                s = serial_text(n)
                key = s.casefold()
                loc = SHELF if n <= shelf else 2 + n % (LOCATIONS - 1)
                batch.append({"product_id": 1, "serial": s, "serial_key": key,
                              "search_key": key, "search_rev": key[::-1], "status": "in_stock",
                              "location_id": loc, "version": 1})
                if len(batch) == 10_000:
                    conn.execute(insert(Serial), batch)
                    batch = []
            if batch:
                conn.execute(insert(Serial), batch)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
    return app, token


def baseline_ms(app) -> float:
    """The floor: read the shelf's expected units (id, place, status, text) in plain SQL."""
    sql = text("SELECT id, location_id, status, serial FROM serials WHERE status IN "
               "('in_stock', 'quarantined') AND location_id = :loc")
    times = []
    with app.app_context(), db.engine.connect() as conn:
        for _ in range(5):
            start = time.perf_counter()
            rows = conn.execute(sql, {"loc": SHELF}).all()
            times.append((time.perf_counter() - start) * 1000)
    assert len(rows) >= 10_000 or rows, len(rows)
    return statistics.median(times)


def one_round(client, headers, shelf: int, scan: bool) -> dict:
    r = client.post("/api/stocktakes", json={"location": "LOC-001"}, headers=headers)
    assert r.status_code == 201, r.get_json()
    count_id = r.get_json()["id"]
    figures = {}
    if scan:
        texts = [serial_text(n) for n in range(1, shelf - 49)]          # 9,950 of the shelf
        texts += [serial_text(shelf + n) for n in range(1, 31)]         # 30 from elsewhere
        texts += [f"UNKNOWN-{n:04d}" for n in range(1, 21)]             # 20 not known here
        start = time.perf_counter()
        for i in range(0, len(texts), 1000):
            r = client.post(f"/api/stocktakes/{count_id}/scans",
                            json={"serials": texts[i:i + 1000]}, headers=headers)
            assert r.status_code == 200 and all(x["ok"] for x in r.get_json()["results"])
        figures["scan_per_s"] = len(texts) / (time.perf_counter() - start)
        start = time.perf_counter()
        r = client.get(f"/api/stocktakes/{count_id}", headers=headers)
        figures["progress_ms"] = (time.perf_counter() - start) * 1000
        assert r.get_json()["progress"]["found"] == shelf - 50
    start = time.perf_counter()
    r = client.post(f"/api/stocktakes/{count_id}/close", headers=headers)
    figures["close_ms"] = (time.perf_counter() - start) * 1000
    assert r.status_code == 200, r.get_json()
    p = r.get_json()["progress"]
    figures["result"] = (p["expected"], p["found"], p["missing"], p["unexpected"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serials", type=int, default=200_000)
    parser.add_argument("--shelf", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (default SQLite)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, f"serialapp_stocktake_{os.getpid()}", Path(tmp))
        kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        t0 = time.perf_counter()
        app, token = build(url, args.serials, args.shelf)
        seeded = time.perf_counter() - t0
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            floor = baseline_ms(app)
            counted = [one_round(client, headers, args.shelf, True) for _ in range(args.rounds)]
            empty = [one_round(client, headers, args.shelf, False) for _ in range(args.rounds)]
        finally:
            with app.app_context():
                db.engine.dispose()
            if kind == "postgresql":
                drop_database(url)
    close = statistics.median(r["close_ms"] for r in counted)
    worst = statistics.median(r["close_ms"] for r in empty)
    scans = statistics.median(r["scan_per_s"] for r in counted)
    progress = statistics.median(r["progress_ms"] for r in counted)
    e, f, m, u = counted[0]["result"]
    verdict = "met" if max(close, worst) < TARGET_S * 1000 else "MISSED"
    command = ".venv/bin/python bench/stocktake.py" + (
        " --database-url ..." if kind == "postgresql" else "") + \
        f" --rounds {args.rounds}" + " --write"
    lines = [
        f"{kind}, {args.serials:,} serials of which {args.shelf:,} on the counted shelf "
        f"(seeded in {seeded:.0f} s); median of {args.rounds} rounds, each a new count "
        f"through the API (Flask test client), on {platform.machine()}. The counted round "
        f"closed as {e:,} expected, {f:,} found, {m} missing, {u} unexpected. "
        f"Target: a close under {TARGET_S:.0f} s: {verdict}.", "",
        "| figure | value | ratio to baseline |", "|---|---:|---:|",
        f"| baseline: SELECT the shelf's {args.shelf:,} units (plain SQL) | {floor:.1f} ms "
        f"| 1.00 |",
        f"| POST /api/stocktakes/<id>/close, {f:,} found + {m} missing + {u} unexpected "
        f"| {close:.1f} ms | {close / floor:.1f} |",
        f"| the same, nothing scanned ({args.shelf:,} missing) | {worst:.1f} ms "
        f"| {worst / floor:.1f} |",
        f"| GET /api/stocktakes/<id> while open (live progress) | {progress:.1f} ms "
        f"| {progress / floor:.1f} |",
        f"| POST .../scans in batches of 1,000, serials/s | {scans:,.0f} | |",
    ]
    print("\n".join(lines))
    if args.write:
        write_section(f"stocktake-{kind}", f"## Closing a count ({kind})\n\nMade with "
                      f"`{command}`.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
