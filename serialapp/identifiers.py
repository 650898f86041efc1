"""What a scanned text is: a GS1 element string or Digital Link, an EAN/UPC, an IMEI, a VIN...

Pure Python plus biip, so the domain, the service layer and the tests use it
without Flask. GS1 syntax (which AIs exist, their lengths and characters, the
GTIN/SSCC/GLN check digits, Digital Link URIs, symbology identifiers) comes
from biip, which ships GS1's own tables; serialapp keeps a thin layer:

- the decision "is this text GS1 at all?" (`_read_gs1`), which is about how
  scanners deliver data, not about GS1 syntax;
- messages in a warehouse worker's words instead of parser diagnostics;
- check digits of a few GS1 keys biip reads but does not verify
  (`_CHECKED_KEYS`), and IMEI, VIN and serial patterns (`checkdigits`,
  `patterns`), which are not GS1 at all.

Every public name of the former single module is still importable from here.
"""
from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.symbology import GS1Symbology

from .checkdigits import (
    GS, GTIN_LENGTHS, IdentifierError, _has_mod10_check, _is_digits, _strip_space,
    expand_upce, gs1_date, gtin_check_digit, is_valid_gtin, is_valid_imei, is_valid_vin,
    luhn_check_digit, normalize_gtin, vin_check_digit,
)
from .patterns import (
    SERIAL_KINDS, is_template, mint_serial, serial_matches, validate_serial_pattern,
)

__all__ = [
    'IdentifierError', 'gtin_check_digit', 'is_valid_gtin', 'normalize_gtin',
    'expand_upce', 'luhn_check_digit', 'is_valid_imei', 'vin_check_digit',
    'is_valid_vin', 'parse_gs1', 'gs1_date', 'to_hri', 'SERIAL_KINDS',
    'validate_serial_pattern', 'serial_matches', 'mint_serial', 'is_template',
    'Interpretation', 'interpret', 'GS', 'GS1_SYMBOLOGY_IDS', 'GTIN_LENGTHS',
]

# AIM symbology identifiers that announce GS1 data: biip's list (GS1-128,
# DataBar, DataMatrix, QR, DotCode) plus GS1 Aztec (]z1), which biip does not
# name but the camera pipeline sends.
GS1_SYMBOLOGY_IDS = tuple(sorted(']' + s.value for s in GS1Symbology.with_gs1_messages())) \
    + (']z1',)
# Any AIM symbology identifier: ']' + symbology letter + modifier digit.
_SYMBOLOGY_ID = re.compile(r'\][A-Za-z][0-9]')
_HRI_AI = re.compile(r'\((\d{2,4})\)')
_PRIMARY_KEYS = ('00', '01', '03', '02')   # an SSCC or a GTIN: what names goods

# Own GS1 code, kept on purpose: biip verifies the check digits of GTINs
# (01, 02, 03), SSCCs (00) and GLNs (41x), but reads these keys, which carry
# the same GS1 mod-10 check digit, without verifying it. {AI: (start, end)}
# of the digits the check digit closes.
_CHECKED_KEYS = {
    '253': (0, 13),    # GDTI
    '255': (0, 13),    # GCN
    '402': (0, 17),    # GSIN
    '8003': (1, 14),   # GRAI, after its leading 0
    '8006': (0, 14),   # ITIP: a GTIN
    '8017': (0, 18),   # GSRN provider
    '8018': (0, 18),   # GSRN recipient
}

# Words for the parts a warehouse worker meets; any other part is named by
# GS1's description of its AI (biip's `description`).
_PART_NAMES = {
    '00': 'shipping container code (SSCC)', '01': 'product number (GTIN)',
    '02': 'product number (GTIN) of the contents', '03': 'product number (GTIN)',
    '10': 'batch/lot number', '11': 'production date', '12': 'due date',
    '13': 'packaging date', '15': 'best-before date', '16': 'sell-by date',
    '17': 'expiry date', '21': 'serial number', '8040': 'IMEI', '8041': 'second IMEI',
    '8042': 'eSIM number', '8043': 'SIM card number',
}

# GS1 AI encodable character set 82 (General Specifications figure 7.11-1);
# only used to say *which* character is wrong, biip decides *that* one is.
_CSET82 = frozenset('!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
                    'abcdefghijklmnopqrstuvwxyz')


def _gs1_error(message: str) -> IdentifierError:
    return IdentifierError('invalid_gs1', message)


@functools.lru_cache(maxsize=4096)
def _ai_starting(head: str) -> GS1ApplicationIdentifier | None:
    """biip's entry for the AI that `head` (up to 4 characters) starts with.

    biip scans its whole table per lookup; AIs have at most 4 digits, so the
    answer depends on 4 characters only and is cached on them.
    """
    try:
        return GS1ApplicationIdentifier.extract(head)
    except ParseError:
        return None


def _known_ai(ai: str) -> GS1ApplicationIdentifier | None:
    """biip's entry for exactly this AI, or None when GS1 defines no such AI."""
    entry = _ai_starting(ai[:4])
    return entry if entry is not None and entry.ai == ai else None


def _part_name(entry: GS1ApplicationIdentifier) -> str:
    if entry.ai in _PART_NAMES:
        return _PART_NAMES[entry.ai]
    # GS1's description without its format note: "Global Shipment
    # Identification Number (GSIN)", "Best before date (YYMMDD)" -> "... date".
    # GS1's description, shortened: notes in brackets go unless they are an
    # acronym ("(YYMMDD)", "(variable measure trade item)"), so does what
    # precedes " - " ("Identification of a physical location - Global
    # Location Number") or follows the acronym ("... (GSRN) to identify ...").
    words = re.sub(r'\s*\((?![A-Z0-9-]+\))[^)]*\)', '', entry.description).strip()
    words = words.split(' - ')[-1]
    words = words[:words.index(')') + 1] if ')' in words else words
    if len(words) > 50:
        words = entry.data_title.replace('.', '')
    # Lower-case the words, not the acronyms: "global shipment ... (GSIN)".
    return ' '.join(w if sum(c.isupper() for c in w) > 1 else w.lower() for w in words.split())


def _bad_value(entry: GS1ApplicationIdentifier, value: str) -> IdentifierError:
    """Why biip refused `value` for this AI, in one sentence."""
    name = _part_name(entry)
    kinds = entry.format.split('+', 1)[-1]
    if value == '':
        return _gs1_error(f'The {name} on this code is empty.')
    if 'YYMMDD' in entry.description:
        return _gs1_error(f'The {name} on this code is not a real date.')
    odd = next((ch for ch in value if ch not in _CSET82), None)
    if odd is not None:
        what = 'a space' if odd == ' ' else f'the character "{odd}"' if odd.isprintable() \
            else 'an invisible character'
        return _gs1_error(f'The {name} on this code contains {what}, which GS1 codes cannot carry.')
    if not any(k in kinds for k in 'XYZ') and not _is_digits(value):
        return _gs1_error(f'The {name} on this code must be digits only.')
    return _gs1_error(f'The {name} on this code has the wrong length.')


@dataclass
class _Read:
    """What a GS1 text held: readable elements, and the parts no AI explains."""
    ais: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def add(self, element: GS1ElementString) -> None:
        entry, value = element.ai, element.value
        name = _part_name(entry)
        if element.gtin_error or element.sscc_error or element.gln_error:
            raise _gs1_error(f'The {name} on this code has a wrong check digit.')
        span = _CHECKED_KEYS.get(entry.ai)
        if span and not _has_mod10_check(value[span[0]:span[1]]):
            raise _gs1_error(f'The {name} on this code has a wrong check digit.')
        # The same AI twice is only tolerable when it says the same thing.
        if self.ais.get(entry.ai, value) != value:
            raise _gs1_error(f'This code carries two different values for the {name}.')
        self.ais[entry.ai] = value


def _parse_hri(s: str) -> _Read | None:
    """"(01)...(17)...(10)...": every AI in parentheses.

    Scanners never send this form; people type or paste it. So it is GS1 only
    when at least one bracket names an AI GS1 defines: "(555) 123-4567" and
    "(2024) batch 7" stay plain text. Brackets GS1 does not define are kept
    aside in `skipped`; a defined AI with a bad value raises.
    """
    matches = list(_HRI_AI.finditer(s))
    pieces = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(s)
        # Printed labels often put a space between elements; a space is not
        # in GS1's character set, so dropping it at the ends cannot lose data.
        pieces.append((m.group(1), s[m.end():end].strip(' ')))
    if not any(_known_ai(ai) for ai, _ in pieces):
        return None
    read = _Read()
    for ai, value in pieces:
        entry = _known_ai(ai)
        if entry is None:
            read.skipped.append(f'({ai}){value}')
            continue
        try:
            element = GS1ElementString.parse(ai + value)
        except ParseError:
            raise _bad_value(entry, value) from None
        read.add(element)
    return read


def _ai_at(s: str, pos: int) -> GS1ApplicationIdentifier | None:
    """The AI starting at `pos` (GS1's AIs are prefix-free), or None."""
    return _ai_starting(s[pos:pos + 4])


def _parse_raw(s: str, read: _Read | None = None) -> _Read:
    """AIs run together, GS (FNC1) ends variable-length fields.

    An AI GS1 does not define cannot tell where its data ends; its part up to
    the next GS is kept aside in `skipped` and reading goes on after it.
    """
    read = _Read() if read is None else read
    pos = 0
    while pos < len(s):
        if s[pos] == GS:
            # FNC1 after a fixed-length field, a leading one, or a trailing
            # one some scanners append: all harmless.
            pos += 1
            continue
        end = s.find(GS, pos)
        end = len(s) if end < 0 else end
        entry = _ai_at(s[:end], pos)
        if entry is None:
            read.skipped.append(s[pos:end])
            pos = end
            continue
        try:
            element = GS1ElementString.extract(s[pos:end])
        except ParseError:
            raise _bad_value(entry, s[pos + len(entry.ai):end]) from None
        stop = pos + len(element)
        if entry.separator_required and stop != end:
            # GS1 wants FNC1 (or the end) after every AI outside its short
            # list of predefined lengths; more data means the field overran.
            raise _gs1_error(f'The {_part_name(entry)} on this code is too long.')
        read.add(element)
        pos = stop
    return read


def _parse_link(s: str) -> _Read | None:
    """A GS1 Digital Link URI on any host; None for any other URL."""
    try:
        link = GS1DigitalLinkURI.parse(s)
    except ParseError:
        return None
    read = _Read()
    for element in link.element_strings:
        read.add(element)
    return read


def _is_url(s: str) -> bool:
    return s[:8].lower().startswith(('http://', 'https://'))


def _read_gs1(text: str) -> _Read | None:
    """The GS1 data in a text, None when the text is not GS1.

    The decision rule: a scanner announces GS1 data, a typed serial does not.
    GS1 symbologies carry FNC1, which a decoder delivers as an AIM symbology
    identifier (]d2, ]C1, ]Q3, ]e0, ]J1, ]z1) and as GS between fields; HRI
    brackets and Digital Link URIs announce themselves. Such *marked* text is
    read as GS1, and a defined AI with a bad value raises, so a damaged label
    is reported instead of becoming a garbage serial.

    *Unmarked* text (a wedge scanner with symbology identifiers off, or a
    person typing) is GS1 only when nothing else could have produced it: it
    reads completely, every AI is defined and valid, it holds an SSCC or a
    GTIN, and it holds more than that one key. The last condition is what
    keeps numeric serials apart: "01" + 14 digits is a 16-digit serial as
    often as it is a GTIN-only GS1 code, and its check digit holds for one
    random number in ten, so a check digit alone proves nothing.
    """
    s = _strip_space(text)
    marked = s[:3] in GS1_SYMBOLOGY_IDS
    if marked:
        s = _strip_space(s[3:])
    elif _SYMBOLOGY_ID.match(s):
        s = _strip_space(s[3:])      # another symbology's id is only framing
    if _is_url(s):
        return _parse_link(s)
    if _HRI_AI.match(s):
        return _parse_hri(s)
    if s.startswith(GS) or (GS in s and _ai_at(s, 0) is not None):
        marked = True
    if marked:
        read = _parse_raw(s)
        return read if read.ais else None
    try:
        read = _parse_raw(s)
    except IdentifierError:
        return None
    if read.skipped or len(read.ais) < 2 or not any(k in read.ais for k in _PRIMARY_KEYS):
        return None
    return read


def parse_gs1(text: str) -> dict[str, str] | None:
    """{AI: value} in order for a GS1 element string or Digital Link; None if not GS1.

    See `_read_gs1` for when a text counts as GS1. Parts with AIs GS1 does not
    define are left out (`interpret` reports them as `skipped`); a defined AI
    with a bad value raises IdentifierError('invalid_gs1').
    """
    if not isinstance(text, str):
        return None
    read = _read_gs1(text)
    return dict(read.ais) if read else None


def to_hri(ais: dict[str, str]) -> str:
    """The human-readable "(01)...(21)..." form of an AI dict, in dict order."""
    parts = []
    for ai, value in ais.items():
        if not (_is_digits(ai) and 2 <= len(ai) <= 4):
            raise _gs1_error(f'GS1 has no application identifier {ai}.')
        parts.append(f'({ai}){value}')
    return ''.join(parts)


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
    skipped: tuple[str, ...] = ()     # parts of a GS1 code whose AI GS1 does not define

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
            'skipped': list(self.skipped),
        }
        return {k: v for k, v in out.items() if v is not None and len(v) > 0}


def _format_key(barcode_format: str | None) -> str:
    # zxing-cpp says "UPCE" / "BarcodeFormat.UPCE", others "UPC-E" / "upc_e".
    return re.sub('[^a-z0-9]', '', (barcode_format or '').lower())


def _gtin_from_digits(text: str, barcode_format: str | None) -> str | None:
    """GTIN-14 for a bare EAN/UPC/GTIN-14 text, else None."""
    if not (_is_digits(text) and len(text) in GTIN_LENGTHS):
        return None
    if len(text) == 8:
        # Eight digits may be an EAN-8 or a UPC-E; their check digits are
        # computed differently. The barcode format settles it when known;
        # without it EAN-8 wins because it is the literal reading.
        upce = expand_upce(text)
        if _format_key(barcode_format).endswith('upce') and upce:
            return normalize_gtin(upce)
        if is_valid_gtin(text):
            return normalize_gtin(text)
        return normalize_gtin(upce) if upce else None
    return normalize_gtin(text)


def _from_gs1(text: str, read: _Read) -> Interpretation:
    ais = read.ais
    expiry = gs1_date(ais['17']) if '17' in ais else None
    gtin = ais.get('01') or ais.get('03') or ais.get('02')
    # A phone's code may carry its IMEI (AI 8040) instead of a serial (AI 21);
    # the IMEI is then the unit's serial, as on the box label beside it.
    serial = ais.get('21') or (ais['8040'] if is_valid_imei(ais.get('8040')) else None)
    return Interpretation(text=text, kind='gs1', gtin=gtin, serial=serial, lot=ais.get('10'),
                          expiry=expiry, ais=dict(ais), skipped=tuple(read.skipped))


def _composite(s: str, barcode_format: str | None) -> Interpretation | None:
    """An EAN/UPC or DataBar with a 2D composite part: "]E0<EAN>|]e0<element string>".

    The linear part names the product (for an EAN/UPC: AI 01, the GTIN); the
    composite part always holds GS1 element strings (lot, expiry, serial...).
    """
    linear, _, rest = s.partition('|')
    linear, rest = _strip_space(linear), _strip_space(rest)
    if not (_SYMBOLOGY_ID.match(linear) or rest.startswith(']e')):
        return None
    if linear[:3] in GS1_SYMBOLOGY_IDS:
        read = _read_gs1(linear)
        if read is None:
            return None
    else:
        gtin = _gtin_from_digits(_strip_space(linear[3:] if _SYMBOLOGY_ID.match(linear)
                                              else linear), barcode_format)
        if gtin is None:
            return None
        read = _Read({'01': gtin})
    body = _strip_space(rest[3:]) if _SYMBOLOGY_ID.match(rest) else rest
    _parse_raw(body, read)
    text = (linear[3:] if _SYMBOLOGY_ID.match(linear) else linear) + '|' + body
    return _from_gs1(text, read)


def interpret(text: str, barcode_format: str | None = None) -> Interpretation:
    """What a scanned text most likely is.

    Order: GS1 (a marked element string, HRI or Digital Link URI, or an
    unmarked one nothing else explains, see `_read_gs1`), an EAN/UPC with a
    composite part, GTIN (8/12/13/14 digits, valid check digit), IMEI (15
    digits, Luhn), VIN, else plain text. A GS1 code with a defined AI whose
    value is wrong raises IdentifierError('invalid_gs1') so the user hears
    about a damaged label; one with AIs GS1 does not define keeps the rest.

    `barcode_format` (optional, e.g. zxing-cpp's "UPCE") only disambiguates
    8-digit UPC-E from EAN-8.
    """
    if not isinstance(text, str):
        raise TypeError('interpret() needs a str')
    s = _strip_space(text)
    if '|' in s:
        found = _composite(s, barcode_format)
        if found is not None:
            return found
    if _SYMBOLOGY_ID.match(s):
        read = _read_gs1(s)
        s = _strip_space(s[3:])   # the id is transport framing, not part of the code
        if read is not None:
            return _from_gs1(s, read)
    else:
        read = _read_gs1(s)
        if read is not None:
            return _from_gs1(s, read)
    if _is_digits(s):
        gtin = _gtin_from_digits(s, barcode_format)
        if gtin:
            return Interpretation(text=s, kind='gtin', gtin=gtin)
        if is_valid_imei(s):
            return Interpretation(text=s, kind='imei', serial=s)
    if is_valid_vin(s):
        return Interpretation(text=s, kind='vin', serial=s)
    return Interpretation(text=s, kind='text', serial=s or None)
