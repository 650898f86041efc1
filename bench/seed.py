"""A shop at scale for the benchmarks, written by the bulk path: the migrations build the
schema, a manager is made through the app, then the rows go straight in (SQLite:
executemany in one transaction; PostgreSQL: COPY), ANALYZEd after.

The shop: 100 products (SKU-001 holds 30% of the units, the other 99 share the rest),
200 locations (1-150 pickable storage, 151-200 stages), `parties` customers and as many
sales orders, and `count` units, each received, moved to a stage, and then moved on to
storage or (one in three) shipped to a customer on an order: three events a unit. The
receipts are spread over the 52 weeks before the last 8 days, so every stay has ended.
Of the orders, 4% are open (a line of 2 units, none picked yet), 1% have a unit picked
and waiting at its stage (the pick list and the ship list), the rest are shipped.

    from seed import build, serial_text
    url, token = build("sqlite:///x.db", 1_000_000, 20_000)
"""
import sqlite3
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from serialapp import auth  # noqa: E402
from serialapp.app import create_app  # noqa: E402
from serialapp.config import database_url  # noqa: E402
from serialapp.extensions import db  # noqa: E402

LOT_SIZE = 200
LOCATIONS = 200  # 1-150 storage, 151-200 stages
PRODUCTS = 100
NOW = datetime.utcnow().replace(microsecond=0)
SPAN_S = 52 * 7 * 24 * 3600
USER, PASSWORD = "bench", "bench-pw-1"


def serial_text(n: int) -> str:
    return f"SN{n * 7919 % 10_000_000_000:010d}X{n % 97:02d}"


def product_of(n: int) -> int:
    return 1 if n % 10 < 3 else 2 + n % (PRODUCTS - 1)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.000000")


class Orders:
    """Which orders are shipped, open and picked, out of `parties`."""

    def __init__(self, parties: int):
        self.open = max(1, parties * 4 // 100)
        self.picked = max(1, parties // 100)
        self.shipped = parties - self.open - self.picked
        self.parties = parties

    def status(self, order: int) -> str:
        if order <= self.shipped:
            return "shipped"
        return "open" if order <= self.shipped + self.open else "picked"


def plan(n: int, count: int, orders: Orders) -> dict:
    """Unit n's whole story: its three events and where it ends."""
    received = NOW - timedelta(days=8, seconds=SPAN_S * ((n * 7_777) % count) / count)
    staged = received + timedelta(hours=1 + n % 48)
    left = staged + timedelta(hours=2 + (n * 13) % 120)
    storage, stage = 1 + n % 150, 151 + n % 50
    step = max(1, count // orders.picked)
    if n % step == 0 and n // step <= orders.picked:  # picked, waiting at its stage
        order = orders.shipped + orders.open + n // step
        return dict(received=received, staged=staged, left=left, storage=storage, stage=stage,
                    status="picked", location=stage, order=order, customer=None, end="pick")
    if n % 3 == 0:
        order = 1 + n % orders.shipped
        return dict(received=received, staged=staged, left=left, storage=storage, stage=stage,
                    status="shipped", location=None, order=order, customer=order, end="ship")
    return dict(received=received, staged=staged, left=left, storage=storage, stage=stage,
                status="in_stock", location=storage, order=None, customer=None, end="move")


SERIAL_COLUMNS = ("id", "product_id", "serial", "serial_key", "search_key", "search_rev",
                  "status", "location_id", "lot", "sales_order_id", "customer_id", "shipped_at",
                  "version", "received_at")
EVENT_COLUMNS = ("serial_id", "type", "from_status", "to_status", "from_location_id",
                 "to_location_id", "sales_order_id", "customer_id", "at", "source")


def _rows(count: int, parties: int):
    """(tables in load order: name, columns, rows)."""
    orders = Orders(parties)
    now = _ts(NOW)
    lines: Counter = Counter()
    for n in range(1, count + 1):
        p = plan(n, count, orders)
        if p["order"]:
            lines[(p["order"], product_of(n))] += 1
    for order in range(orders.shipped + 1, orders.shipped + orders.open + 1):
        lines[(order, 1 + order % PRODUCTS)] += 2  # open: 2 units wanted, none picked
    picked_lines = {(o, pr) for (o, pr) in lines if orders.status(o) == "picked"}

    def serials():
        for n in range(1, count + 1):
            p = plan(n, count, orders)
            key = serial_text(n).casefold()
            yield (n, product_of(n), serial_text(n), key, key, key[::-1], p["status"],
                   p["location"], f"LOT{(n - 1) // LOT_SIZE:05d}", p["order"], p["customer"],
                   _ts(p["left"]) if p["status"] == "shipped" else None, 3, _ts(p["received"]))

    def events():
        for n in range(1, count + 1):
            p = plan(n, count, orders)
            yield (n, "receive", None, "in_stock", None, p["storage"], None, None,
                   _ts(p["received"]), "import")
            yield (n, "move", "in_stock", "in_stock", p["storage"], p["stage"], None, None,
                   _ts(p["staged"]), "import")
            if p["end"] == "ship":
                yield (n, "ship", "picked", "shipped", p["stage"], None, p["order"],
                       p["customer"], _ts(p["left"]), "import")
            elif p["end"] == "pick":
                yield (n, "pick", "in_stock", "picked", p["stage"], p["stage"], p["order"],
                       None, _ts(p["left"]), "import")
            else:
                yield (n, "move", "in_stock", "in_stock", p["stage"], p["storage"], None, None,
                       _ts(p["left"]), "import")

    return [
        ("products", ("id", "sku", "name", "warranty_days", "attributes", "next_seq",
                      "created_at", "serials_case_sensitive"),
         [(n, f"SKU-{n:03d}", f"Product {n}", 365, "{}", 1, now, False)
          for n in range(1, PRODUCTS + 1)]),
        ("locations", ("id", "code", "name", "kind", "pickable"),
         [(n, f"LOC-{n:03d}", "", "storage" if n <= 150 else "stage", n <= 150)
          for n in range(1, LOCATIONS + 1)]),
        ("customers", ("id", "code", "name", "email", "phone"),
         [(n, f"C{n:06d}", f"Customer {n:06d} Ltd", f"buyer{n}@example.com",
           f"+1 555-{n:07d}") for n in range(1, parties + 1)]),
        ("sales_orders", ("id", "number", "customer_id", "status", "created_at"),
         [(n, f"SO-{n:06d}", n, orders.status(n), now) for n in range(1, parties + 1)]),
        ("sales_order_lines", ("id", "sales_order_id", "product_id", "qty", "filled_qty"),
         [(i, o, pr, qty, qty if orders.status(o) == "shipped" or (o, pr) in picked_lines
           else 0) for i, ((o, pr), qty) in enumerate(sorted(lines.items()), 1)]),
        ("serials", SERIAL_COLUMNS, serials()),
        ("events", EVENT_COLUMNS, events()),
    ]


def _load_sqlite(path: str, tables) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # seeding only; the app itself runs FULL
    # serial_counts' triggers would run per row: dropped for the load and made again, the
    # counts made once after it, as the migration does for the units already there.
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'serials'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    for name, columns, rows in tables:
        conn.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})", rows)
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("DELETE FROM serial_counts")
    conn.execute("INSERT INTO serial_counts (product_id, status, n) SELECT product_id, status, "
                 "count(*) FROM serials GROUP BY product_id, status")
    conn.commit()
    conn.execute("ANALYZE")
    # Into the database file now: otherwise the app's first commits would checkpoint a
    # WAL of the whole load (a gigabyte) while the benchmark times them.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _load_postgres(url: str, tables) -> None:
    import psycopg
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        with conn.cursor() as cur:
            # serial_counts' triggers would run per row: off for the load, and the counts
            # made once after it, as the migration does for the units already there.
            cur.execute("ALTER TABLE serials DISABLE TRIGGER USER")
            for name, columns, rows in tables:
                with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                if "id" in columns:  # the app's next insert takes the next id
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                f"(SELECT max(id) FROM {name}))")
            cur.execute("ALTER TABLE serials ENABLE TRIGGER USER")
            cur.execute("DELETE FROM serial_counts")
            cur.execute("INSERT INTO serial_counts (product_id, status, n) SELECT product_id, "
                        "status, count(*) FROM serials GROUP BY product_id, status")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # the visibility map: index-only scans, as in a shop


def fresh_database(url: str | None, name: str, sqlite_dir: Path | None = None) -> str:
    """A new empty database `name` on the PostgreSQL server of `url` (dropped first); with no
    `url`, the SQLite file `name`.db in `sqlite_dir` (made by the migrations on first use)."""
    if not url:
        if sqlite_dir is None:
            raise ValueError("no server URL: a SQLite database needs sqlite_dir")
        return f"sqlite:///{Path(sqlite_dir) / f'{name}.db'}"
    url = make_url(database_url(url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    url = make_url(url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def build(url: str, count: int, parties: int) -> str:
    """Migrate the empty database at `url`, make the manager USER, bulk-load the shop;
    returns the manager's bearer token."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        token = auth.issue_token(auth.create_user(USER, "manager", PASSWORD))
        db.engine.dispose()
    tables = _rows(count, parties)
    if url.startswith("sqlite:///"):
        _load_sqlite(url.removeprefix("sqlite:///"), tables)
    else:
        _load_postgres(url, tables)
    return token
