"""Each serial's events as a hash chain: an event's hash covers what it records (and the
serial it belongs to) and the hash of the event before it; the serial keeps the hash of its
last event (`history_head`). Rewriting, inserting or deleting an event without recomputing
every hash after it breaks a link; recomputing them is caught by the signed checkpoint
(history.py), which pins every serial's head as it was.

Pure: no Flask, no database. The encoding is versioned (the first field): a change to it is
a new version, never an edit of this one, or every chain already written would break."""
import hashlib
from datetime import datetime, timezone

_type = type  # `type` is also an event field's name

VERSION = "serialapp-event-1"
# The prev of a serial's first event.
GENESIS = "0" * 64
# How much of the previous hash an event keeps beside its own (`events.prev`): not for
# security (the hash covers the whole previous hash), only to tell a missing event (the
# link points elsewhere) from an altered one (the link holds, the fields do not).
PREV_CHARS = 16

# What an event's hash covers, in this order, each as a keyword of `event_hash`.
FIELDS = ("serial_id", "product_id", "serial", "type", "from_status", "to_status",
          "from_location_id", "to_location_id", "purchase_order_id", "sales_order_id",
          "customer_id", "user_id", "at", "source", "note", "warranty_return")


def _at(value) -> str:
    """A moment as ISO 8601 UTC with microseconds, however the database gave it back
    (SQLite's text read as it is, too); text that names no moment is kept apart."""
    if _type(value) is str:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return "?" + value
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat("T", "microseconds") + "Z"


# Each field is written by what its column holds, so that no choice of note or serial can
# make two different events encode alike: "-" for None, "i<digits>" for an id, "s<length>:"
# and the text for text (length-prefixed: a "|" inside proves nothing), "T"/"F" for a flag.
def _id(value) -> str:
    if value is None:
        return "-"
    return "i%d" % value if isinstance(value, int) else f"i{value}"


def _text(value) -> str:
    if value is None:
        return "-"
    value = str(value)
    return f"s{len(value)}:{value}"


def encode(prev: str, serial_id: int, product_id: int, serial: str, type: str,
           from_status: str | None, to_status: str, from_location_id: int | None,
           to_location_id: int | None, purchase_order_id: int | None,
           sales_order_id: int | None, customer_id: int | None, user_id: int | None,
           at: datetime, source: str | None, note: str | None,
           warranty_return: bool | int | None) -> bytes:
    """The canonical bytes an event's hash is taken over (positional or by keyword)."""
    return "|".join((
        VERSION, prev, _id(serial_id), _id(product_id), _text(serial), _text(type),
        _text(from_status), _text(to_status), _id(from_location_id), _id(to_location_id),
        _id(purchase_order_id), _id(sales_order_id), _id(customer_id), _id(user_id),
        "t" + _at(at), _text(source), _text(note), _flag(warranty_return),
    )).encode("utf-8", "surrogatepass")


def _flag(value) -> str:
    if value is None:
        return "-"
    if value is True or value is False or value == 0 or value == 1:  # SQLite: 0 or 1
        return "T" if value else "F"
    return _text(value)  # not a flag at all: an edit, and it must show


# `encode`'s bytes in one %-format, for the types the app writes: on every scan's path.
_WRITTEN = (VERSION + "|%s|i%d|i%d|s%d:%s|s%d:%s|%s|s%d:%s|%s|%s|%s|%s|%s|%s|t%sZ|s%d:%s|%s|%s")


def event_hash(prev: str | None, *values, **fields) -> str:
    """The hash (64 hex digits) of an event whose predecessor's hash is `prev` (None or
    GENESIS for a serial's first event); its FIELDS in order, or by name."""
    return hashlib.sha256(encode(prev or GENESIS, *values, **fields)).hexdigest()


def written_hash(prev: str | None, serial_id: int, product_id: int, serial: str, type: str,
                 from_status: str | None, to_status: str, from_location_id: int | None,
                 to_location_id: int | None, purchase_order_id: int | None,
                 sales_order_id: int | None, customer_id: int | None, user_id: int | None,
                 at: datetime, source: str, note: str | None,
                 warranty_return: bool | None) -> str:
    """`event_hash` on the write path, where every scan pays for it: the same hash, made
    faster, for values as the app writes them (texts as str, ids as int or None, `at` naive
    UTC, the flag a bool or None; tests/unit/test_chain.py holds it to `event_hash`)."""
    return hashlib.sha256((_WRITTEN % (
        prev or GENESIS, serial_id, product_id, len(serial), serial, len(type), type,
        "-" if from_status is None else "s%d:%s" % (len(from_status), from_status),
        len(to_status), to_status,
        "-" if from_location_id is None else "i%d" % from_location_id,
        "-" if to_location_id is None else "i%d" % to_location_id,
        "-" if purchase_order_id is None else "i%d" % purchase_order_id,
        "-" if sales_order_id is None else "i%d" % sales_order_id,
        "-" if customer_id is None else "i%d" % customer_id,
        "-" if user_id is None else "i%d" % user_id,
        at.isoformat("T", "microseconds"), len(source), source,
        "-" if note is None else "s%d:%s" % (len(note), note),
        "-" if warranty_return is None else ("T" if warranty_return else "F"),
    )).encode()).hexdigest()


def link(prev: str | None) -> str:
    """What an event keeps of the hash before it (`events.prev`)."""
    return (prev or GENESIS)[:PREV_CHARS]
