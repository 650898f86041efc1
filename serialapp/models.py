"""Tables only. Serial state is written by `inventory` alone."""
from datetime import date, datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index,
                        Integer, LargeBinary, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of every session and remember-me cookie (see get_id): bumped on logout, on a
    # password change and on disabling, so a cookie saved before then no longer logs in.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_active(self):
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # sha256 of the token: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship()


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)  # GTIN-14 form
    serial_pattern: Mapped[str | None] = mapped_column(String(200))
    warranty_days: Mapped[int] = mapped_column(Integer, default=0)
    # Serials differing only in letter case are one unit unless this is set (serials.key);
    # GS1 products default to it (AI 21 serials are case-sensitive by standard).
    serials_case_sensitive: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default="0")
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)  # for minted serials
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Location(db.Model):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), default="storage")
    pickable: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(db.Model):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))  # the person to ask for
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    # e.g. an FFL number: the acquisition and disposition record names it.
    licence: Mapped[str | None] = mapped_column(String(64))


class Supplier(db.Model):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(String(64))


class PurchaseOrder(db.Model):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    # open, closed (nothing more is expected, short or not) or cancelled (nothing came).
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="order", order_by="PurchaseOrderLine.id")


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("purchase_order_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    # Maintained in the same transaction as each receipt; the conditional
    # UPDATE on it is what stops two racing receipts from over-receiving.
    received_qty: Mapped[int] = mapped_column(Integer, default=0)
    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class SalesOrder(db.Model):
    __tablename__ = "sales_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # open, picked, partially_shipped or shipped: settled by inventory.orders after every
    # pick, unpick and ship (lifecycle.ORDER_STATUSES says what each means).
    status: Mapped[str] = mapped_column(String(24), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list["SalesOrderLine"]] = relationship(
        back_populates="order", order_by="SalesOrderLine.id")


class SalesOrderLine(db.Model):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("sales_order_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    # Serials picked or shipped on this line; guarded like received_qty.
    filled_qty: Mapped[int] = mapped_column(Integer, default=0)
    order: Mapped[SalesOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class Serial(db.Model):
    __tablename__ = "serials"
    __table_args__ = (
        UniqueConstraint("product_id", "serial_key"),
        # The product page's stock per status and location, read from the index alone.
        Index("ix_serials_product_status_location", "product_id", "status", "location_id"),
        # Home's counts and the ship and unpick lists: the few picked units, found directly.
        Index("ix_serials_status_sales_order", "status", "sales_order_id"),
        # A product's serials a page (or an export chunk) at a time, in id order.
        Index("ix_serials_product_id_id", "product_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    serial: Mapped[str] = mapped_column(String(100), index=True)  # as received (canonical)
    # What uniqueness and lookups compare: the serial, case-folded unless the product's
    # serials are case-sensitive (serials.key). Written with the serial, never changed.
    # Folding may lengthen a text up to threefold ("ﬃ" -> "ffi"): 64 characters need 192.
    serial_key: Mapped[str] = mapped_column(String(200), index=True)
    # For search by part of a serial: the serial case-folded, and the same reversed, so a
    # prefix and a suffix are each a range on an index (search.py), at any number of units.
    search_key: Mapped[str | None] = mapped_column(String(200), index=True)
    search_rev: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    lot: Mapped[str | None] = mapped_column(String(40), index=True)
    expiry: Mapped[datetime | None] = mapped_column(Date)
    purchase_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_orders.id"), index=True)
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    warranty_until: Mapped[datetime | None] = mapped_column(Date)
    # Bumped by every transition: the conditional UPDATE on it is the lock
    # that keeps two racing requests from both moving the same serial.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The hash of the serial's last event (chain.py): written with each event, under the
    # same version lock, so the chain stays one line. None: no events yet.
    history_head: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    product: Mapped[Product] = relationship()
    location: Mapped[Location | None] = relationship()
    purchase_order: Mapped[PurchaseOrder | None] = relationship()
    sales_order: Mapped[SalesOrder | None] = relationship()
    customer: Mapped[Customer | None] = relationship()


class SerialCount(db.Model):
    """Units per product and status, kept by database triggers on serials (migration
    7963c112e019), never written by the app: home's and the product page's counts at a
    million units read these few rows instead of counting the units."""
    __tablename__ = "serial_counts"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Event(db.Model):
    """One transition of one serial. Append-only: rows are never updated or deleted."""
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_serial_id_id", "serial_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serials.id"))
    type: Mapped[str] = mapped_column(String(16), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    note: Mapped[str | None] = mapped_column(Text)
    # On a return: whether the unit came back while in warranty (None on other events).
    warranty_return: Mapped[bool | None] = mapped_column(Boolean)
    # The chain (chain.py): this event's hash, over its fields and the previous event's
    # hash, and the start of that previous hash (to tell a missing event from an altered one).
    hash: Mapped[str | None] = mapped_column(String(64))
    prev: Mapped[str | None] = mapped_column(String(16))
    serial: Mapped[Serial] = relationship()
    from_location: Mapped[Location | None] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location | None] = relationship(foreign_keys=[to_location_id])
    sales_order: Mapped[SalesOrder | None] = relationship()
    purchase_order: Mapped[PurchaseOrder | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    user: Mapped[User | None] = relationship()


class IdempotencyRecord(db.Model):
    """The first answer to a POST with an Idempotency-Key, replayed on retry."""
    __tablename__ = "idempotency_records"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: still being processed
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class IdempotencyStep(db.Model):
    """What one step of a keyed request did, written in that step's own transaction, so a
    retry after a crash answers the steps already done as they were and does only the rest.
    Step -1 holds the request's plan (the serials it acts on, in order), written with the
    first step: a retry then walks the same list even if a photo decodes differently."""
    __tablename__ = "idempotency_steps"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    result: Mapped[str] = mapped_column(Text)


class LoginFailure(db.Model):
    """One failed login, counted per account name and per address to throttle guessing.
    In the database, not in memory, so every worker process sees the same count."""
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Recall(db.Model):
    """A recall as it was run: its scope (the query's parameters) and who ran it, so the
    same list can be opened again later. The units are found afresh each time it is
    opened: the list is about where they are now, and events say what they went through."""
    __tablename__ = "recalls"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when the manager confirmed quarantining its in-stock units (each unit has its
    # own quarantine event naming the recall).
    quarantined_at: Mapped[datetime | None] = mapped_column(DateTime)
    user: Mapped[User | None] = relationship()


class BookEntry(db.Model):
    """What the acquisition and disposition book adds to the events. The book's original
    entries are the events themselves (receive, ship, return, scrap); rows here are
    corrections (a new entry pointing to the entry it corrects: the event, and the
    correction before it if any) and theft/loss details. Append-only, like events."""
    __tablename__ = "book_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # correction | theft_loss
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("book_entries.id"))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[Event] = relationship()
    user: Mapped[User | None] = relationship()


class Stocktake(db.Model):
    """A count (a cycle count): of a location, a product, both, or the whole site (neither).
    Open while people scan; closing it compares what was scanned with what the records
    expected and writes the differences (StocktakeDifference) and the totals (`summary`)."""
    __tablename__ = "stocktakes"
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # At close: expected, found, missing, unexpected, and per location [expected, found].
    summary: Mapped[dict | None] = mapped_column(JSON)
    location: Mapped[Location | None] = relationship()
    product: Mapped[Product | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


class StocktakeScan(db.Model):
    """One serial counted: who scanned it, where, when and how. Once per count: `key` is
    the serial's id (s<id>), or for a serial not known here its folded text (t<text>), so
    two people scanning one unit at once count it once."""
    __tablename__ = "stocktake_scans"
    __table_args__ = (UniqueConstraint("stocktake_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("stocktakes.id"))
    key: Mapped[str] = mapped_column(String(210))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    text: Mapped[str] = mapped_column(String(100))  # as scanned (a GS1 string keeps its lot)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16), default="manual")


class StocktakeDifference(db.Model):
    """What a closed count found different from the records: `missing` (expected, not
    scanned) or `unexpected` (scanned; `reason` elsewhere, status or unknown), with the
    records as they stood at close, and how a manager resolved it (the serial's own event
    says what changed)."""
    __tablename__ = "stocktake_differences"
    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serials.id"))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("stocktake_scans.id"))
    text: Mapped[str] = mapped_column(String(100))
    # What the records said at the close: the unit's status and its location's code.
    recorded_status: Mapped[str | None] = mapped_column(String(16))
    recorded_location: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))  # counted here
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class Shipment(db.Model):
    """A supplier's shipping document attached to a purchase order (a CSV list, or an
    EPCIS document), kept whole as it came: the transaction data a regulator may ask for
    is the document itself, the information read from it, and the statement it makes."""
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    format: Mapped[str] = mapped_column(String(24))   # csv, epcis-1.2-xml, epcis-2.0-jsonld...
    filename: Mapped[str] = mapped_column(String(200), default="")
    media_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What the document says: seller, buyer, business transactions, transaction statement.
    info: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The document's bytes: read only when downloaded (deferred).
    document: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    purchase_order: Mapped[PurchaseOrder] = relationship()
    user: Mapped[User | None] = relationship()


class ExpectedSerial(db.Model):
    """One unit a shipment's document says was shipped on a purchase order: what receiving
    checks each scan against. Received is found by joining serials on (product, serial_key,
    purchase order); nothing here changes when a unit arrives."""
    __tablename__ = "expected_serials"
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "product_id", "serial_key"),
        Index("ix_expected_serials_gtin_serial", "gtin", "serial"),
        Index("ix_expected_serials_product_key", "product_id", "serial_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    gtin: Mapped[str | None] = mapped_column(String(14))
    serial: Mapped[str] = mapped_column(String(100))
    serial_key: Mapped[str] = mapped_column(String(200))
    lot: Mapped[str | None] = mapped_column(String(40))
    expiry: Mapped[datetime | None] = mapped_column(Date)
    case_sscc: Mapped[str | None] = mapped_column(String(18), index=True)
    product: Mapped[Product] = relationship()
    shipment: Mapped[Shipment] = relationship()


class ExpectedCase(db.Model):
    """A case (SSCC) a shipment's document lists, with the case holding it (a pallet). It
    counts as opened once a picker confirmed receiving everything it holds."""
    __tablename__ = "expected_cases"
    __table_args__ = (UniqueConstraint("purchase_order_id", "sscc"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    sscc: Mapped[str] = mapped_column(String(18), index=True)
    parent_sscc: Mapped[str | None] = mapped_column(String(18))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SuspectReceipt(db.Model):
    """A unit received against a purchase order's expected serials that the list does not
    vouch for (not on it, or another lot or expiry): received into quarantine, and why.
    Written in the receive's own step, with the serial and its event."""
    __tablename__ = "suspect_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serials.id"), unique=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    serial: Mapped[Serial] = relationship()


# ---------------------------------------------------------------- time in stage, kept

class StageStay(db.Model):
    """A unit's time at one place in stock or quarantined, cut from its events (the event
    that brought it there to the event that took it away; end_at None: still there). Not
    written by the scans: records.stays catches it up from the events it has not yet seen
    (stage_stay_marks), each touched unit's stays rebuilt from its whole history, so it is
    always what the events say. Read by the time-in-stage report."""
    __tablename__ = "stage_stays"
    __table_args__ = (Index("ix_stage_stays_end_at_start_at", "end_at", "start_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serials.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime | None] = mapped_column(DateTime)
    # end_at - start_at in whole microseconds, computed by the database when the row is
    # written, so the report reads numbers rather than parsing two timestamps a row.
    micros: Mapped[int | None] = mapped_column(BigInteger)
    start_event_id: Mapped[int] = mapped_column(Integer)


class StageStayMark(db.Model):
    """One row (id 1): every event up to last_event_id is in stage_stays; none after
    processed_to has been seen (between the two: ids may still come, PostgreSQL only)."""
    __tablename__ = "stage_stay_marks"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    processed_to: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StageWeek(db.Model):
    """A finished week (Monday) whose time-in-stage figures are in stage_week_stats. A
    week's figures are those of the stays that ended in it, so once it is over and its
    events are all in, they never change (an event that would change them, written late,
    makes records.stays forget the week and work it out again)."""
    __tablename__ = "stage_weeks"
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StageWeekStat(db.Model):
    """Per finished week, place, status and product: how many stays ended, their median
    and 90th-percentile hours (as the report shows them)."""
    __tablename__ = "stage_week_stats"
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    units: Mapped[int] = mapped_column(Integer)
    median_hours: Mapped[float] = mapped_column(Float)
    p90_hours: Mapped[float] = mapped_column(Float)
