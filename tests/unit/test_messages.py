"""Every refusal a picker can see, rendered with sample values: one short sentence in the
warehouse's words, naming no serial (the page does, once), no pattern, no field name."""
import pytest

from serialapp import lifecycle, messages, serials
from tests.unit.messages import assert_worker_message

SERIAL = "353456789012345"
SAMPLES = {"value": "A-99", "limit": 1000, "sku": "PHONE", "gtin": "04006381333931",
           "found": "PHONE", "chosen": "CASE", "skus": "CASE, PHONE", "po": "PO-7", "qty": 2,
           "order": "SO-12", "other": "SO-9", "location": "DOCK", "short": "PHONE: 1 of 3",
           "example": "OWN-000001", "status": "closed",
           "reason": "It is shipped, so it cannot be moved.", "lot": "L-2026-04",
           "listed": "L-2026-03", "expiry": "2027-03-31"}


@pytest.mark.parametrize("key", sorted(messages.MESSAGES))
def test_every_refusal_reads_as_one_sentence_in_words(key):
    message = messages.say(key, **SAMPLES)
    assert_worker_message(message)
    assert SERIAL not in message


@pytest.mark.parametrize("key", sorted(messages.REPEATS))
def test_every_repeat_reads_as_one_sentence(key):
    assert_worker_message(messages.repeat(key, **SAMPLES))


@pytest.mark.parametrize("action", sorted(lifecycle.RULES))
@pytest.mark.parametrize("status", [None, *lifecycle.STATUSES])
def test_every_lifecycle_refusal_reads_as_one_sentence(action, status):
    try:
        lifecycle.next_status(action, status, "restock")
    except lifecycle.TransitionError as exc:
        assert_worker_message(exc.message)


@pytest.mark.parametrize("text", ["X" * 100, "AB\u200bC", "\u0410BC-1", "A\tB", "--", ""])
def test_serial_text_refusals_read_as_one_sentence(text):
    with pytest.raises(serials.SerialTextError) as exc:
        serials.canonical(text)
    assert_worker_message(str(exc.value))
    assert not text or text not in str(exc.value)  # the page names the serial, once


def test_the_checker_catches_what_pickers_saw():
    """The messages the issue quotes fail the check: it can fail."""
    for seen in ("must match the pattern LT[0-9]{8}", "pattern None",
                 "Say why it came back (field 'reason').",
                 "353456789012345: Cannot return a serial that is in_stock."):
        with pytest.raises(AssertionError):
            assert_worker_message(seen)
