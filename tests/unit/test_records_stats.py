"""records.stats: the reports' maths with known numbers, no Flask, no database."""
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from serialapp.records import stats


def test_importable_without_flask():
    code = ("import sys; import serialapp.records.stats; "
            "assert 'flask' not in sys.modules, 'flask was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_median_and_percentiles_match_spreadsheet_rules():
    assert stats.median([]) is None
    assert stats.median([5]) == 5
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([1, 2, 3, 4]) == 2.5
    # PERCENTILE.INC of 1..10 at 90% is 9.1
    assert stats.percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert stats.percentile([10, 20], 0) == 10 and stats.percentile([10, 20], 100) == 20
    with pytest.raises(ValueError):
        stats.percentile([1], 101)


def test_week_start_is_the_monday():
    assert stats.week_start(datetime(2024, 3, 31, 23, 0)) == date(2024, 3, 25)  # a Sunday
    assert stats.week_start(date(2024, 3, 25)) == date(2024, 3, 25)


def test_stays_from_events_with_known_times():
    t0 = datetime(2024, 1, 1, 8, 0)
    events = [(t0, "in_stock", "RECV"),
              (t0 + timedelta(hours=2), "in_stock", "ASSEMBLY"),
              (t0 + timedelta(hours=5), "in_stock", "TEST"),
              (t0 + timedelta(hours=6), "picked", None)]
    got = stats.stays(events)
    assert [(s.location, s.hours(t0)) for s in got[:3]] == [("RECV", 2), ("ASSEMBLY", 3),
                                                            ("TEST", 1)]
    assert got[-1].end is None and got[-1].status == "picked"
    assert got[-1].hours(t0 + timedelta(hours=10)) == 4


def test_summary_of_known_intervals():
    assert stats.summarise([2, 4, 6, 8, 10]) == {"units": 5, "median_hours": 6,
                                                 "p90_hours": 9.2}
    assert stats.summarise([]) == {"units": 0, "median_hours": None, "p90_hours": None}


def test_warranty_until_is_ship_date_plus_warranty():
    assert stats.warranty_until(datetime(2024, 1, 31, 23, 59), 365) == date(2025, 1, 30)
    assert stats.warranty_until(None, 365) is None


def test_warranty_verdict_on_both_sides_of_the_date():
    until = date(2025, 6, 30)
    on_last_day = stats.warranty_verdict(until, date(2025, 6, 30))
    assert on_last_day.state == "in_warranty" and on_last_day.days_left == 0
    assert on_last_day.text == "in warranty until 2025-06-30 (0 days left)"
    day_before = stats.warranty_verdict(until, date(2025, 6, 29))
    assert day_before.text == "in warranty until 2025-06-30 (1 day left)"
    day_after = stats.warranty_verdict(until, date(2025, 7, 1))
    assert day_after.state == "expired" and day_after.text == "expired on 2025-06-30"
    assert stats.warranty_verdict(None, date(2025, 1, 1)).state == "none"


def test_serial_ranges_compare_numbers_as_numbers():
    assert stats.in_range("SN-10", "SN-9", "SN-11")
    assert not stats.in_range("SN-100", "SN-9", "SN-11")
    assert stats.in_range("sn-5", "SN-1", None)
    assert stats.in_range("ABC", None, None)
    assert sorted(["SN-10", "SN-9", "SN-1"], key=stats.natural_key) == ["SN-1", "SN-9", "SN-10"]


def test_age_buckets():
    assert stats.age_bucket(0) == "0-30 days" and stats.age_bucket(30.5) == "31-60 days"
    assert stats.age_bucket(400) == "over a year"
