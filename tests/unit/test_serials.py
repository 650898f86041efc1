"""The serial text rules: one canonical form per serial."""
import unicodedata

import pytest

from serialapp import serials
from serialapp.serials import SerialTextError, canonical, key


def test_nfc_and_trimmed():
    nfd = unicodedata.normalize("NFD", "CAFÉ-1")
    assert nfd != "CAFÉ-1"
    assert canonical(f"  {nfd}\t") == unicodedata.normalize("NFC", "CAFÉ-1")


@pytest.mark.parametrize("text, named", [
    ("AB\u200bC-1", "Zero Width Space"),
    ("AB\u202eC-1", "Right-To-Left Override"),
    ("AB\x00C", "U+0000"),
    ("AB\x1dC", "U+001D"),
    ("AB\u2028C", "Line Separator"),
    ("AB\ufeffC", "Zero Width No-Break Space"),
    ("AB\tC", "a tab"),
])
def test_invisible_characters_are_refused_by_name(text, named):
    with pytest.raises(SerialTextError) as exc:
        canonical(text)
    assert named in str(exc.value)


def test_length_limit():
    assert canonical("X" * 64) == "X" * 64
    with pytest.raises(SerialTextError, match="at most 64 characters, and this one has 10000"):
        canonical("X" * 10_000)


def test_a_serial_needs_a_letter_or_digit():
    for text in ("..", "---", "/", "   "):
        with pytest.raises(SerialTextError):
            canonical(text)


def test_latin_mixed_with_cyrillic_or_greek_is_refused_naming_the_letter():
    with pytest.raises(SerialTextError) as exc:
        canonical("\u0410BC-HG-1")  # Cyrillic А, then Latin BC
    message = str(exc.value)
    assert "Cyrillic" in message and "U+0410" in message
    with pytest.raises(SerialTextError, match="Greek"):
        canonical("ABC\u0391-1")  # Greek capital alpha
    # One script alone is fine, and so are digits and punctuation with any of them.
    assert canonical("АБВ-123") == "АБВ-123"
    assert canonical("ΑΒΓ-7") == "ΑΒΓ-7"


@pytest.mark.parametrize("text", ["SN/2024/001", "A#1", "B?2", "C%3", "D 4 5", "ÜBER-1",
                                  "../../etc"])
def test_printable_punctuation_and_spaces_are_allowed(text):
    assert canonical(text) == text


def test_case_rule():
    assert key("GAD-001", case_sensitive=False) == key("gad-001", case_sensitive=False)
    assert key("GAD-001", case_sensitive=True) != key("gad-001", case_sensitive=True)
    assert serials.default_case_sensitive("09506000134352", None) is True
    assert serials.default_case_sensitive(None, "gs1") is True
    assert serials.default_case_sensitive(None, r"CS-\d{4}") is False

