"""The history check at scale: bench/records.py's shop (1,000,000 serials, 3,000,000 events
in a SQLite file), its events chained by the migration's own backfill, then
`flask --app app checkpoint-history` and `flask --app app verify-history` run as the
commands they are, each timed, with its peak memory (the child process's max RSS). Run it
at two sizes to see that memory does not grow with the history.

    .venv/bin/python bench/history.py [--serials 100000 1000000] [--write]
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


def command(path: Path, tmp: Path, *args) -> tuple[float, float, float, str]:
    """Run `flask --app app ARGS` on the file; (seconds, CPU seconds, peak MiB, last line
    of its output)."""
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
    return (seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
            output.strip().splitlines()[-1])


def run(size: int, parties: int) -> tuple[list, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "history.db"
        t0 = time.perf_counter()
        app, _ = build(path, size, parties)
        print(f"{size:,} serials seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        settle(path)
        chained = backfill(app)
        print(f"chained in {chained:.0f} s", flush=True)
        rows = []
        for name, argv in (("checkpoint-history (the first)", ("checkpoint-history",)),
                           ("verify-history", ("verify-history",)),
                           ("checkpoint-history (against the last)", ("checkpoint-history",))):
            seconds, cpu, mib, last = command(path, tmp, *argv)
            print(f"{name}: {seconds:.1f} s, {cpu:.1f} s CPU, {mib:.0f} MiB: {last}", flush=True)
            rows.append((size, name, seconds, cpu, mib))
        size_bytes = (tmp / "history_checkpoint").stat().st_size
        return rows, {"size": size, "chained": chained, "bytes": size_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serials", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    rows, facts = [], []
    for size in args.serials:
        found, fact = run(size, min(args.parties, size))
        rows += found
        facts.append(fact)
    lines = ["SQLite file, bench/records.py's shop (three events a unit), its events chained by "
             "the migration's own backfill; each command run once as a process, as cron "
             "would; peak memory is its max RSS (the app's imports included).", "",
             "| serials | events | command | s | CPU s | peak MiB |",
             "|---:|---:|---|---:|---:|---:|"]
    lines += [f"| {size:,} | {3 * size:,} | `{name}` | {seconds:.1f} | {cpu:.1f} | {mib:.0f} |"
              for size, name, seconds, cpu, mib in rows]
    lines.append("")
    lines += [f"- {f['size']:,} serials: the migration's backfill chained {3 * f['size']:,} "
              f"events in {f['chained']:.0f} s; the checkpoint file is "
              f"{f['bytes'] / 1e6:.1f} MB ({f['bytes'] / f['size']:.0f} bytes a serial)."
              for f in facts]
    print("\n".join(lines))
    if args.write:
        write_section("history", "## History check\n\nMade with `.venv/bin/python "
                      f"bench/history.py --serials {' '.join(map(str, args.serials))} "
                      "--write`.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
