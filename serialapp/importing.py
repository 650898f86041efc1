"""Import from CSV: products, customers, suppliers, purchase and sales orders (a row per
order line), and opening stock of serials.

First a preview: every row checked by the same rules as the pages and the API (products
and customers are written in a savepoint and taken back; serials are checked as a receive
would check them), with a sentence per row. Then the import: each row applied whole or
not at all, with its result. Opening stock goes through the service layer as receive
events with source `import`, like any scan."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from . import catalog, csvfiles, identifiers, serials
from .errors import RequestError, StepError
from .extensions import db
from .inventory import Actor, fits, receive
from .models import Location, Product, Serial

KINDS = {
    "serials": {"required": ({"serial"}, {"location"}, {"sku", "gtin"}),
                "optional": {"lot", "expiry"}},
    "products": {"required": ({"sku"}, {"name"}),
                 "optional": {"gtin", "serial_pattern", "warranty_days", "serials_case_sensitive",
                              "manufacturer", "importer", "model", "type", "caliber"}},
    "customers": {"required": ({"code"}, {"name"}),
                  "optional": {"contact", "email", "phone", "address", "licence"}},
    "suppliers": {"required": ({"code"}, {"name"}),
                  "optional": {"contact", "email", "phone", "address", "licence"}},
    # One row per order line; the rows of one order number make one order.
    "purchase_orders": {"required": ({"number"}, {"supplier"}, {"sku"}, {"qty"}),
                        "optional": set()},
    "sales_orders": {"required": ({"number"}, {"customer"}, {"sku"}, {"qty"}),
                     "optional": set()},
}
ORDER_KINDS = {"purchase_orders": "supplier", "sales_orders": "customer"}
ATTRIBUTES = ("manufacturer", "importer", "model", "type", "caliber")
MAX_ROWS = 100_000
BATCH = 500  # serials per receive call: one call's steps share a connection


@dataclass
class RowCheck:
    line: int
    ok: bool
    message: str
    values: dict = field(default_factory=dict)


@dataclass
class Checked:
    kind: str
    columns: list
    rows: list  # RowCheck, one per data row

    @property
    def good(self) -> int:
        return sum(r.ok for r in self.rows)


def guess_kind(columns: list[str]) -> str | None:
    """Serials, products and orders tell themselves apart by their columns; customers and
    suppliers have the same ones, so a file of either says which (a customer by default)."""
    cols = set(columns)
    for kind in ("serials", "purchase_orders", "sales_orders", "products", "customers"):
        if all(cols & need for need in KINDS[kind]["required"]):
            return kind
    return None


def _need_columns(kind: str, columns: list[str]) -> None:
    if kind not in KINDS:
        raise RequestError(400, "invalid_field", "Choose what the file holds: serials, "
                                                 "products, customers, suppliers, purchase "
                                                 "orders or sales orders.")
    missing = [" or ".join(sorted(need)) for need in KINDS[kind]["required"]
               if not set(columns) & need]
    if missing:
        raise RequestError(422, "missing_columns",
                           f"The file needs a column for {', '.join(missing)}; it has "
                           f"{', '.join(columns) or 'none'}.")


def read(data: bytes, kind: str | None = None) -> tuple[str, list[str], list[dict]]:
    try:
        columns, rows = csvfiles.read_rows(data)
    except csvfiles.CsvError as exc:
        raise RequestError(422, "unreadable_file", str(exc)) from None
    kind = kind or guess_kind(columns)
    if kind is None:
        raise RequestError(422, "unknown_file_kind",
                           "Say what the file holds (serials, products, customers, suppliers "
                           "or orders): its columns do not tell.")
    _need_columns(kind, columns)
    if len(rows) > MAX_ROWS:
        raise RequestError(413, "too_large", f"At most {MAX_ROWS:,} rows per file; split it.")
    return kind, columns, rows


# ------------------------------------------------------------------ checks

def _product_fields(row: dict) -> dict:
    out = {k: row[k] for k in ("sku", "name", "gtin", "serial_pattern") if row.get(k)}
    if row.get("warranty_days"):
        out["warranty_days"] = row["warranty_days"]
    if row.get("serials_case_sensitive"):
        out["serials_case_sensitive"] = row["serials_case_sensitive"].lower() in (
            "1", "yes", "true", "y")
    attributes = {k: row[k] for k in ATTRIBUTES if row.get(k)}
    if attributes:
        out["attributes"] = attributes
    return out


def _party_fields(row: dict) -> dict:
    return {k: row[k] for k in ("code", "name", "contact", "email", "phone", "address",
                                "licence") if row.get(k)}


_CREATE = {"products": (catalog.create_product, _product_fields),
           "customers": (catalog.create_customer, _party_fields),
           "suppliers": (catalog.create_supplier, _party_fields),
           "purchase_orders": (catalog.create_purchase_order, None),
           "sales_orders": (catalog.create_sales_order, None)}


def _orders(kind: str, rows: list[dict]) -> list[tuple[list[dict], dict]]:
    """Rows grouped into orders by number, in the file's order: each order is created
    whole (all its lines) or not at all, and every one of its rows says what happened."""
    party = ORDER_KINDS[kind]
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("number", ""), []).append(row)
    out = []
    for number, members in groups.items():
        values = {"number": number, party: members[0].get(party, ""),
                  "lines": [{"sku": r.get("sku", ""), "qty": r.get("qty", "")} for r in members]}
        out.append((members, values))
    return out


def _records(kind: str, rows: list[dict]) -> list[tuple[list[dict], dict]]:
    """(the file's rows, the fields to create) per record: a row each, or an order each."""
    if kind in ORDER_KINDS:
        return _orders(kind, rows)
    fields = _CREATE[kind][1]
    return [([row], fields(row)) for row in rows]


def _check_record(kind: str, rows: list[dict]) -> list[RowCheck]:
    create = _CREATE[kind][0]
    key = {"products": "sku"}.get(kind, "number" if kind in ORDER_KINDS else "code")
    seen, checks = {}, []
    token = catalog.checking_only.set(True)
    try:
        for members, values in _records(kind, rows):
            lines = [r["_line"] for r in members]
            ident = values.get(key)
            if ident in seen:
                message, ok = f"Repeats line {seen[ident]}.", False
            else:
                seen[ident] = lines[0]
                try:
                    create(values)
                    message, ok = "Ready.", True
                except RequestError as exc:
                    message, ok = exc.message, False
            for n, line in enumerate(lines):
                # An order is one record: every line of it carries the order's check, and
                # its values once (on its first row), so it is applied once.
                checks.append(RowCheck(line, ok, message, values if n == 0 else {}))
    finally:
        catalog.checking_only.reset(token)
        db.session.rollback()
    return checks


def _check_serials(rows: list[dict]) -> list[RowCheck]:
    products = {p.sku: p for p in db.session.scalars(select(Product))}
    by_gtin = {p.gtin: p for p in products.values() if p.gtin}
    locations = set(db.session.scalars(select(Location.code)))
    seen, checks = {}, []
    for row in rows:
        values = {k: row.get(k, "") for k in ("sku", "gtin", "serial", "location", "lot",
                                               "expiry")}
        line = row["_line"]

        def refuse(message, values=values, line=line):
            checks.append(RowCheck(line, False, message, values))

        product = products.get(values["sku"]) if values["sku"] else None
        if product is None and values["gtin"]:
            product = by_gtin.get(identifiers.normalize_gtin(values["gtin"]) or "")
        if product is None:
            refuse(f"There is no product {values['sku'] or values['gtin'] or '(empty)'}.")
            continue
        values["sku"] = product.sku
        if values["location"] not in locations:
            refuse(f"There is no location {values['location'] or '(empty)'}.")
            continue
        try:
            text = serials.canonical(values["serial"])
        except serials.SerialTextError as exc:
            refuse(str(exc))
            continue
        try:
            fitting = fits(product, text)
        except StepError as exc:
            refuse(exc.message)
            continue
        if not fitting:
            refuse(f"{text} does not fit the serials of {product.sku}.")
            continue
        if len(values["lot"]) > 40:
            refuse("A lot is at most 40 characters.")
            continue
        if values["expiry"]:
            try:
                date.fromisoformat(values["expiry"])
            except ValueError:
                refuse(f"The expiry {values['expiry']} is not a date like 2027-03-31.")
                continue
        key = (product.id, serials.key(text, product.serials_case_sensitive))
        if key in seen:
            refuse(f"Repeats line {seen[key]}.")
            continue
        seen[key] = line
        values["serial"] = text
        checks.append(RowCheck(line, True, "Ready.", values))
    # Already in stock: one query per product, not one per row.
    for product in products.values():
        keys = {k for (pid, k) in seen if pid == product.id}
        if not keys:
            continue
        known = set()
        key_list = sorted(keys)
        for start in range(0, len(key_list), 500):
            known |= set(db.session.scalars(select(Serial.serial_key).where(
                Serial.product_id == product.id,
                Serial.serial_key.in_(key_list[start:start + 500]))))
        for check in checks:
            if check.ok and check.values["sku"] == product.sku and serials.key(
                    check.values["serial"], product.serials_case_sensitive) in known:
                check.ok, check.message = False, "Already received."
    return checks


def check(data: bytes, kind: str | None = None) -> Checked:
    kind, columns, rows = read(data, kind)
    checks = _check_serials(rows) if kind == "serials" else _check_record(kind, rows)
    return Checked(kind, columns, checks)


# ------------------------------------------------------------------ apply

def apply(data: bytes, kind: str | None, user_id: int, role: str,
          progress: Callable[[int], None] | None = None) -> Checked:
    """Check every row, then apply the good ones, each whole or not at all. The rows come
    back with what happened to each."""
    checked = check(data, kind)
    good = [r for r in checked.rows if r.ok]
    if checked.kind == "serials":
        _apply_serials(good, Actor(user_id=user_id, role=role, source="import"), progress)
    else:
        create = _CREATE[checked.kind][0]
        record: list[RowCheck] = []
        for n, row in enumerate(good, 1):
            if row.values:  # the first row of a record (an order's other rows follow it)
                record = [row]
                try:
                    create(row.values)
                    row.message = "Added."
                except RequestError as exc:
                    row.ok, row.message = False, exc.message
            else:
                record.append(row)
                row.ok, row.message = record[0].ok, record[0].message
            if progress and n % 100 == 0:
                progress(100)
        if progress:
            progress(len(good) % 100)
    return checked


def _apply_serials(rows: list[RowCheck], actor: Actor, progress) -> None:
    """Receive in batches of rows that share product, location, lot and expiry."""
    batch: list[RowCheck] = []

    def flush():
        if not batch:
            return
        v = batch[0].values
        outcome = receive(actor, location=v["location"], sku=v["sku"], lot=v["lot"] or None,
                          expiry=v["expiry"] or None, serials=[r.values["serial"] for r in batch],
                          literal=True)
        for row, result in zip(batch, outcome.results):
            if result.get("ok") and not result.get("repeat"):
                row.message = "Received."
            else:
                row.ok = False
                row.message = result.get("error", {}).get("message") or "Already received."
        if progress:
            progress(len(batch))
        batch.clear()

    for row in rows:
        if batch and (len(batch) >= BATCH or _group(batch[0]) != _group(row)):
            flush()
        batch.append(row)
    flush()


def _group(row: RowCheck) -> tuple:
    v = row.values
    return v["sku"], v["location"], v["lot"], v["expiry"]
