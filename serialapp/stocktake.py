"""Stocktakes (cycle counts), the pure part: what a count expected against what was
scanned, and what a manager may do about each difference. No Flask, no database: the
service (inventory/counting.py) reads the two sets in bulk and hands them here, so a count
of 10,000 units is compared by set operations in a few milliseconds.

What a count expects: every unit in its scope whose records put it on a shelf (in stock or
quarantined), at the location the records give. Closing sorts the scans into

- found: scanned, expected, and (when the scan says where) where the records put it;
- missing: expected and not scanned anywhere in the count;
- unexpected: scanned, but recorded at another location (`elsewhere`), in another status
  (`status`: picked, shipped, scrapped, missing), or not known here at all (`unknown`).

A unit expected at A1 and scanned at A2 is unexpected at A2 (elsewhere), not also missing:
it was seen, and the fix is one move."""
from collections import Counter
from dataclasses import dataclass, field

from . import lifecycle

OPEN, CLOSED = "open", "closed"
# The statuses a count expects to find on a shelf.
ON_SHELF = (lifecycle.IN_STOCK, lifecycle.QUARANTINED)

MISSING, UNEXPECTED = "missing", "unexpected"
ELSEWHERE, STATUS, UNKNOWN = "elsewhere", "status", "unknown"

# What a manager may do about a difference: each but `ignore` is an ordinary recorded event
# on the serial (move, found, mark_missing, receive, quarantine).
MOVE_HERE, MARK_MISSING, RECEIVE, QUARANTINE, IGNORE = (
    "move_here", "mark_missing", "receive", "quarantine", "ignore")
RESOLUTIONS = (MOVE_HERE, MARK_MISSING, RECEIVE, QUARANTINE, IGNORE)


@dataclass(frozen=True)
class Scan:
    id: int
    serial_id: int | None    # None: a serial not known here
    location_id: int | None  # where it was counted; None when the count does not say


@dataclass(frozen=True)
class Recorded:
    """A serial as the records have it now."""
    status: str
    location_id: int | None


@dataclass
class Comparison:
    found: list = field(default_factory=list)       # Scan
    missing: list = field(default_factory=list)     # serial ids
    unexpected: list = field(default_factory=list)  # (Scan, reason)
    expected_at: Counter = field(default_factory=Counter)  # location id -> units expected
    found_at: Counter = field(default_factory=Counter)     # location id -> of them, found

    def totals(self) -> dict:
        return {"expected": sum(self.expected_at.values()), "found": len(self.found),
                "missing": len(self.missing), "unexpected": len(self.unexpected)}


def compare(expected: dict, scans: list, recorded: dict) -> Comparison:
    """`expected`: serial id -> recorded location id, for every unit the count expects;
    `scans`: the count's Scans; `recorded`: serial id -> Recorded for the scanned serials
    that are not expected (to say why they are unexpected)."""
    result = Comparison(expected_at=Counter(expected.values()))
    seen = set()
    for scan in scans:
        sid = scan.serial_id
        if sid is None:
            result.unexpected.append((scan, UNKNOWN))
            continue
        seen.add(sid)
        if sid in expected:
            where = expected[sid]
            if scan.location_id is None or scan.location_id == where:
                result.found.append(scan)
                result.found_at[where] += 1
            else:
                result.unexpected.append((scan, ELSEWHERE))
            continue
        rec = recorded.get(sid)
        on_shelf = rec is not None and rec.status in ON_SHELF
        result.unexpected.append((scan, ELSEWHERE if on_shelf else STATUS))
    result.missing = [sid for sid in expected if sid not in seen]
    return result


def scan_note(status: str, location_id: int | None, here: int | None) -> tuple[bool, str]:
    """(expected?, what the picker reads) for one unit of the count's scope just counted,
    from its records; `here`: where it is counted (None: wherever the records say)."""
    if status not in ON_SHELF:
        return False, f"not expected here: it is recorded as {status.replace('_', ' ')}"
    if here is not None and location_id != here:
        return False, "not expected here: it is recorded at another location"
    return True, "expected here"


def resolutions(kind: str, reason: str | None, status: str | None) -> tuple:
    """What may be done about one difference, the first being the usual fix.
    `status` is the serial's recorded status (None for an unknown serial)."""
    if kind == MISSING:
        return (MARK_MISSING, IGNORE)
    if reason == UNKNOWN:
        return (RECEIVE, QUARANTINE, IGNORE)
    if status == lifecycle.MISSING:
        return (MOVE_HERE, IGNORE)  # found here
    if status == lifecycle.IN_STOCK:
        return (MOVE_HERE, QUARANTINE, IGNORE)
    if status == lifecycle.QUARANTINED:
        return (MOVE_HERE, IGNORE)
    return (IGNORE,)  # picked, shipped, scrapped: look it up; a count cannot undo those


# How each resolution reads on a button and, once done, in the list.
LABELS = {MOVE_HERE: "Move it here", MARK_MISSING: "Mark missing", RECEIVE: "Receive it here",
          QUARANTINE: "Quarantine", IGNORE: "Leave as is"}
DONE = {MOVE_HERE: "moved here", MARK_MISSING: "marked missing", RECEIVE: "received here",
        QUARANTINE: "quarantined", IGNORE: "left as is", "found": "found here"}
