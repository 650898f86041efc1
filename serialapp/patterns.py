"""A product's serial pattern: a kind, a minting template or a regular expression.

A manager writes the pattern; every scan of that product runs it. Regular
expressions therefore run on RE2 (google-re2), whose matching time grows
linearly with the text, so no pattern can pin a worker (Python's `re`
backtracks: "(a+)+$" against 30 characters takes minutes). What RE2 cannot
do in linear time (back-references, look-around) it refuses to compile, and
`validate_serial_pattern` turns that into a sentence a shop manager can act
on when the pattern is saved. `identifiers` re-exports the public names.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import re2

from .checkdigits import IdentifierError, _strip_space, is_valid_imei, is_valid_vin

SERIAL_KINDS = ('imei', 'vin', 'gs1')

# "{seq}", "{seq:d}", "{seq:06}" or "{seq:06d}": the sequence number, optionally
# zero-padded. Space padding ("{seq:6}") is refused: serials must not carry spaces.
# (Python `re` is fine for these fixed patterns of ours; only user text is
# matched with RE2.)
_SEQ_FIELD = re.compile(r'\{seq(?::(?:0(\d{1,2}))?d?)?\}')
_MAX_SEQ_WIDTH = 30

# RE2 refuses repeat counts above 1000 ("a{1001}") but reads one too big for
# an int ("a{99999999999}") as literal text; refuse both the same way.
_HUGE_COUNT = re.compile(r'(?<!\\)\{\s*\d{5,}')
# What an AI (21) GS1 serial may hold: 1-20 characters of GS1 character set 82.
_CSET82 = frozenset('!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
                    'abcdefghijklmnopqrstuvwxyz')


def _pattern_error(message: str) -> IdentifierError:
    return IdentifierError('invalid_pattern', message)


# ---------------------------------------------------------------- templates

@dataclass(frozen=True)
class _Template:
    prefix: str
    width: int
    suffix: str

    def matches(self, serial: str) -> bool:
        # At least `width` digits: minting never truncates a number that has
        # outgrown its padding (seq 1234567 in "{seq:06}" -> 7 digits).
        if not (serial.startswith(self.prefix) and serial.endswith(self.suffix)):
            return False
        number = serial[len(self.prefix):len(serial) - len(self.suffix)]
        return (len(self.prefix) + len(self.suffix) <= len(serial)
                and len(number) >= max(self.width, 1)
                and number.isascii() and number.isdigit())


def is_template(pattern: str | None) -> bool:
    """True when the pattern is a minting template such as "OWN-{seq:06}"."""
    return isinstance(pattern, str) and '{seq' in pattern


@functools.lru_cache(maxsize=256)
def _parse_template(pattern: str) -> _Template:
    fields = list(_SEQ_FIELD.finditer(pattern))
    if len(fields) != 1:
        raise _pattern_error('A template needs exactly one number field such as {seq} '
                             'or {seq:06}, for example OWN-{seq:06}.')
    m = fields[0]
    prefix, suffix = pattern[:m.start()], pattern[m.end():]
    if any(ch in '{}' for ch in prefix + suffix):
        raise _pattern_error('Only the number field {seq} may be in braces in a template.')
    width = int(m.group(1) or 0)
    if width > _MAX_SEQ_WIDTH:
        raise _pattern_error(f'The number in a template can be padded to at most '
                             f'{_MAX_SEQ_WIDTH} digits.')
    if not _is_plain_serial(prefix + '0' + suffix):
        raise _pattern_error('A template must be printable and cannot start or end with a space.')
    return _Template(prefix, width, suffix)


# ---------------------------------------------------------------- regular expressions

def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False   # a refused pattern is an answer, not a log line
    return options


_OPTIONS = _options()


def _explain_re2(error: str) -> str:
    """A manager's sentence for an RE2 compile error ("missing ): (ab")."""
    what, _, where = error.partition(': ')
    if what == 'invalid escape sequence' and where[1:2].isdigit():
        return f'Back-references such as {where} are not supported in serial patterns.'
    if what == 'invalid perl operator':
        if where.startswith(('(?=', '(?!', '(?<=', '(?<!')):
            return f'Look-ahead and look-behind such as {where} are not supported in serial patterns.'
        if where.startswith('(?P'):   # "(?P=name)": "(?P<name>" itself is fine
            return 'Back-references such as (?P=name) are not supported in serial patterns.'
        return f'Serial patterns do not support {where}.'
    if what == 'invalid escape sequence':
        return f'Serial patterns do not support {where}.'
    if what == 'missing )':
        return 'A bracket "(" in the pattern is never closed.'
    if what in ('unexpected )', 'missing ('):
        return 'A bracket ")" in the pattern has no opening "(".'
    if what == 'missing ]':
        return 'A bracket "[" in the pattern is never closed.'
    if what == 'invalid repetition size':
        return 'Repeat counts above 1000 are not supported in serial patterns.'
    if what in ('bad repetition operator', 'no argument for repetition operator'):
        return f'The repeat mark in {where} has nothing it can repeat.'
    if what == 'trailing \\':
        return 'The pattern ends with a lone backslash.'
    if what in ('pattern too large - compile failed', 'pattern too large - reverse compile failed'):
        return 'This pattern is too large to check quickly, so write a shorter one.'
    if what in ('invalid character class range', 'invalid character class'):
        return f'The range {where} in the pattern is not valid.'
    return f'The pattern could not be read near {where or "its end"}.'


@functools.lru_cache(maxsize=256)
def _compile_regex(pattern: str) -> re2._Regexp:
    if _HUGE_COUNT.search(pattern):
        raise _pattern_error('Repeat counts above 1000 are not supported in serial patterns.')
    try:
        # RE2's \d is ASCII 0-9 whatever the text, as a manager writing
        # "\d{15}" means.
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ''
        if isinstance(detail, bytes):
            detail = detail.decode('utf-8', 'replace')
        raise _pattern_error(_explain_re2(str(detail))) from None


# ---------------------------------------------------------------- the public face

def _kind_of(pattern: str) -> str | None:
    # Kinds are words; "IMEI" typed by a manager means the kind, not a regex
    # matching the literal text "IMEI".
    kind = pattern.strip().lower()
    return kind if kind in SERIAL_KINDS else None


def validate_serial_pattern(pattern: str) -> None:
    """Raise IdentifierError('invalid_pattern') unless the pattern is usable.

    None or '' is fine (any serial). Otherwise a kind (imei, vin, gs1), a
    template with one {seq} field, or a regular expression in RE2 syntax
    (Python's syntax without back-references and look-around).
    """
    if pattern is None or pattern == '':
        return
    if not isinstance(pattern, str):
        raise _pattern_error('A serial pattern must be text.')
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
    return 1 <= len(serial) <= 20 and set(serial) <= _CSET82


def serial_matches(pattern: str | None, serial: str) -> bool:
    """True when `serial` is acceptable for a product with this serial pattern.

    A regular expression must match the whole serial. Raises
    IdentifierError('invalid_pattern') for a broken pattern rather than
    silently refusing every serial.
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
        return _parse_template(pattern).matches(serial)
    return _compile_regex(pattern).fullmatch(serial) is not None


def mint_serial(pattern: str, seq: int) -> str:
    """The serial for sequence number `seq` from a template: ("OWN-{seq:06}", 7) -> "OWN-000007"."""
    if not is_template(pattern):
        raise _pattern_error('New serials can only be made from a template such as OWN-{seq:06}.')
    template = _parse_template(pattern)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise IdentifierError('invalid_sequence', 'The next serial number must be a whole '
                              'number, 0 or more.')
    return f'{template.prefix}{seq:0{template.width}d}{template.suffix}'
