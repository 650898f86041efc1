"""The search box at scale: 1,000,000 serials, 20,000 customers and 20,000 orders in a
SQLite file (bench/seed.py's shop), then GET /api/search for a serial's start, its end, a
whole scanned serial, a customer's name, a phone number and an order number; median of 20
warm calls each, next to the same run's GET /api/serials/<serial> (one indexed lookup) as
the baseline.

    .venv/bin/python bench/search.py [--serials 1000000] [--write]
"""
import argparse
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

TARGET_MS = 100


def build(path: Path, count: int, parties: int) -> tuple:
    """The shop of bench/seed.py in a SQLite file: (app, a manager's token)."""
    url = f"sqlite:///{path}"
    token = seed.build(url, count, parties)
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"}), token


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
        serial = seed.serial_text(n)
        base = timed(client, headers, f"/api/serials/{serial}")
        cases = [
            ("start of a serial (6 characters)", serial[:6].lower()),
            ("end of a serial (5 characters)", serial[-5:]),
            ("a whole serial, scanned", serial),
            ("customer name, part", f"customer {n % args.parties:06d}"),
            ("phone number without spaces", f"555{n % args.parties:07d}"),
            ("order number", f"SO-{n % args.parties:06d}"),
            ("a lot", f"LOT{(n - 1) // seed.LOT_SIZE:05d}"),
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
