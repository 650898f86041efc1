"""The stocktake comparison, pure: what a count expected against what was scanned."""
import time

from serialapp import lifecycle as lc
from serialapp import stocktake as st
from serialapp.stocktake import Recorded, Scan

A1, A2 = 1, 2


def test_forty_on_the_shelf_thirty_five_seen_two_from_elsewhere_one_unknown():
    expected = {n: A1 for n in range(1, 41)}
    scans = [Scan(n, n, A1) for n in range(1, 36)]
    scans += [Scan(100, 41, A1), Scan(101, 42, A1), Scan(102, None, A1)]
    recorded = {41: Recorded(lc.IN_STOCK, A2), 42: Recorded(lc.QUARANTINED, A2)}
    result = st.compare(expected, scans, recorded)
    assert result.totals() == {"expected": 40, "found": 35, "missing": 5, "unexpected": 3}
    assert result.missing == [36, 37, 38, 39, 40]
    assert [(s.serial_id, why) for s, why in result.unexpected] == [
        (41, st.ELSEWHERE), (42, st.ELSEWHERE), (None, st.UNKNOWN)]
    assert result.expected_at == {A1: 40} and result.found_at == {A1: 35}


def test_seen_at_another_place_is_unexpected_there_not_also_missing():
    result = st.compare({7: A1}, [Scan(1, 7, A2)], {})
    assert result.missing == [] and result.found == []
    assert [(s.location_id, why) for s, why in result.unexpected] == [(A2, st.ELSEWHERE)]


def test_a_scan_that_does_not_say_where_is_found_wherever_recorded():
    result = st.compare({7: A1, 8: A2}, [Scan(1, 7, None), Scan(2, 8, None)], {})
    assert result.totals()["found"] == 2 and result.found_at == {A1: 1, A2: 1}


def test_other_statuses_are_unexpected_for_their_status():
    recorded = {n: Recorded(status, A1) for n, status in enumerate(
        (lc.PICKED, lc.SHIPPED, lc.SCRAPPED, lc.MISSING))}
    result = st.compare({}, [Scan(n, n, A1) for n in recorded], recorded)
    assert {why for _, why in result.unexpected} == {st.STATUS}


def test_each_difference_offers_the_fixes_the_lifecycle_allows():
    assert st.resolutions(st.MISSING, None, lc.IN_STOCK)[0] == st.MARK_MISSING
    assert st.resolutions(st.UNEXPECTED, st.UNKNOWN, None)[:2] == (st.RECEIVE, st.QUARANTINE)
    assert st.resolutions(st.UNEXPECTED, st.ELSEWHERE, lc.IN_STOCK) == (
        st.MOVE_HERE, st.QUARANTINE, st.IGNORE)
    assert st.resolutions(st.UNEXPECTED, st.STATUS, lc.MISSING) == (st.MOVE_HERE, st.IGNORE)
    for status in (lc.PICKED, lc.SHIPPED, lc.SCRAPPED):
        assert st.resolutions(st.UNEXPECTED, st.STATUS, status) == (st.IGNORE,)
    # Every fix but "leave as is" is an action the lifecycle knows.
    assert set(st.RESOLUTIONS) - {st.IGNORE, st.MOVE_HERE} <= set(lc.RULES) | {st.RECEIVE}


def test_what_the_picker_reads_for_one_scan():
    assert st.scan_note(lc.IN_STOCK, A1, A1) == (True, "expected here")
    assert st.scan_note(lc.IN_STOCK, A2, None)[0] is True
    expected, note = st.scan_note(lc.IN_STOCK, A2, A1)
    assert not expected and "another location" in note
    assert st.scan_note(lc.MISSING, A1, A1) == (
        False, "not expected here: it is recorded as missing")


def test_missing_keeps_where_it_was_last_and_found_brings_it_back():
    assert lc.next_status("mark_missing", lc.IN_STOCK) == lc.MISSING
    assert lc.next_status("mark_missing", lc.QUARANTINED) == lc.MISSING
    assert lc.next_status("found", lc.MISSING) == lc.IN_STOCK
    assert lc.next_status("scrap", lc.MISSING) == lc.SCRAPPED
    assert lc.MISSING in lc.STATUSES


def test_ten_thousand_compare_in_well_under_a_tenth_of_a_second():
    expected = {n: 1 + n % 20 for n in range(10_000)}
    scans = [Scan(n, n, 1 + n % 20) for n in range(50, 10_000)]
    start = time.perf_counter()
    result = st.compare(expected, scans, {})
    assert time.perf_counter() - start < 0.1
    assert result.totals() == {"expected": 10_000, "found": 9_950, "missing": 50,
                               "unexpected": 0}
