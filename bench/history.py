"""The history check at scale: bench/records.py's shop (1,000,000 serials, 3,000,000 events
in a SQLite file), its events chained by the migration's own backfill, then
`flask --app app checkpoint-history` and `flask --app app verify-history` run as the
commands they are, each timed, with its peak memory (the child process's max RSS). Run it
at two sizes to see that memory does not grow with the history.

    .venv/bin/python bench/history.py [--serials 1000000] [--write]
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from records import build  # noqa: E402
from report import write_section  # noqa: E402
from serialapp.extensions import db  # noqa: E402

MIGRATION = ROOT / "migrations" / "versions" / "5e1c7a2b9d40_history_chain.py"


def settle(path: Path) -> None:
    """records.py leaves a unit whose shipping lies in the future in stock, while its events
    already say shipped; verify-history would rightly name each. Make them agree."""
    import sqlite3
    conn = sqlite3.connect(path)
    last = "(SELECT {} FROM events e WHERE e.serial_id = serials.id ORDER BY e.id DESC LIMIT 1)"
    conn.execute(f"UPDATE serials SET status = {last.format('to_status')}, "
                 f"location_id = {last.format('to_location_id')} "
                 f"WHERE status != {last.format('to_status')}")
    conn.commit()
    conn.close()


def backfill(app) -> float:
    """Chain the seeded events as the migration does on upgrade; seconds taken."""
    spec = importlib.util.spec_from_file_location("history_chain_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    start = time.perf_counter()
    with app.app_context(), db.engine.begin() as conn:
        migration._backfill(conn)
    with app.app_context():
        db.engine.dispose()
    return time.perf_counter() - start


def command(path: Path, tmp: Path, *args) -> tuple[float, float, str]:
    """Run `flask --app app ARGS` on the file; (seconds, peak MiB, last line of output)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
           "HISTORY_KEY_FILE": str(tmp / "history_key"),
           "HISTORY_CHECKPOINT_FILE": str(tmp / "history_checkpoint")}
    start = time.perf_counter()
    child = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", *args],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest yet
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "history.db"
        t0 = time.perf_counter()
        app, _ = build(path, args.serials, args.parties)
        seeded = time.perf_counter() - t0
        print(f"seeded in {seeded:.0f} s", flush=True)
        settle(path)
        chained = backfill(app)
        print(f"chained in {chained:.0f} s", flush=True)
        rows = []
        for name, argv in (("checkpoint-history (first)", ("checkpoint-history",)),
                           ("verify-history", ("verify-history",)),
                           ("checkpoint-history (against the last)", ("checkpoint-history",))):
            seconds, mib, last = command(path, tmp, *argv)
            print(f"{name}: {seconds:.1f} s, {mib:.0f} MiB: {last}", flush=True)
            rows.append((name, seconds, mib))
        size = (tmp / "history_checkpoint").stat().st_size
        events = 3 * args.serials  # records.py: three events a unit
        lines = [f"SQLite file, {args.serials:,} serials and {events:,} events (bench/records.py's "
                 f"shop); the migration's backfill chained them in {chained:.0f} s. Each command "
                 "run once as a process; peak memory is its max RSS (Python, SQLAlchemy and "
                 "the app included).", "",
                 "| command | s | peak MiB |", "|---|---:|---:|"]
        lines += [f"| `{name}` | {seconds:.1f} | {mib:.0f} |" for name, seconds, mib in rows]
        lines += ["", f"The checkpoint file: {size / 1e6:.1f} MB "
                      f"({size / args.serials:.0f} bytes a serial)."]
        print("\n".join(lines))
        if args.write:
            write_section("history", "## History check\n\nMade with "
                          f"`.venv/bin/python bench/history.py --serials {args.serials} "
                          "--write`.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
