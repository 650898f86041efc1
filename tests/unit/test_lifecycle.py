"""The transition table, read as a picker would."""
import pytest

from serialapp import lifecycle as lc


@pytest.mark.parametrize("action,start,end", [
    ("receive", None, lc.IN_STOCK),
    ("move", lc.IN_STOCK, lc.IN_STOCK),
    ("move", lc.QUARANTINED, lc.QUARANTINED),
    ("pick", lc.IN_STOCK, lc.PICKED),
    ("unpick", lc.PICKED, lc.IN_STOCK),
    ("ship", lc.PICKED, lc.SHIPPED),
    ("quarantine", lc.IN_STOCK, lc.QUARANTINED),
    ("release", lc.QUARANTINED, lc.IN_STOCK),
    ("scrap", lc.IN_STOCK, lc.SCRAPPED),
    ("scrap", lc.QUARANTINED, lc.SCRAPPED),
])
def test_allowed_transitions(action, start, end):
    assert lc.next_status(action, start) == end


@pytest.mark.parametrize("disposition,end", [
    ("restock", lc.IN_STOCK), ("quarantine", lc.QUARANTINED), ("scrap", lc.SCRAPPED)])
def test_return_goes_where_the_disposition_says(disposition, end):
    assert lc.next_status("return", lc.SHIPPED, disposition) == end


def test_every_other_transition_is_refused():
    allowed = {(a, s) for a, rule in lc.RULES.items() for s in rule.sources}
    for action in lc.RULES:
        for status in (None, *lc.STATUSES):
            if (action, status) in allowed:
                continue
            with pytest.raises(lc.TransitionError) as err:
                lc.next_status(action, status, "restock")
            assert err.value.code in {"invalid_transition", "serial_not_available",
                                      "unknown_serial", "duplicate_serial"}


@pytest.mark.parametrize("status,reason", [
    (lc.PICKED, "already picked"), (lc.SHIPPED, "already been shipped"),
    (lc.QUARANTINED, "quarantine")])
def test_pick_refusals_say_why(status, reason):
    with pytest.raises(lc.TransitionError) as err:
        lc.next_status("pick", status)
    assert err.value.code == "serial_not_available" and reason in err.value.message


def test_bad_disposition():
    with pytest.raises(lc.TransitionError) as err:
        lc.next_status("return", lc.SHIPPED, "burn")
    assert err.value.code == "invalid_disposition"


def test_roles():
    assert lc.may("picker", "pick") and lc.may("picker", "ship")
    assert not lc.may("picker", "return") and not lc.may("picker", "scrap")
    assert lc.may("manager", "return") and lc.may("admin", "scrap")
    assert not lc.may(None, "move") and not lc.may("guest", "move")
