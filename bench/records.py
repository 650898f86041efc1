"""Records at scale: 1,000,000 serials and 3,000,000 events in a SQLite file built by the
migrations, then GET /api/recall?lot= (one lot, 200 units, some shipped to customers) and
GET /api/reports/stage-times (12 weeks, the default) over the Flask test client; median of
20 warm calls each, next to the same run's GET /api/serials/<serial> as the baseline.

The shop is bench/seed.py's: each unit is received, moved to a stage, and then either
moved on to storage or (one in three) shipped to a customer; the receipts are spread over
52 weeks, so the 12-week report window holds about a quarter of the history, as it would
in a shop.

    .venv/bin/python bench/records.py [--serials 1000000] [--write]
"""
import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed  # noqa: E402
from report import timed, write_section  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.extensions import db  # noqa: E402

TARGETS_MS = {"recall": 200, "stage-times": 500}
LOT_SIZE = seed.LOT_SIZE
serial_text = seed.serial_text


def build(path: Path, count: int, parties: int) -> tuple:
    """The shop of bench/seed.py in a SQLite file: (app, a manager's token)."""
    url = f"sqlite:///{path}"
    token = seed.build(url, count, parties)
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"}), token


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
        print("\n".join(lines))
        if args.write:
            write_section("records", "## Recall and stage times\n\nMade with "
                          f"`.venv/bin/python bench/records.py --serials {args.serials} "
                          "--write`.\n\n" + "\n".join(lines))
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
