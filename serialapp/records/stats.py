"""The reports' maths, pure (no Flask, no database): medians and percentiles, week
buckets, time spent in each stage from a unit's events, warranty verdicts, serial ranges.
Kept apart so each can be tested with known numbers."""
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) by linear interpolation between closest ranks, the
    method spreadsheets' PERCENTILE.INC and numpy's default use, so a manager checking a
    figure in a spreadsheet gets the same number. None for no values."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def week_start(moment: datetime | date) -> date:
    """The Monday of the ISO week a moment falls in: the bucket of week-by-week figures."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Stay:
    """A unit's time at one place in one status: from the event that brought it there to
    the event that took it away (None: still there)."""
    location: str | None
    status: str
    start: datetime
    end: datetime | None

    def hours(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds() / 3600


def stays(events: Iterable[tuple[datetime, str, str | None]]) -> list[Stay]:
    """A unit's stays from its events, oldest first, each (at, to_status, to_location).
    An event that changes neither place nor status (none do today) does not end a stay."""
    result: list[Stay] = []
    for at, status, location in events:
        if result and result[-1].end is None:
            last = result[-1]
            if last.status == status and last.location == location:
                continue
            result[-1] = Stay(last.location, last.status, last.start, at)
        result.append(Stay(location, status, at, None))
    return result


def summarise(hours: Sequence[float]) -> dict:
    """Count, median and 90th percentile of some durations (hours, one decimal)."""
    def r(v):
        return None if v is None else round(v, 1)
    return {"units": len(hours), "median_hours": r(median(hours)),
            "p90_hours": r(percentile(hours, 90))}


# ---------------------------------------------------------------- warranty

@dataclass(frozen=True)
class WarrantyVerdict:
    until: date | None
    days_left: int | None  # 0 on the last day; negative once expired
    state: str  # none | in_warranty | expired

    @property
    def text(self) -> str:
        if self.until is None:
            return "no warranty"
        if self.state == "in_warranty":
            n = self.days_left
            return f"in warranty until {self.until.isoformat()} ({n} day{'' if n == 1 else 's'} left)"
        return f"expired on {self.until.isoformat()}"


def warranty_until(shipped: datetime | date | None, warranty_days: int) -> date | None:
    """The last day of cover: the ship date plus the product's warranty (what
    inventory.ship writes on the unit; said here once so the tests check the rule). A
    warranty that runs past the last day a date can hold (a product saved with an absurd
    length) ends on that day, 9999-12-31: for ever, as far as anyone will look."""
    if shipped is None:
        return None
    day = shipped.date() if isinstance(shipped, datetime) else shipped
    try:
        return day + timedelta(days=warranty_days or 0)
    except OverflowError:
        return date.max if (warranty_days or 0) > 0 else date.min


def warranty_verdict(until: date | None, today: date) -> WarrantyVerdict:
    """Cover runs to the end of `until`: on that day a unit is still in warranty."""
    if until is None:
        return WarrantyVerdict(None, None, "none")
    left = (until - today).days
    return WarrantyVerdict(until, left, "in_warranty" if left >= 0 else "expired")


# ---------------------------------------------------------------- serial ranges

_PARTS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Serials compare the way people read them: SN-9 before SN-10, digits as numbers.
    Each part is tagged so numbers and words never compare with each other."""
    key = []
    for i, part in enumerate(_PARTS.split(text.casefold())):
        if i % 2:
            key.append((1, int(part), ""))
        elif part:
            key.append((0, 0, part))
    return tuple(key)


def in_range(serial: str, low: str | None, high: str | None) -> bool:
    key = natural_key(serial)
    return (low is None or key >= natural_key(low)) and (high is None or key <= natural_key(high))


def age_bucket(days: float) -> str:
    """Ageing report's buckets: the usual stock-ageing bands."""
    for limit, name in ((30, "0-30 days"), (60, "31-60 days"), (90, "61-90 days"),
                        (180, "91-180 days"), (365, "181-365 days")):
        if days <= limit:
            return name
    return "over a year"


AGE_BUCKETS = ("0-30 days", "31-60 days", "61-90 days", "91-180 days", "181-365 days",
               "over a year")
