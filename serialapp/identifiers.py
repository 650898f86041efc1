"""Identifiers found on goods: GTIN/EAN/UPC, IMEI, VIN, GS1 element strings.

Pure Python (stdlib only) so the domain, the service layer and the tests can
use it without Flask. Everything here is a function of its arguments; the only
hidden input is "today" for the GS1 two-digit-year rule, and even that can be
passed in.

What the module answers:
- check digits (GS1 mod 10, Luhn, VIN) and validity tests;
- GS1 element strings in human-readable "(01)...(21)..." form and in the raw
  form a scanner sends (symbology identifier, GS as FNC1);
- serial patterns of a product (a kind, a template such as "OWN-{seq:06}", or a
  regex) and minting serials from a template;
- `interpret()`: what one scanned text most likely is.
"""
from __future__ import annotations

import calendar
import datetime
import functools
import re
from dataclasses import dataclass, field

__all__ = [
    'IdentifierError', 'gtin_check_digit', 'is_valid_gtin', 'normalize_gtin',
    'expand_upce', 'luhn_check_digit', 'is_valid_imei', 'vin_check_digit',
    'is_valid_vin', 'parse_gs1', 'gs1_date', 'to_hri', 'SERIAL_KINDS',
    'validate_serial_pattern', 'serial_matches', 'mint_serial', 'is_template',
    'Interpretation', 'interpret',
]


class IdentifierError(ValueError):
    """A malformed identifier or pattern.

    `code` is a stable machine-readable string (the API passes it on as
    `error.code`); `message` says what is wrong in words a user can act on.
    It subclasses ValueError so callers that only care "was it valid" can
    catch ValueError.
    """

    def __init__(self, code: str, message: str | None = None):
        self.code = code
        self.message = message or code.replace('_', ' ')
        super().__init__(self.message)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

GS = '\x1d'  # ASCII group separator: how scanners transmit GS1 FNC1


def _is_digits(text: object) -> bool:
    # str.isdigit() alone accepts '²' and Arabic-Indic digits; barcodes only
    # ever carry ASCII 0-9, so anything else is not a number for us.
    return isinstance(text, str) and text != '' and text.isascii() and text.isdigit()


# Whitespace that surrounds a scan (wedge scanners add CR/LF, people paste
# spaces). Python's str.strip() would also eat GS (\x1d), which is meaningful
# in GS1 data, so we strip an explicit set instead.
_SURROUNDING_SPACE = ' \t\r\n\v\f\xa0'


def _strip_space(text: str) -> str:
    return text.strip(_SURROUNDING_SPACE)


# --------------------------------------------------------------------------
# GS1 mod-10 check digit, GTIN, UPC-E
# --------------------------------------------------------------------------

def _mod10_sum(body: str) -> int:
    # GS1 weights alternate 3,1,3,... starting from the digit next to the
    # check digit (the rightmost digit of the body), whatever the length.
    # That is why one function serves GTIN-8/12/13/14, GLN and SSCC alike.
    return sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))


def gtin_check_digit(body: str) -> str:
    """GS1 mod-10 check digit for `body` (all digits except the check digit)."""
    if not _is_digits(body):
        raise IdentifierError('invalid_gtin', 'check digit needs a string of digits')
    return str((10 - _mod10_sum(body) % 10) % 10)


def _has_mod10_check(text: str) -> bool:
    return _is_digits(text) and len(text) >= 2 and gtin_check_digit(text[:-1]) == text[-1]


GTIN_LENGTHS = (8, 12, 13, 14)


def is_valid_gtin(text: str) -> bool:
    """True for a GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14."""
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
    if not (_is_digits(text) and len(text) == 8 and text[0] in '01'):
        return None
    ns, d, check = text[0], text[1:7], text[7]
    # The last of the six data digits says where the manufacturer code ends
    # and how many zeros were suppressed (UPC-E zero-suppression rules).
    last = d[5]
    if last in '012':
        body = ns + d[0:2] + last + '0000' + d[2:5]
    elif last == '3':
        body = ns + d[0:3] + '00000' + d[3:5]
    elif last == '4':
        body = ns + d[0:4] + '00000' + d[4]
    else:
        body = ns + d[0:5] + '0000' + last
    if gtin_check_digit(body) != check:
        return None
    return body + check


# --------------------------------------------------------------------------
# Luhn / IMEI
# --------------------------------------------------------------------------

def luhn_check_digit(body: str) -> str:
    """Luhn (mod 10, double-every-other) check digit for a digit string."""
    if not _is_digits(body):
        raise IdentifierError('invalid_imei', 'check digit needs a string of digits')
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
        raise IdentifierError('invalid_vin', 'a VIN has 17 characters')
    for i, ch in enumerate(vin17):
        if i != 8 and ch not in _VIN_CHARS:
            raise IdentifierError('invalid_vin', f'character {ch!r} at position {i + 1} '
                                  'is not allowed in a VIN')
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
        raise IdentifierError('invalid_date', f'{yymmdd!r} is not a YYMMDD date')
    yy, mm, dd = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= mm <= 12:
        raise IdentifierError('invalid_date', f'{yymmdd}: month {mm:02d} does not exist')
    year = _resolve_century(yy, today or datetime.date.today())
    last_day = calendar.monthrange(year, mm)[1]
    if dd == 0:
        dd = last_day
    elif dd > last_day:
        raise IdentifierError('invalid_date', f'{yymmdd}: day {dd:02d} does not exist in {year}-{mm:02d}')
    return datetime.date(year, mm, dd)


# --------------------------------------------------------------------------
# GS1 application identifiers
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _AISpec:
    length: int          # exact length when fixed, else the maximum
    fixed: bool
    numeric: bool        # digits only; otherwise GS1 character set 82
    check: str | None = None  # 'mod10' (GTIN, SSCC, GLN...) or 'date'


def _n(length: int, check: str | None = None) -> _AISpec:
    return _AISpec(length, True, True, check)


def _nvar(max_len: int) -> _AISpec:
    return _AISpec(max_len, False, True)


def _xvar(max_len: int) -> _AISpec:
    return _AISpec(max_len, False, False)


def _build_ai_table() -> dict[str, _AISpec]:
    # Lengths per the GS1 General Specifications / GS1 Barcode Syntax
    # Dictionary. AIs made of several components (253, 255, 421, 7003, 8003,
    # 8006...) are left out on purpose: a wrong partial treatment would be
    # worse than an honest "unsupported AI" error.
    t: dict[str, _AISpec] = {
        '00': _n(18, 'mod10'),   # SSCC
        '01': _n(14, 'mod10'),   # GTIN
        '02': _n(14, 'mod10'),   # GTIN of contained items
        '10': _xvar(20),         # batch/lot
        '20': _n(2),             # variant
        '21': _xvar(20),         # serial
        '22': _xvar(20),         # consumer product variant
        '235': _xvar(28),
        '240': _xvar(30), '241': _xvar(30), '242': _nvar(6), '243': _xvar(20),
        '250': _xvar(30), '251': _xvar(30), '254': _xvar(20),
        '30': _nvar(8),          # variable count
        '37': _nvar(8),          # count of contained items
        '400': _xvar(30), '401': _xvar(30), '402': _n(17, 'mod10'), '403': _xvar(30),
        '420': _xvar(20), '422': _n(3), '424': _n(3), '426': _n(3), '427': _xvar(3),
        '7001': _n(13), '7002': _xvar(30), '7005': _xvar(12),
        '7020': _xvar(20), '7021': _xvar(20), '7022': _xvar(20), '7240': _xvar(20),
        '8002': _xvar(20), '8004': _xvar(30), '8005': _n(6), '8012': _xvar(20),
        '8017': _n(18, 'mod10'), '8018': _n(18, 'mod10'), '8019': _nvar(10),
        '8020': _xvar(25), '8200': _xvar(70),
        '90': _xvar(30),
    }
    for ai in ('11', '12', '13', '15', '16', '17'):   # YYMMDD dates
        t[ai] = _n(6, 'date')
    for ai in range(410, 418):                       # GLNs: ship to, bill to...
        t[str(ai)] = _n(13, 'mod10')
    for ai in range(91, 100):                        # company internal
        t[str(ai)] = _xvar(90)
    for ai in range(710, 716):                       # national healthcare numbers
        t[str(ai)] = _xvar(20)
    # Measures: AI "31nn".."36nn", the 4th digit is the decimal point
    # position 0-5; each family (310, 311, ...) exists up to the listed end.
    families = [*range(310, 317), *range(320, 330), *range(330, 338),
                *range(340, 350), *range(350, 358), *range(360, 370)]
    for fam in families:
        for decimals in range(6):
            t[f'{fam}{decimals}'] = _n(6)
    for fam in (390, 392):                           # amounts / prices
        for decimals in range(10):
            t[f'{fam}{decimals}'] = _nvar(15)
    return t


_AIS: dict[str, _AISpec] = _build_ai_table()

# GS1 AI encodable character set 82 (General Specifications figure 7.11-1).
_CSET82 = frozenset('!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
                    'abcdefghijklmnopqrstuvwxyz')

# AIM symbology identifiers that announce GS1 data: DataMatrix, GS1-128,
# QR Code, DataBar, DotCode. Anything after them is an element string.
GS1_SYMBOLOGY_IDS = (']d2', ']C1', ']Q3', ']e0', ']J1')
# Any AIM symbology identifier: ']' + symbology letter + modifier digit.
_SYMBOLOGY_ID = re.compile(r'\][A-Za-z][0-9]')
_HRI_AI = re.compile(r'\((\d{2,4})\)')


def _gs1_error(message: str) -> IdentifierError:
    return IdentifierError('invalid_gs1', message)


def _match_ai(s: str, pos: int) -> str | None:
    # The AI table is prefix-free (no AI is the start of another), so the
    # first length that matches is the only one that can.
    for size in (2, 3, 4):
        candidate = s[pos:pos + size]
        if len(candidate) == size and candidate in _AIS:
            return candidate
    return None


def _check_ai_value(ai: str, value: str) -> None:
    """Raise invalid_gs1 unless `value` is valid content for `ai`."""
    spec = _AIS[ai]
    if value == '':
        raise _gs1_error(f'AI ({ai}) has no data')
    if spec.fixed and len(value) != spec.length:
        raise _gs1_error(f'AI ({ai}) needs exactly {spec.length} characters, got {len(value)}')
    if not spec.fixed and len(value) > spec.length:
        raise _gs1_error(f'AI ({ai}) allows at most {spec.length} characters, got {len(value)}')
    if spec.numeric and not _is_digits(value):
        raise _gs1_error(f'AI ({ai}) must contain digits only')
    if not spec.numeric and not set(value) <= _CSET82:
        bad = next(ch for ch in value if ch not in _CSET82)
        raise _gs1_error(f'AI ({ai}) contains {bad!r}, which GS1 does not allow')
    if spec.check == 'mod10' and not _has_mod10_check(value):
        raise _gs1_error(f'AI ({ai}) {value}: wrong check digit '
                         f'(expected {gtin_check_digit(value[:-1])})')
    if spec.check == 'date':
        try:
            gs1_date(value)
        except IdentifierError as exc:
            raise _gs1_error(f'AI ({ai}) is not a valid date: {exc.message}') from None


def _add_element(ais: dict[str, str], ai: str, value: str) -> None:
    _check_ai_value(ai, value)
    # The same AI twice is only tolerable when it says the same thing.
    if ai in ais and ais[ai] != value:
        raise _gs1_error(f'AI ({ai}) appears twice with different values')
    ais[ai] = value


def _parse_hri(s: str) -> dict[str, str]:
    """Parse "(01)...(17)...(10)..." where every AI is in parentheses."""
    matches = list(_HRI_AI.finditer(s))
    ais: dict[str, str] = {}
    for i, m in enumerate(matches):
        ai = m.group(1)
        if ai not in _AIS:
            raise _gs1_error(f'unknown or unsupported AI ({ai})')
        end = matches[i + 1].start() if i + 1 < len(matches) else len(s)
        # Printed labels often put a space between elements; a space is not
        # in GS1's character set, so dropping it cannot lose data.
        _add_element(ais, ai, s[m.end():end].strip(' '))
    return ais


def _parse_raw(s: str) -> dict[str, str]:
    """Parse a raw element string: AIs run together, GS ends variable fields."""
    ais: dict[str, str] = {}
    pos = 0
    while pos < len(s):
        if s[pos] == GS:
            # FNC1 after a fixed-length field, a leading one, or a trailing
            # one some scanners append: all harmless.
            pos += 1
            continue
        ai = _match_ai(s, pos)
        if ai is None:
            raise _gs1_error(f'unknown or unsupported AI at {s[pos:pos + 4]!r}')
        spec = _AIS[ai]
        start = pos + len(ai)
        if spec.fixed:
            end = start + spec.length
            if end > len(s):
                raise _gs1_error(f'AI ({ai}) needs exactly {spec.length} characters, '
                                 f'got {len(s) - start}')
        else:
            end = s.find(GS, start)
            if end < 0:
                end = len(s)
        _add_element(ais, ai, s[start:end])
        pos = end
    if not ais:
        raise _gs1_error('no GS1 data after the symbology identifier')
    return ais


def parse_gs1(text: str) -> dict[str, str] | None:
    """{AI: value} in order for a GS1 element string; None if the text is not GS1.

    Explicit GS1 -- a GS1 symbology identifier (]d2 ]C1 ]Q3 ]e0 ]J1), HRI
    parentheses "(01)...", a leading GS, or a GS anywhere in a text that
    starts with a known AI -- must be well formed, else IdentifierError
    ('invalid_gs1') says what is wrong.

    Anything else is GS1 only when it parses completely, every value is valid
    and it holds AI 00, 01 or 02 with a correct check digit. That keeps plain
    serials ("0123ABC"), bare EAN-13s (which would otherwise read as AI 400)
    and other digit strings out.
    """
    if not isinstance(text, str):
        return None
    s = _strip_space(text)
    explicit = False
    if s[:3] in GS1_SYMBOLOGY_IDS:
        s, explicit = s[3:], True
    if _HRI_AI.match(s):
        return _parse_hri(s)
    if s.startswith(GS) or (GS in s and _match_ai(s, 0) is not None):
        explicit = True
    if explicit:
        return _parse_raw(s)
    try:
        ais = _parse_raw(s)
    except IdentifierError:
        return None
    if not any(key in ais for key in ('00', '01', '02')):
        return None
    return ais


def to_hri(ais: dict[str, str]) -> str:
    """The human-readable "(01)...(21)..." form of an AI dict, in dict order."""
    parts = []
    for ai, value in ais.items():
        if not (_is_digits(ai) and 2 <= len(ai) <= 4):
            raise _gs1_error(f'{ai!r} is not an application identifier')
        parts.append(f'({ai}){value}')
    return ''.join(parts)


# --------------------------------------------------------------------------
# Serial patterns
# --------------------------------------------------------------------------

SERIAL_KINDS = ('imei', 'vin', 'gs1')

# "{seq}", "{seq:d}", "{seq:06}" or "{seq:06d}": the sequence number, optionally
# zero-padded. Space padding ("{seq:6}") is refused: serials must not carry spaces.
_SEQ_FIELD = re.compile(r'\{seq(?::(?:0(\d{1,2}))?d?)?\}')
_MAX_SEQ_WIDTH = 30


@dataclass(frozen=True)
class _Template:
    prefix: str
    width: int
    suffix: str

    def regex(self) -> re.Pattern:
        # At least `width` digits: minting never truncates a number that has
        # outgrown its padding (seq 1234567 in "{seq:06}" -> 7 digits).
        digits = f'[0-9]{{{max(self.width, 1)},}}'
        return re.compile(re.escape(self.prefix) + digits + re.escape(self.suffix))


def is_template(pattern: str | None) -> bool:
    """True when the pattern is a minting template such as "OWN-{seq:06}"."""
    return isinstance(pattern, str) and '{seq' in pattern


def _pattern_error(message: str) -> IdentifierError:
    return IdentifierError('invalid_pattern', message)


@functools.lru_cache(maxsize=256)
def _parse_template(pattern: str) -> _Template:
    fields = list(_SEQ_FIELD.finditer(pattern))
    if len(fields) != 1:
        raise _pattern_error('a template needs exactly one {seq} or {seq:0N} field, '
                             f'e.g. "OWN-{{seq:06}}"; got {pattern!r}')
    m = fields[0]
    prefix, suffix = pattern[:m.start()], pattern[m.end():]
    if any(ch in '{}' for ch in prefix + suffix):
        raise _pattern_error(f'only {{seq}} may be in braces in a template: {pattern!r}')
    width = int(m.group(1) or 0)
    if width > _MAX_SEQ_WIDTH:
        raise _pattern_error(f'sequence width {width} is more than {_MAX_SEQ_WIDTH}')
    if not _is_plain_serial(prefix + '0' + suffix):
        raise _pattern_error('a template must be printable without spaces at its ends')
    return _Template(prefix, width, suffix)


@functools.lru_cache(maxsize=256)
def _compile_regex(pattern: str) -> re.Pattern:
    try:
        # ASCII: for a manager writing "\d{15}", \d means 0-9, not every
        # Unicode digit.
        return re.compile(pattern, re.ASCII)
    except (re.error, OverflowError, RecursionError) as exc:
        raise _pattern_error(f'not a valid regular expression: {exc}') from None


def _kind_of(pattern: str) -> str | None:
    # Kinds are words; "IMEI" typed by a manager means the kind, not a regex
    # matching the literal text "IMEI".
    kind = pattern.strip().lower()
    return kind if kind in SERIAL_KINDS else None


def validate_serial_pattern(pattern: str) -> None:
    """Raise IdentifierError('invalid_pattern') unless the pattern is usable.

    None or '' is fine (any serial). Otherwise a kind (imei, vin, gs1), a
    template with one {seq} field, or a Python regular expression.
    """
    if pattern is None or pattern == '':
        return
    if not isinstance(pattern, str):
        raise _pattern_error('a serial pattern must be text')
    if _kind_of(pattern):
        return
    if is_template(pattern):
        _parse_template(pattern)
    else:
        _compile_regex(pattern)


def _is_plain_serial(serial: str) -> bool:
    # The floor every serial must clear whatever the pattern: something to
    # print on a label and type back in.
    return (isinstance(serial, str) and serial != '' and serial.isprintable()
            and _strip_space(serial) == serial and serial.strip() == serial)


def _is_gs1_serial(serial: str) -> bool:
    # What fits into AI (21): 1-20 characters of GS1 character set 82.
    return 1 <= len(serial) <= _AIS['21'].length and set(serial) <= _CSET82


def serial_matches(pattern: str | None, serial: str) -> bool:
    """True when `serial` is acceptable for a product with this serial pattern.

    Raises IdentifierError('invalid_pattern') for a broken pattern rather
    than silently refusing every serial.
    """
    if not _is_plain_serial(serial):
        return False
    if pattern is None or pattern == '':
        return True
    validate_serial_pattern(pattern)
    kind = _kind_of(pattern)
    if kind == 'imei':
        return is_valid_imei(serial)
    if kind == 'vin':
        return is_valid_vin(serial)
    if kind == 'gs1':
        return _is_gs1_serial(serial)
    if is_template(pattern):
        return _parse_template(pattern).regex().fullmatch(serial) is not None
    return _compile_regex(pattern).fullmatch(serial) is not None


def mint_serial(pattern: str, seq: int) -> str:
    """The serial for sequence number `seq` from a template: ("OWN-{seq:06}", 7) -> "OWN-000007"."""
    if not is_template(pattern):
        raise _pattern_error(f'cannot mint serials from {pattern!r}: it has no {{seq}} field')
    template = _parse_template(pattern)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise IdentifierError('invalid_sequence', f'sequence number must be an integer >= 0, got {seq!r}')
    return f'{template.prefix}{seq:0{template.width}d}{template.suffix}'


# --------------------------------------------------------------------------
# Interpretation of a scanned text
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Interpretation:
    text: str                         # as scanned, without surrounding space / symbology id
    kind: str                         # 'gs1' | 'gtin' | 'imei' | 'vin' | 'text'
    gtin: str | None = None           # GTIN-14
    serial: str | None = None
    lot: str | None = None
    expiry: datetime.date | None = None
    ais: dict = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict:
        """JSON-friendly form: non-empty fields only, expiry as an ISO date."""
        out = {
            'kind': self.kind,
            'text': self.text,
            'gtin': self.gtin,
            'serial': self.serial,
            'lot': self.lot,
            'expiry': self.expiry.isoformat() if self.expiry else None,
            'ais': dict(self.ais),
        }
        return {k: v for k, v in out.items() if v not in (None, '', {})}


def _format_key(barcode_format: str | None) -> str:
    # zxing-cpp says "UPCE" / "BarcodeFormat.UPCE", others "UPC-E" / "upc_e".
    return re.sub('[^a-z0-9]', '', (barcode_format or '').lower())


def _gtin_from_digits(text: str, barcode_format: str | None) -> str | None:
    """GTIN-14 for a bare EAN/UPC/GTIN-14 text, else None."""
    if len(text) == 8:
        # Eight digits may be an EAN-8 or a UPC-E; their check digits are
        # computed differently. The barcode format settles it when known;
        # without it EAN-8 wins because it is the literal reading.
        upce = expand_upce(text)
        fmt = _format_key(barcode_format)
        if fmt.endswith('upce') and upce:
            return normalize_gtin(upce)
        if is_valid_gtin(text):
            return normalize_gtin(text)
        return normalize_gtin(upce) if upce else None
    return normalize_gtin(text)


def _from_gs1(text: str, ais: dict[str, str]) -> Interpretation:
    expiry = gs1_date(ais['17']) if '17' in ais else None
    return Interpretation(text=text, kind='gs1', gtin=ais.get('01') or ais.get('02'),
                          serial=ais.get('21'), lot=ais.get('10'), expiry=expiry, ais=dict(ais))


def interpret(text: str, barcode_format: str | None = None) -> Interpretation:
    """What a scanned text most likely is.

    Order: GS1 (explicit or unambiguous), GTIN (8/12/13/14 digits, valid
    check digit), IMEI (15 digits, Luhn), VIN, else plain text. A malformed
    explicit GS1 string raises IdentifierError('invalid_gs1') so the user
    hears about a damaged label instead of getting a garbage serial.

    `barcode_format` (optional, e.g. zxing-cpp's "UPCE") only disambiguates
    8-digit UPC-E from EAN-8.
    """
    if not isinstance(text, str):
        raise TypeError('interpret() needs a str')
    s = _strip_space(text)
    if _SYMBOLOGY_ID.match(s):
        if s[:3] in GS1_SYMBOLOGY_IDS:
            ais = parse_gs1(s)   # explicit: raises if malformed
            return _from_gs1(_strip_space(s[3:]), ais)
        # Another symbology (]E0 EAN, ]C0 Code 128...): the id is transport
        # framing, not part of the code.
        s = _strip_space(s[3:])
    ais = parse_gs1(s)
    if ais is not None:
        return _from_gs1(s, ais)
    if _is_digits(s):
        gtin = _gtin_from_digits(s, barcode_format) if len(s) in GTIN_LENGTHS else None
        if gtin:
            return Interpretation(text=s, kind='gtin', gtin=gtin)
        if is_valid_imei(s):
            return Interpretation(text=s, kind='imei', serial=s)
    if is_valid_vin(s):
        return Interpretation(text=s, kind='vin', serial=s)
    return Interpretation(text=s, kind='text', serial=s or None)
