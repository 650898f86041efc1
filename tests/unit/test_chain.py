"""The event hash chain's encoding (serialapp/chain.py): pure, no database."""
from datetime import datetime, timedelta, timezone

import pytest

from serialapp import chain

EVENT = dict(serial_id=7, product_id=2, serial="SN-1", type="move", from_status="in_stock",
             to_status="in_stock", from_location_id=1, to_location_id=3, purchase_order_id=None,
             sales_order_id=None, customer_id=None, user_id=4,
             at=datetime(2026, 3, 1, 12, 0, 0, 250000), source="wedge", note=None,
             warranty_return=None)


def test_the_hash_is_sha256_hex_and_the_same_every_time():
    first = chain.event_hash(None, **EVENT)
    assert len(first) == 64 and int(first, 16) >= 0
    assert chain.event_hash(None, **EVENT) == first
    assert chain.event_hash(chain.GENESIS, **EVENT) == first  # None is the genesis link


@pytest.mark.parametrize("name, value", [
    ("serial_id", 8), ("product_id", 3), ("serial", "SN-2"), ("type", "scrap"),
    ("from_status", None), ("to_status", "scrapped"), ("from_location_id", None),
    ("to_location_id", 1), ("purchase_order_id", 1), ("sales_order_id", 1),
    ("customer_id", 1), ("user_id", 5), ("at", datetime(2026, 3, 1, 12, 0, 0, 250001)),
    ("source", "manual"), ("note", ""), ("warranty_return", False),
])
def test_every_field_is_covered(name, value):
    assert chain.event_hash(None, **{**EVENT, name: value}) != chain.event_hash(None, **EVENT)


def test_the_previous_hash_is_covered():
    assert chain.event_hash("a" * 64, **EVENT) != chain.event_hash("b" * 64, **EVENT)


def test_fields_cannot_be_shifted_into_each_other():
    """Length-prefixed text and typed values: no note or serial can impersonate others."""
    a = chain.encode(chain.GENESIS, **{**EVENT, "source": "a|s1:b", "note": None})
    b = chain.encode(chain.GENESIS, **{**EVENT, "source": "a", "note": "b"})
    assert a != b
    assert chain.encode(chain.GENESIS, **{**EVENT, "note": "1"}) != \
        chain.encode(chain.GENESIS, **{**EVENT, "note": None})
    assert chain.event_hash(None, **{**EVENT, "user_id": None}) != \
        chain.event_hash(None, **{**EVENT, "user_id": 0})


def test_values_read_back_from_either_database_hash_alike():
    """SQLite gives a flag back as 0/1; a driver may give an aware UTC time."""
    written = {**EVENT, "warranty_return": True}
    read = {**EVENT, "warranty_return": 1,
            "at": EVENT["at"].replace(tzinfo=timezone.utc)}
    assert chain.event_hash(None, **written) == chain.event_hash(None, **read)
    oslo = timezone(timedelta(hours=1))
    same_moment = {**EVENT, "at": (EVENT["at"] + timedelta(hours=1)).replace(tzinfo=oslo)}
    assert chain.event_hash(None, **same_moment) == chain.event_hash(None, **EVENT)


def test_the_link_is_the_start_of_the_previous_hash():
    head = chain.event_hash(None, **EVENT)
    assert chain.link(head) == head[:chain.PREV_CHARS]
    assert chain.link(None) == "0" * chain.PREV_CHARS


def test_the_encoding_is_frozen():
    """Changing it breaks every chain already written: make a new VERSION instead."""
    assert chain.event_hash(None, **EVENT) == \
        "4ea9c927ba42767caeb6046153dab67d1d72243a374854cbd613fe0b8404d99c"


@pytest.mark.parametrize("change", [
    {}, {"note": "DOA | s3:x"}, {"warranty_return": True}, {"warranty_return": False},
    {"from_status": None, "from_location_id": None}, {"serial": "Ünïcode-ﬃ"},
    {"at": datetime(2026, 3, 1, 12, 0)}, {"purchase_order_id": 9, "sales_order_id": 8,
                                          "customer_id": 7, "user_id": None},
    {"type": "receive", "from_status": None, "note": ""},
])
def test_the_write_path_hashes_exactly_as_the_check_does(change):
    """The scan path's faster encoding, for every kind of value the app writes."""
    event = {**EVENT, **change}
    for prev in (None, "c" * 64):
        assert chain.written_hash(prev, **event) == chain.event_hash(prev, **event)


@pytest.mark.parametrize("change", [{"user_id": True}, {"serial_id": "7"},
                                    {"warranty_return": 1}])
def test_values_read_back_in_another_type_hash_as_written(change):
    assert chain.event_hash(None, **{**EVENT, **change}) == \
        chain.event_hash(None, **{**EVENT, "user_id": 1 if "user_id" in change else 4,
                                  "warranty_return": True if "warranty_return" in change
                                  else None})


def test_values_that_are_not_flags_are_not_taken_for_flags():
    assert chain.event_hash(None, **{**EVENT, "warranty_return": "x"}) != \
        chain.event_hash(None, **{**EVENT, "warranty_return": True})


def test_a_time_stored_as_text_hashes_like_the_time():
    """SQLite keeps times as text; read raw, the text must hash as the moment it names,
    and text that names no moment must not hash like any moment."""
    stored = EVENT["at"].strftime("%Y-%m-%d %H:%M:%S.%f")
    assert chain.event_hash(None, **{**EVENT, "at": stored}) == chain.event_hash(None, **EVENT)
    assert chain.event_hash(None, **{**EVENT, "at": "yesterday"}) != \
        chain.event_hash(None, **EVENT)
