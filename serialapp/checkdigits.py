"""Check digits and the identifiers they guard: GTIN/EAN/UPC, IMEI, VIN; GS1 dates.

Pure Python plus biip (GS1's own check-digit and UPC-E rules). `identifiers`
re-exports every public name here; import from there.

IMEI (Luhn) and VIN (ISO 3779) are not GS1 identifiers, so biip does not cover
them: they stay here as serialapp's thin layer. `gs1_date` stays ours because
it takes "today" as an argument (biip reads the clock), which keeps the GS1
century window testable on any day.
"""
from __future__ import annotations

import calendar
import datetime

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.upc import Upc


class IdentifierError(ValueError):
    """A malformed identifier or pattern.

    `code` is a stable machine-readable string (the API passes it on as
    `error.code`); `message` is one short sentence in the words of the person
    holding the scanner or writing the pattern. It subclasses ValueError so
    callers that only care "was it valid" can catch ValueError.
    """

    def __init__(self, code: str, message: str | None = None):
        self.code = code
        self.message = message or code.replace('_', ' ').capitalize() + '.'
        super().__init__(self.message)


GS = '\x1d'  # ASCII group separator: how scanners transmit GS1 FNC1


def _is_digits(text: object) -> bool:
    # str.isdigit() alone accepts '²' and Arabic-Indic digits (and biip's
    # isdecimal() the latter); barcodes only ever carry ASCII 0-9.
    return isinstance(text, str) and text != '' and text.isascii() and text.isdigit()


# Whitespace that surrounds a scan (wedge scanners add CR/LF, people paste
# spaces). Python's str.strip() would also eat GS (\x1d), which is meaningful
# in GS1 data, so we strip an explicit set instead.
_SURROUNDING_SPACE = ' \t\r\n\v\f\xa0'


def _strip_space(text: str) -> str:
    return text.strip(_SURROUNDING_SPACE)


# --------------------------------------------------------------------------
# GS1 mod-10 (biip), GTIN, UPC-E
# --------------------------------------------------------------------------

def gtin_check_digit(body: str) -> str:
    """GS1 mod-10 check digit for `body` (all digits except the check digit)."""
    if not _is_digits(body):
        raise IdentifierError('invalid_gtin', 'A product number has digits only.')
    return str(gs1_standard_check_digit(body))


def _has_mod10_check(text: str) -> bool:
    return _is_digits(text) and len(text) >= 2 and gtin_check_digit(text[:-1]) == text[-1]


GTIN_LENGTHS = (8, 12, 13, 14)


def is_valid_gtin(text: str) -> bool:
    """True for a GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14."""
    # biip's check digit rule; its Gtin.parse would also look the company
    # prefix up in GS1's tables, which costs ten times more and cannot fail.
    return _is_digits(text) and len(text) in GTIN_LENGTHS and _has_mod10_check(text)


def normalize_gtin(text: str) -> str | None:
    """A valid GTIN as its 14-digit form, else None.

    Zero-padding on the left is what GS1 prescribes for comparing GTINs, so
    a UPC-A "036000291452", the same code read as EAN-13 "0036000291452" and
    AI (01) "00036000291452" all become one product key.
    """
    if not is_valid_gtin(text):
        return None
    return text.zfill(14)


def expand_upce(text: str) -> str | None:
    """An 8-digit UPC-E (number system 0 or 1) expanded to its 12-digit UPC-A.

    Returns None when the text is not a UPC-E or its check digit (which is the
    check digit of the expanded UPC-A) is wrong.
    """
    if not (_is_digits(text) and len(text) == 8):
        return None
    try:
        return Upc.parse(text).as_upc_a()
    except ParseError:
        return None


# --------------------------------------------------------------------------
# Luhn / IMEI
# --------------------------------------------------------------------------

def luhn_check_digit(body: str) -> str:
    """Luhn (mod 10, double-every-other) check digit for a digit string."""
    if not _is_digits(body):
        raise IdentifierError('invalid_imei', 'An IMEI has digits only.')
    total = 0
    # The digit next to the (future) check digit is doubled, then every second
    # one going left; a doubled value above 9 contributes its digit sum.
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def is_valid_imei(text: str) -> bool:
    """Exactly 15 digits whose last digit is the Luhn check digit."""
    return _is_digits(text) and len(text) == 15 and luhn_check_digit(text[:14]) == text[14]


# --------------------------------------------------------------------------
# VIN (ISO 3779; North-American position-9 check digit)
# --------------------------------------------------------------------------

# Letters I, O and Q never appear in a VIN (they look like 1 and 0).
_VIN_CHARS = frozenset('ABCDEFGHJKLMNPRSTUVWXYZ0123456789')
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    'A': 1, 'B': 2, 'C': 3, 'D': 4, 'E': 5, 'F': 6, 'G': 7, 'H': 8,
    'J': 1, 'K': 2, 'L': 3, 'M': 4, 'N': 5, 'P': 7, 'R': 9,
    'S': 2, 'T': 3, 'U': 4, 'V': 5, 'W': 6, 'X': 7, 'Y': 8, 'Z': 9,
}
# Position 9 (index 8) is the check digit itself, hence weight 0.
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin17: str) -> str:
    """The position-9 check character ('0'-'9' or 'X') for a 17-character VIN.

    Position 9 of the input is ignored, so a VIN with a placeholder there
    works. Raises IdentifierError('invalid_vin') on wrong length/characters.
    """
    if not isinstance(vin17, str) or len(vin17) != 17:
        raise IdentifierError('invalid_vin', 'A VIN has 17 characters.')
    for i, ch in enumerate(vin17):
        if i != 8 and ch not in _VIN_CHARS:
            raise IdentifierError('invalid_vin', f'Character {i + 1} of this VIN cannot be in '
                                  'a VIN (only capital letters without I, O, Q, and digits).')
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin17, _VIN_WEIGHTS) if w)
    rest = total % 11
    return 'X' if rest == 10 else str(rest)


def is_valid_vin(text: str) -> bool:
    """17 upper-case characters A-Z/0-9 without I, O, Q and a correct check digit.

    The check digit is mandatory in North America only; we require it anyway,
    as that is the one thing that tells a VIN from any 17-character string.
    """
    if not (isinstance(text, str) and len(text) == 17 and set(text) <= _VIN_CHARS):
        return False
    return vin_check_digit(text) == text[8]


# --------------------------------------------------------------------------
# GS1 dates
# --------------------------------------------------------------------------

def _resolve_century(yy: int, today: datetime.date) -> int:
    # GS1 General Specifications 7.12: a sliding window of -49..+50 years
    # around the current year. A year more than 50 ahead belongs to the
    # previous century, one 50 or more behind to the next century.
    current_yy = today.year % 100
    century = today.year - current_yy
    diff = yy - current_yy
    if 51 <= diff <= 99:
        century -= 100
    elif -99 <= diff <= -50:
        century += 100
    return century + yy


def gs1_date(yymmdd: str, today: datetime.date | None = None) -> datetime.date:
    """A GS1 YYMMDD date as a date; DD '00' means the last day of the month.

    `today` fixes the century window (default: the local date today); it is
    there so the rule can be tested on any day.
    Raises IdentifierError('invalid_date').
    """
    if not (_is_digits(yymmdd) and len(yymmdd) == 6):
        raise IdentifierError('invalid_date', 'A date on a GS1 label has six digits, '
                              'year, month and day.')
    yy, mm, dd = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= mm <= 12:
        raise IdentifierError('invalid_date', f'Month {mm:02d} does not exist.')
    year = _resolve_century(yy, today or datetime.date.today())
    last_day = calendar.monthrange(year, mm)[1]
    if dd == 0:
        dd = last_day
    elif dd > last_day:
        raise IdentifierError('invalid_date', f'Day {dd} does not exist in '
                              f'{calendar.month_name[mm]} {year}.')
    return datetime.date(year, mm, dd)
