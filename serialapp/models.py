"""Tables only. Serial state is written by `inventory` alone."""
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
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
        Index("ix_serials_product_status", "product_id", "status"),
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
