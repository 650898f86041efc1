"""Unit tests for serialapp.identifiers: real published values plus property tests."""
import datetime
import json
import re
import time
from urllib.parse import quote

import pytest
from hypothesis import given, settings, strategies as st

from tests.unit.messages import assert_worker_message
from serialapp.identifiers import (
    GS, IdentifierError, Interpretation, expand_upce, gs1_date, gtin_check_digit,
    interpret, is_template, is_valid_gtin, is_valid_imei, is_valid_vin, luhn_check_digit,
    mint_serial, normalize_gtin, parse_gs1, serial_matches, to_hri, validate_serial_pattern,
    vin_check_digit,
)

TODAY = datetime.date(2024, 5, 10)


# --------------------------------------------------------------------------
# GTIN / EAN / UPC
# --------------------------------------------------------------------------

@pytest.mark.parametrize('body, check', [
    ('0950600013435', '2'),    # GS1's example GTIN-14 09506000134352
    ('400638133393', '1'),     # EAN-13 4006381333931
    ('03600029145', '2'),      # UPC-A 036000291452
    ('9638507', '4'),          # EAN-8 96385074
    ('10614141123456789', '7'),  # GS1's example SSCC
    ('0', '0'),
])
def test_gtin_check_digit_known_values(body, check):
    assert gtin_check_digit(body) == check


@pytest.mark.parametrize('bad', ['', '12a4', '١٢٣', None, 123])
def test_gtin_check_digit_rejects_non_digits(bad):
    with pytest.raises(IdentifierError) as exc:
        gtin_check_digit(bad)
    assert exc.value.code == 'invalid_gtin'
    assert_worker_message(exc.value.message)


@pytest.mark.parametrize('gtin', ['09506000134352', '4006381333931', '036000291452', '96385074'])
def test_valid_gtins(gtin):
    assert is_valid_gtin(gtin)


@pytest.mark.parametrize('text', [
    '09506000134353',      # wrong check digit
    '4006381333932',
    '036000291453',
    '96385075',
    '36000291452',         # 11 digits: no such GTIN length
    '009506000134352',     # 15 digits
    '0950600013435A',
    ' 4006381333931',
    '４００６３８１３３３９３１',  # full-width digits
    '',
    None,
])
def test_invalid_gtins(text):
    assert not is_valid_gtin(text)
    assert normalize_gtin(text) is None


def test_normalize_gtin_pads_to_14():
    assert normalize_gtin('09506000134352') == '09506000134352'
    assert normalize_gtin('4006381333931') == '04006381333931'
    assert normalize_gtin('96385074') == '00000096385074'


def test_upc_a_as_12_13_and_14_digits_is_one_gtin():
    assert normalize_gtin('036000291452') == '00036000291452'
    assert normalize_gtin('0036000291452') == '00036000291452'
    assert normalize_gtin('00036000291452') == '00036000291452'


@pytest.mark.parametrize('upce, upca', [
    ('04252614', '042100005264'),   # last data digit 0-2
    ('01234565', '012345000065'),   # last data digit 5-9
    ('01234531', '012300000451'),   # last data digit 3
    ('01234543', '012340000053'),   # last data digit 4
    ('11234562', '112345000062'),   # number system 1
])
def test_expand_upce(upce, upca):
    assert expand_upce(upce) == upca
    assert is_valid_gtin(upca)


def test_upce_expanded_as_gtin13_lands_on_the_same_gtin14():
    upca = expand_upce('04252614')
    assert normalize_gtin('0' + upca) == normalize_gtin(upca) == '00042100005264'


@pytest.mark.parametrize('text', [
    '04252615',    # wrong check digit
    '24252614',    # number system 2 has no UPC-E
    '0425261',     # 7 digits
    '042526144',   # 9 digits
    '0425261A',
    None,
])
def test_expand_upce_rejects(text):
    assert expand_upce(text) is None


# --------------------------------------------------------------------------
# Luhn / IMEI
# --------------------------------------------------------------------------

def test_luhn_check_digit_known_values():
    assert luhn_check_digit('49015420323751') == '8'
    assert luhn_check_digit('7992739871') == '3'    # the textbook Luhn example
    assert luhn_check_digit('0') == '0'


def test_luhn_check_digit_rejects_non_digits():
    with pytest.raises(IdentifierError):
        luhn_check_digit('49015420323X51')


def test_imei():
    assert is_valid_imei('490154203237518')
    assert not is_valid_imei('490154203237519')
    assert not is_valid_imei('49015420323751')      # 14 digits
    assert not is_valid_imei('4901542032375180')    # 16 digits
    assert not is_valid_imei('49015420323751A')
    assert not is_valid_imei(' 490154203237518')
    assert not is_valid_imei(None)


# --------------------------------------------------------------------------
# VIN
# --------------------------------------------------------------------------

@pytest.mark.parametrize('vin, check', [
    ('1M8GDM9AXKP042788', 'X'),
    ('11111111111111111', '1'),
    ('1HGCM82633A004352', '3'),
])
def test_vin_check_digit_and_validity(vin, check):
    assert vin_check_digit(vin) == check
    assert is_valid_vin(vin)


def test_vin_check_digit_ignores_position_9():
    assert vin_check_digit('1M8GDM9A_KP042788') == 'X'


@pytest.mark.parametrize('text', [
    '1M8GDM9A1KP042788',     # wrong check digit
    '1m8gdm9axkp042788',     # lower case is not silently accepted
    '1M8GDM9AXKP04278',      # 16 characters
    '1M8GDM9AXKP0427888',    # 18 characters
    'IM8GDM9AXKP042788',     # I is never in a VIN
    '1M8GDM9AXKO042788',     # O neither
    '1M8GDM9AXKQ042788',     # Q neither
    '',
    None,
])
def test_invalid_vins(text):
    assert not is_valid_vin(text)


@pytest.mark.parametrize('bad', ['1M8GDM9AXKP04278', 'IM8GDM9AXKP042788', None])
def test_vin_check_digit_rejects_bad_input(bad):
    with pytest.raises(IdentifierError) as exc:
        vin_check_digit(bad)
    assert exc.value.code == 'invalid_vin'
    assert_worker_message(exc.value.message)


# --------------------------------------------------------------------------
# GS1 dates
# --------------------------------------------------------------------------

@pytest.mark.parametrize('yymmdd, expected', [
    ('201225', datetime.date(2020, 12, 25)),
    ('240200', datetime.date(2024, 2, 29)),    # DD=00: last day, leap year
    ('250200', datetime.date(2025, 2, 28)),
    ('241100', datetime.date(2024, 11, 30)),
    ('240229', datetime.date(2024, 2, 29)),
    ('740101', datetime.date(2074, 1, 1)),     # 50 years ahead: this century
    ('750101', datetime.date(1975, 1, 1)),     # 51 ahead: previous century
    ('000101', datetime.date(2000, 1, 1)),
])
def test_gs1_date(yymmdd, expected):
    assert gs1_date(yymmdd, TODAY) == expected


def test_gs1_date_century_window_crosses_into_next_century():
    late = datetime.date(2095, 6, 1)
    assert gs1_date('100101', late) == datetime.date(2110, 1, 1)   # 85 behind: next century
    assert gs1_date('450101', late) == datetime.date(2145, 1, 1)   # 50 behind: next century
    assert gs1_date('460101', late) == datetime.date(2046, 1, 1)   # 49 behind: this century


def test_gs1_date_defaults_to_today():
    assert gs1_date('300615') == datetime.date(2030, 6, 15)


@pytest.mark.parametrize('bad', ['201301', '200001', '200230', '250229', '201232', '2012', 'ABCDEF', '2012255'])
def test_gs1_date_rejects(bad):
    with pytest.raises(IdentifierError) as exc:
        gs1_date(bad, TODAY)
    assert exc.value.code == 'invalid_date'
    assert_worker_message(exc.value.message)


# --------------------------------------------------------------------------
# GS1 element strings
# --------------------------------------------------------------------------

FULL = {'01': '09506000134352', '17': '201225', '10': 'ABC', '21': 'XYZ'}


def test_parse_hri():
    result = parse_gs1('(01)09506000134352(17)201225(10)ABC(21)XYZ')
    assert result == FULL
    assert list(result) == ['01', '17', '10', '21']


def test_parse_hri_with_spaces_between_elements():
    assert parse_gs1('(01) 09506000134352 (17) 201225 (10) ABC (21) XYZ') == FULL


@pytest.mark.parametrize('prefix', [']d2', ']C1', ']Q3', ']e0', ']J1', ']z1'])
def test_parse_raw_with_symbology_identifier(prefix):
    raw = prefix + '0109506000134352' + '17201225' + '10ABC' + GS + '21XYZ'
    assert parse_gs1(raw) == FULL


def test_parse_raw_variable_field_in_the_middle_and_at_the_end():
    raw = ']d2' + '0109506000134352' + '21SN-42' + GS + '10LOT/7' + GS + '17201200'
    assert parse_gs1(raw) == {'01': '09506000134352', '21': 'SN-42', '10': 'LOT/7', '17': '201200'}


def test_parse_raw_leading_and_trailing_gs_and_gs_after_fixed_fields():
    raw = GS + '0109506000134352' + GS + '17201225' + GS + '10ABC' + GS + '21XYZ' + GS
    assert parse_gs1(raw) == FULL


def test_parse_raw_without_prefix_but_with_gs():
    assert parse_gs1('0109506000134352' + '10ABC' + GS + '21XYZ') == {
        '01': '09506000134352', '10': 'ABC', '21': 'XYZ'}


def test_parse_raw_strips_surrounding_whitespace():
    assert parse_gs1('  ]d2010950600013435221XYZ\r\n') == {'01': '09506000134352', '21': 'XYZ'}


@pytest.mark.parametrize('raw, expected', [
    ('010950600013435221XYZ', {'01': '09506000134352', '21': 'XYZ'}),
    ('01095060001343521720122510ABC', {'01': '09506000134352', '17': '201225', '10': 'ABC'}),
    ('0209506000134352' + '3712', {'02': '09506000134352', '37': '12'}),
    ('00106141411234567897' + '0209506000134352', {'00': '106141411234567897',
                                                   '02': '09506000134352'}),
])
def test_parse_unambiguous_raw_without_prefix(raw, expected):
    assert parse_gs1(raw) == expected


@pytest.mark.parametrize('text', [
    '0123ABC',               # a plain serial starting with "01"
    '4006381333931',         # a bare EAN-13 (would read as AI 400)
    '09506000134352',        # a bare GTIN-14
    '036000291452',
    '490154203237518',       # an IMEI
    '1M8GDM9AXKP042788',     # a VIN
    '10ABC',                 # parses, but names no product (no 00/01/02/03)
    '21XYZ',
    '0109506000134353',      # 16 digits, 01 with a wrong check digit
    '0109506000134352',      # 16 digits, right check digit: still a serial without a marker
    '00106141411234567897',  # 20 digits that happen to be a valid SSCC
    '010950600013435217201301',  # a bad date
    '0109506000134352' + '7777',  # trailing junk
    'SN-12345',
    '[)>\x1e06\x1dP123\x1dS456\x1e\x04',  # ISO 15434, not GS1
    '(ABC)123',
    '(555) 123-4567',        # brackets that name no GS1 AI
    '(2024) batch 7',
    '(7777)ABC',
    ']d2',                   # a GS1 symbology with nothing in it
    ']C1' + '7777ABC',       # ... or nothing GS1 defines
    'https://example.com/products/123',   # a URL, not a GS1 Digital Link
    '',
    '   ',
    None,
])
def test_not_gs1(text):
    assert parse_gs1(text) is None


@pytest.mark.parametrize('text', ['(555) 123-4567', '(2024) batch 7', '(7777)ABC',
                                  'https://example.com/products/123'])
def test_bracketed_and_url_plain_text_stays_plain_text(text):
    it = interpret(text)
    assert (it.kind, it.serial, it.text) == ('text', text, text)


@pytest.mark.parametrize('text, words', [
    ('(01)09506000134353', 'product number (GTIN) on this code has a wrong check digit'),
    (']d20109506000134353', 'wrong check digit'),
    ('(02)09506000134353(37)1', 'wrong check digit'),
    ('(00)106141411234567890', 'shipping container code (SSCC) on this code has a wrong check'),
    ('(414)0614141000013', 'wrong check digit'),             # a GLN, checked by biip
    ('(402)12345678901234567', 'wrong check digit'),         # a GSIN, checked by us
    ('(8018)123456789012345678', 'wrong check digit'),       # a GSRN
    ('(01)0950600013435', 'wrong length'),                   # too short
    ('(01)095060001343521', 'wrong length'),                 # too long
    (']d2010950600013435', 'wrong length'),                  # raw, too short
    ('(17)201300', 'expiry date on this code is not a real date'),   # month 13
    ('(17)200230', 'not a real date'),                       # 30 February
    ('(11)2012AB', 'production date on this code is not a real date'),
    ('(10)' + 'A' * 21, 'batch/lot number on this code has the wrong length'),
    (']d210' + 'A' * 21, 'batch/lot number on this code is too long'),
    (']C121' + 'B' * 21 + GS + '0109506000134352', 'serial number on this code is too long'),
    ('(30)123456789', 'wrong length'),
    ('(30)12A', 'digits only'),
    ('(8040)49015420323751', 'IMEI on this code has the wrong length'),
    ('(21)', 'serial number on this code is empty'),
    ('(21)AB#C', 'contains the character "#"'),              # '#' is not in GS1 charset 82
    ('(21)AB CD', 'contains a space'),                       # nor is a space
    ('(01)09506000134352(21)A(21)B', 'two different values for the serial number'),
    ('0109506000134352' + GS + '17201301', 'not a real date'),   # GS and a known first AI
    ('https://id.gs1.org/01/09506000134353', 'wrong check digit'),
    (']E04006381333931|]e0' + '17201301', 'expiry date on this code is not a real date'),
])
def test_explicit_malformed_gs1_raises_in_plain_words(text, words):
    with pytest.raises(IdentifierError) as exc:
        parse_gs1(text) if '|' not in text else interpret(text)
    assert exc.value.code == 'invalid_gs1'
    assert words in exc.value.message
    assert str(exc.value) == exc.value.message
    assert_worker_message(exc.value.message)


def test_same_ai_twice_with_the_same_value_is_tolerated():
    assert parse_gs1('(01)09506000134352(21)A(21)A') == {'01': '09506000134352', '21': 'A'}


@pytest.mark.parametrize('text, expected', [
    (']C10109506000134352' + '3103001250', {'01': '09506000134352', '3103': '001250'}),
    ('(01)09506000134352(3922)499', {'01': '09506000134352', '3922': '499'}),
    ('(8004)0614141ABC123', {'8004': '0614141ABC123'}),
    ('(400)PO-4711(410)0614141000012', {'400': 'PO-4711', '410': '0614141000012'}),
    ('(414)0614141000012(254)5', {'414': '0614141000012', '254': '5'}),
    ('(00)106141411234567897(02)09506000134352(37)24', {
        '00': '106141411234567897', '02': '09506000134352', '37': '24'}),
    ('(01)09506000134352(20)07(240)ADD-1(241)CPN(250)S2(251)REF', {
        '01': '09506000134352', '20': '07', '240': 'ADD-1', '241': 'CPN', '250': 'S2', '251': 'REF'}),
    ('(01)09506000134352(22)CPV(90)x(91)y(99)' + 'z' * 90, {
        '01': '09506000134352', '22': 'CPV', '90': 'x', '91': 'y', '99': 'z' * 90}),
    ('(01)09506000134352(11)200101(12)200102(13)200103(15)200105(16)200106', {
        '01': '09506000134352', '11': '200101', '12': '200102', '13': '200103',
        '15': '200105', '16': '200106'}),
])
def test_more_ais(text, expected):
    assert parse_gs1(text) == expected


# AIs the former hand-kept table did not know (issue 7): phones, SIMs,
# made-to-order GTINs, expiry with time, model numbers, national healthcare.
IMEI = '490154203237518'
ESIM = '89049032000001000000123456789012'


@pytest.mark.parametrize('ai, value', [
    ('8040', IMEI), ('8041', '356938035643809'), ('8042', ESIM), ('8043', '898820000000000001'),
    ('03', '09506000134352'), ('7003', '2701311230'), ('8013', 'GMN-12/AB'),
    ('716', 'AIC012345'), ('717', 'CR-SRN-77'), ('4300', 'ACME%20Ltd'), ('7240', 'PROTO-1'),
])
def test_ais_from_gs1s_current_dictionary(ai, value):
    assert parse_gs1(f'(01)09506000134352({ai}){value}') == {'01': '09506000134352', ai: value}
    raw = ']d2' + '0109506000134352' + ai + value + GS + '21S1'
    assert parse_gs1(raw) == {'01': '09506000134352', ai: value, '21': 'S1'}


def test_phone_code_with_imei_and_no_serial_uses_the_imei_as_serial():
    it = interpret(']d2' + '0109506000134352' + '8040' + IMEI)
    assert (it.kind, it.gtin, it.serial, it.ais['8040']) == ('gs1', '09506000134352', IMEI, IMEI)
    # AI 21 wins when both are there; an IMEI failing Luhn is never a serial.
    assert interpret(']d2' + '0109506000134352' + '8040' + IMEI + GS + '21S1').serial == 'S1'
    assert interpret(']d2' + '0109506000134352' + '8040' + IMEI[:-1] + '9').serial is None


@pytest.mark.parametrize('text, kept, skipped', [
    (']d2' + '0109506000134352' + '7777X', {'01': '09506000134352'}, ('7777X',)),
    (']d2' + '0109506000134352' + '21S1' + GS + '7777X' + GS + '10L1',
     {'01': '09506000134352', '21': 'S1', '10': 'L1'}, ('7777X',)),
    ('(01)09506000134352(7777)X(21)S1', {'01': '09506000134352', '21': 'S1'}, ('(7777)X',)),
    ('(01)09506000134352(3106)001250', {'01': '09506000134352'}, ('(3106)001250',)),
    (GS + '7777X' + GS + '0109506000134352', {'01': '09506000134352'}, ('7777X',)),
])
def test_an_unknown_ai_keeps_what_can_be_read(text, kept, skipped):
    assert parse_gs1(text) == kept
    it = interpret(text)
    assert (it.kind, it.ais, it.skipped) == ('gs1', kept, skipped)
    assert it.as_dict()['skipped'] == list(skipped)


def test_to_hri():
    assert to_hri(FULL) == '(01)09506000134352(17)201225(10)ABC(21)XYZ'
    assert to_hri({}) == ''
    with pytest.raises(IdentifierError) as exc:
        to_hri({'x1': 'A'})
    assert_worker_message(exc.value.message)


# --------------------------------------------------------------------------
# GS1 Digital Link
# --------------------------------------------------------------------------

@pytest.mark.parametrize('uri', [
    'https://id.gs1.org/01/09506000134352/21/ABC',
    'https://id.gs1.org/01/9506000134352/21/ABC',           # GTIN-13 padded to 14
    'http://example.com/01/09506000134352/21/ABC',
    'https://brand.example.org/some/prefix/01/09506000134352/21/ABC?utm_source=box',
    'HTTPS://ID.GS1.ORG/01/09506000134352/21/ABC',           # QR alphanumeric mode
])
def test_digital_link_on_any_host(uri):
    it = interpret(uri)
    assert (it.kind, it.gtin, it.serial, it.text) == ('gs1', '09506000134352', 'ABC', uri)


def test_digital_link_with_qualifiers_and_query_parameters():
    it = interpret('https://id.example.com/01/09506000134352/10/LOT%2F7/21/S%2F1'
                   '?17=270200&3103=001250&linkType=gs1:pip')
    assert (it.gtin, it.lot, it.serial) == ('09506000134352', 'LOT/7', 'S/1')
    assert it.expiry == datetime.date(2027, 2, 28)
    assert it.ais == {'01': '09506000134352', '10': 'LOT/7', '21': 'S/1', '17': '270200',
                      '3103': '001250'}


def test_digital_link_in_a_gs1_qr_code_and_a_plain_qr_code():
    uri = 'https://id.gs1.org/01/09506000134352/21/ABC'
    for framed in (']Q1' + uri, ']Q3' + uri, ']d2' + uri):
        it = interpret(framed)
        assert (it.kind, it.gtin, it.serial, it.text) == ('gs1', '09506000134352', 'ABC', uri)


# --------------------------------------------------------------------------
# EAN/UPC with a composite part
# --------------------------------------------------------------------------

@pytest.mark.parametrize('text, gtin', [
    (']E04006381333931|]e0' + '10LOT1' + GS + '17270200', '04006381333931'),
    (']E0036000291452|]e0' + '10LOT1' + GS + '17270200', '00036000291452'),   # UPC-A
    (']e00109506000134352|]e0' + '10LOT1' + GS + '17270200', '09506000134352'),  # DataBar
    ('4006381333931|]e0' + '10LOT1' + GS + '17270200', '04006381333931'),
])
def test_ean_with_a_composite_part(text, gtin):
    it = interpret(text)
    assert (it.kind, it.gtin, it.lot, it.expiry) == ('gs1', gtin, 'LOT1', datetime.date(2027, 2, 28))
    assert it.ais['01'] == gtin


def test_pipe_in_plain_text_is_no_composite():
    assert interpret('A|B').kind == 'text'
    assert interpret(']C0AB|CD').text == 'AB|CD'


# --------------------------------------------------------------------------
# Serial patterns
# --------------------------------------------------------------------------

@pytest.mark.parametrize('serial, ok', [
    ('ABC', True),
    ('AB C', True),
    ('x', True),
    ('', False),
    (' ABC', False),
    ('ABC ', False),
    ('ABC\n', False),
    ('AB\x1dC', False),
    ('AB\tC', False),
    (None, False),
])
def test_serial_matches_without_pattern(serial, ok):
    assert serial_matches(None, serial) is ok
    assert serial_matches('', serial) is ok


def test_serial_matches_kinds():
    assert serial_matches('imei', '490154203237518')
    assert not serial_matches('imei', '490154203237519')
    assert serial_matches('IMEI', '490154203237518')
    assert serial_matches('vin', '1M8GDM9AXKP042788')
    assert not serial_matches('vin', '1m8gdm9axkp042788')
    assert not serial_matches('vin', '1M8GDM9A1KP042788')


@pytest.mark.parametrize('serial, ok', [
    ('ABC-123', True),
    ('a/b.c_d', True),
    ('A' * 20, True),
    ('A' * 21, False),
    ('AB#', False),
    ('AB C', False),
    ('', False),
    ('ÄBC', False),
])
def test_serial_matches_gs1(serial, ok):
    assert serial_matches('gs1', serial) is ok


@pytest.mark.parametrize('pattern, serial, ok', [
    ('OWN-{seq:06}', 'OWN-000007', True),
    ('OWN-{seq:06}', 'OWN-1234567', True),
    ('OWN-{seq:06}', 'OWN-00007', False),
    ('OWN-{seq:06}', 'OWN-ABCDEF', False),
    ('OWN-{seq:06}', 'own-000007', False),
    ('OWN-{seq:06}', 'XOWN-000007', False),
    ('OWN-{seq:06d}', 'OWN-000007', True),
    ('{seq}', '1', True),
    ('{seq}', '', False),
    ('X{seq}', 'X', False),
    ('X{seq}Y', 'X12Y', True),
    ('A.{seq:03}', 'AB007', False),    # the "." is literal, not a regex dot
    ('OWN-{seq:06}', 'OWN-٠٠٠٠٠٧', False),
])
def test_serial_matches_template(pattern, serial, ok):
    assert serial_matches(pattern, serial) is ok


@pytest.mark.parametrize('pattern, serial, ok', [
    (r'[A-Z]{2}\d{4}', 'AB1234', True),
    (r'[A-Z]{2}\d{4}', 'AB12345', False),   # fullmatch, not search
    (r'[A-Z]{2}\d{4}', 'xAB1234', False),
    (r'[A-Z]{2}\d{4}', 'AB١٢٣٤', False),    # \d means 0-9
    (r'SN\d+', 'SN1', True),
    (r'.*', ' padded', False),              # the floor applies to regexes too
])
def test_serial_matches_regex(pattern, serial, ok):
    assert serial_matches(pattern, serial) is ok


@pytest.mark.parametrize('pattern', [None, '', 'imei', 'vin', 'gs1', 'VIN', 'OWN-{seq:06}', '{seq}',
                                     'A{seq:d}', r'[A-Z]{2}\d{4}', r'\d{15}'])
def test_valid_patterns(pattern):
    assert validate_serial_pattern(pattern) is None


@pytest.mark.parametrize('pattern', [
    'OWN-{seq:x}', 'OWN-{seq:6}', '{seq}{seq}', 'A{seq}-{year}', 'A{seq', '{seq:099}',
    ' OWN-{seq}', 'OWN-{seq} ', '(', '[A-Z', 'a{99999999999}', 42,
])
def test_invalid_patterns(pattern):
    with pytest.raises(IdentifierError) as exc:
        validate_serial_pattern(pattern)
    assert exc.value.code == 'invalid_pattern'
    assert_worker_message(exc.value.message)


@pytest.mark.parametrize('pattern, words', [
    (r'(A)\1', r'Back-references such as \1 are not supported'),
    ('(?P<x>A)(?P=x)', 'Back-references'),
    ('(?=A)[A-Z]+', 'Look-ahead and look-behind such as (?= are not supported'),
    ('(?<!X)A', 'Look-ahead and look-behind'),
    (r'A\Z', r'Serial patterns do not support \Z.'),
    ('(AB', 'bracket "(" in the pattern is never closed'),
    ('AB)', 'no opening'),
    ('[A-Z', 'bracket "[" in the pattern is never closed'),
    ('A{1001}', 'above 1000'),
    ('a{99999999999}', 'above 1000'),
    ('*A', 'nothing it can repeat'),
    ('A**', 'nothing it can repeat'),
    ('AB\\', 'lone backslash'),
    ('[Z-A]', 'range'),
])
def test_patterns_re2_cannot_run_are_refused_in_plain_words(pattern, words):
    with pytest.raises(IdentifierError) as exc:
        validate_serial_pattern(pattern)
    assert exc.value.code == 'invalid_pattern'
    assert words in exc.value.message
    assert_worker_message(exc.value.message)


def test_a_catastrophic_pattern_runs_in_linear_time():
    # Issue 8: with Python's backtracking `re`, 26 characters took 9 s and
    # 30 pinned a worker. RE2 answers in microseconds, whatever the length.
    pattern = '(a+)+$'
    validate_serial_pattern(pattern)
    start = time.perf_counter()
    assert not serial_matches(pattern, 'a' * 30 + '!')
    assert not serial_matches(pattern, 'a' * 64 + 'b')
    assert serial_matches(pattern, 'a' * 64)
    assert not serial_matches(r'(\w+\s?)*$', 'serial number ' * 4 + '#')
    assert time.perf_counter() - start < 0.5


def test_serial_matches_raises_on_a_broken_pattern():
    with pytest.raises(IdentifierError) as exc:
        serial_matches('[A-Z', 'A')
    assert exc.value.code == 'invalid_pattern'
    with pytest.raises(IdentifierError):
        serial_matches(r'(A)\1', 'AA')     # saved before patterns ran on RE2


def test_mint_serial():
    assert mint_serial('OWN-{seq:06}', 7) == 'OWN-000007'
    assert mint_serial('OWN-{seq:06}', 1234567) == 'OWN-1234567'
    assert mint_serial('OWN-{seq:06d}', 0) == 'OWN-000000'
    assert mint_serial('{seq}-X', 42) == '42-X'


@pytest.mark.parametrize('pattern', [r'[A-Z]+\d+', 'imei', 'OWN-000001', '', None])
def test_mint_serial_needs_a_template(pattern):
    with pytest.raises(IdentifierError) as exc:
        mint_serial(pattern, 1)
    assert exc.value.code == 'invalid_pattern'
    assert_worker_message(exc.value.message)


@pytest.mark.parametrize('seq', [-1, 1.5, '7', True])
def test_mint_serial_rejects_bad_sequence_numbers(seq):
    with pytest.raises(IdentifierError) as exc:
        mint_serial('OWN-{seq:06}', seq)
    assert_worker_message(exc.value.message)


def test_is_template():
    assert is_template('OWN-{seq:06}')
    assert is_template('{seq}')
    assert not is_template(r'[A-Z]{2}\d{4}')
    assert not is_template('imei')
    assert not is_template(None)
    assert not is_template('')


# --------------------------------------------------------------------------
# interpret()
# --------------------------------------------------------------------------

def test_interpret_gs1_hri():
    it = interpret('(01)09506000134352(17)201225(10)ABC(21)XYZ')
    assert it == Interpretation(text='(01)09506000134352(17)201225(10)ABC(21)XYZ', kind='gs1',
                                gtin='09506000134352', serial='XYZ', lot='ABC',
                                expiry=datetime.date(2020, 12, 25), ais=FULL)


def test_interpret_gs1_raw_with_symbology_identifier_and_end_of_month_expiry():
    it = interpret(' ]d2' + '0109506000134352' + '17270200' + '10L1' + GS + '21S1\r\n')
    assert it.kind == 'gs1'
    assert it.text == '0109506000134352' + '17270200' + '10L1' + GS + '21S1'
    assert (it.gtin, it.serial, it.lot) == ('09506000134352', 'S1', 'L1')
    assert it.expiry == datetime.date(2027, 2, 28)


def test_interpret_gs1_gtin_from_ai_02():
    it = interpret('(02)09506000134352(37)10')
    assert (it.kind, it.gtin, it.serial) == ('gs1', '09506000134352', None)


def test_interpret_unambiguous_raw_gs1():
    it = interpret('010950600013435221XYZ')
    assert (it.kind, it.gtin, it.serial) == ('gs1', '09506000134352', 'XYZ')


def test_interpret_malformed_explicit_gs1_raises():
    with pytest.raises(IdentifierError) as exc:
        interpret(']d20109506000134353' + '21XYZ')
    assert exc.value.code == 'invalid_gs1'
    assert exc.value.message == 'The product number (GTIN) on this code has a wrong check digit.'
    with pytest.raises(IdentifierError) as exc:
        interpret('(01)09506000134352(17)201399')
    assert exc.value.message == 'The expiry date on this code is not a real date.'


@pytest.mark.parametrize('text, gtin', [
    ('09506000134352', '09506000134352'),
    ('4006381333931', '04006381333931'),
    (']E04006381333931', '04006381333931'),   # EAN-13 symbology identifier stripped
    ('036000291452', '00036000291452'),
    ('0036000291452', '00036000291452'),
    ('96385074', '00000096385074'),           # EAN-8
    ('04252614', '00042100005264'),           # not an EAN-8, but a UPC-E
])
def test_interpret_gtin(text, gtin):
    it = interpret(text)
    assert (it.kind, it.gtin, it.serial) == ('gtin', gtin, None)
    assert it.text == text.removeprefix(']E0')


def test_interpret_eight_digits_valid_as_ean8_and_upce_uses_the_barcode_format():
    text = '00001267'
    assert is_valid_gtin(text) and expand_upce(text) == '000012000067'
    assert interpret(text).gtin == '00000000001267'
    assert interpret(text, barcode_format='UPCE').gtin == '00000012000067'
    assert interpret(text, barcode_format='BarcodeFormat.UPCE').gtin == '00000012000067'
    assert interpret(text, barcode_format='EAN-8').gtin == '00000000001267'


def test_interpret_imei():
    it = interpret('490154203237518')
    assert (it.kind, it.serial, it.gtin) == ('imei', '490154203237518', None)
    assert interpret('490154203237519').kind == 'text'


def test_interpret_vin():
    it = interpret('1M8GDM9AXKP042788\n')
    assert (it.kind, it.serial, it.text) == ('vin', '1M8GDM9AXKP042788', '1M8GDM9AXKP042788')
    assert interpret('1m8gdm9axkp042788').kind == 'text'


@pytest.mark.parametrize('text, stripped', [
    ('  SN-12345 \r\n', 'SN-12345'),
    ('09506000134353', '09506000134353'),     # GTIN-14 length, wrong check digit
    ('0123ABC', '0123ABC'),
    (']C0ABC-1', 'ABC-1'),                    # plain Code 128 identifier stripped
    ('[)>\x1e06\x1dP123', '[)>\x1e06\x1dP123'),
])
def test_interpret_text(text, stripped):
    it = interpret(text)
    assert (it.kind, it.serial, it.text, it.gtin) == ('text', stripped, stripped, None)


def test_interpret_empty_text():
    it = interpret('  \r\n')
    assert (it.kind, it.text, it.serial) == ('text', '', None)
    assert it.as_dict() == {'kind': 'text'}


def test_interpret_rejects_non_str():
    with pytest.raises(TypeError):
        interpret(None)


def test_as_dict_is_json_friendly_and_sparse():
    d = interpret('(01)09506000134352(17)201200(21)XYZ').as_dict()
    assert d == {'kind': 'gs1', 'text': '(01)09506000134352(17)201200(21)XYZ',
                 'gtin': '09506000134352', 'serial': 'XYZ', 'expiry': '2020-12-31',
                 'ais': {'01': '09506000134352', '17': '201200', '21': 'XYZ'}}
    assert json.loads(json.dumps(d)) == d
    assert interpret('4006381333931').as_dict() == {
        'kind': 'gtin', 'text': '4006381333931', 'gtin': '04006381333931'}


def test_interpretation_is_immutable_and_hashable():
    it = interpret('490154203237518')
    with pytest.raises(AttributeError):
        it.kind = 'text'
    assert hash(it) == hash(interpret('490154203237518'))


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------

digits = st.text(alphabet='0123456789', min_size=1)


def _change_one_digit(text, data):
    i = data.draw(st.integers(0, len(text) - 1), label='position')
    new = data.draw(st.sampled_from([d for d in '0123456789' if d != text[i]]), label='digit')
    return text[:i] + new + text[i + 1:]


@given(length=st.sampled_from([7, 11, 12, 13]), data=st.data())
def test_any_gtin_body_with_its_check_digit_is_valid(length, data):
    body = data.draw(st.text(alphabet='0123456789', min_size=length, max_size=length))
    gtin = body + gtin_check_digit(body)
    assert is_valid_gtin(gtin)
    normal = normalize_gtin(gtin)
    assert len(normal) == 14 and normal.lstrip('0') == gtin.lstrip('0')
    assert normalize_gtin(normal) == normal
    # GS1 mod 10 catches every single-digit error.
    assert not is_valid_gtin(_change_one_digit(gtin, data))


@given(body=st.text(alphabet='0123456789', min_size=14, max_size=14), data=st.data())
def test_any_imei_body_with_luhn_is_valid_and_one_digit_off_is_not(body, data):
    imei = body + luhn_check_digit(body)
    assert is_valid_imei(imei)
    assert interpret(imei).kind == 'imei'
    assert not is_valid_imei(_change_one_digit(imei, data))


vin_chars = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'


@given(head=st.text(alphabet=vin_chars, min_size=8, max_size=8),
       tail=st.text(alphabet=vin_chars, min_size=8, max_size=8),
       wrong=st.sampled_from('0123456789X'))
def test_any_vin_body_with_its_check_digit_is_valid(head, tail, wrong):
    check = vin_check_digit(head + '0' + tail)
    vin = head + check + tail
    assert is_valid_vin(vin)
    assert serial_matches('vin', vin)
    if wrong != check:
        assert not is_valid_vin(head + wrong + tail)


CSET82 = ('!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
          'abcdefghijklmnopqrstuvwxyz')
DIGITS = '0123456789'
HRI_AI = re.compile(r'\(\d{2,4}\)')
# GS1 General Specifications 7.8.5: AIs starting with these two digits have
# predefined lengths and need no FNC1 after them; every other AI does.
PREDEFINED_LENGTH = {'00', '01', '02', '03', '04', *map(str, range(11, 21)),
                     '31', '32', '33', '34', '35', '36', '41'}


def _date_value():
    return st.dates(datetime.date(2000, 1, 1), datetime.date(2049, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.strftime('%y%m%d'), d.strftime('%y%m00')]))


def _with_check(length):
    return st.text(alphabet=DIGITS, min_size=length - 1, max_size=length - 1).map(
        lambda b: b + gtin_check_digit(b))


def _fixed(alphabet, length):
    return st.text(alphabet=alphabet, min_size=length, max_size=length)


def _upto(alphabet, length):
    return st.text(alphabet=alphabet, min_size=1, max_size=length)


# Values for a sample of AIs, old and new, made by our own rules of thumb.
VALUES = {
    '00': _with_check(18), '01': _with_check(14), '02': _with_check(14), '03': _with_check(14),
    '414': _with_check(13), '402': _with_check(17),
    '10': _upto(CSET82, 20), '21': _upto(CSET82, 20), '22': _upto(CSET82, 20),
    '240': _upto(CSET82, 30), '90': _upto(CSET82, 30), '8013': _upto(CSET82, 25),
    '716': _upto(CSET82, 20), '717': _upto(CSET82, 20), '8004': _upto(CSET82, 30),
    '11': _date_value(), '17': _date_value(),
    '7003': _date_value().map(lambda d: (d[:4] + '28' if d.endswith('00') else d) + '2359'),
    '20': _fixed(DIGITS, 2), '3103': _fixed(DIGITS, 6), '30': _upto(DIGITS, 8),
    '37': _upto(DIGITS, 8), '8040': _fixed(DIGITS, 14).map(lambda b: b + luhn_check_digit(b)),
    '8042': _fixed(DIGITS, 32),
}
ALL_AIS = sorted(VALUES)
GTIN_AIS = ('00', '01', '02', '03')


@st.composite
def ai_dicts(draw, without_hri_ambiguity=False):
    chosen = draw(st.lists(st.sampled_from(ALL_AIS), min_size=1, max_size=6, unique=True))
    out = {}
    for ai in chosen:
        values = VALUES[ai]
        if without_hri_ambiguity:
            # "(12)" inside a value cannot be told from an AI in HRI text.
            values = values.filter(lambda v: not HRI_AI.search(v))
        out[ai] = draw(values)
    return out


@settings(max_examples=150)
@given(ais=ai_dicts(without_hri_ambiguity=True))
def test_hri_round_trip(ais):
    assert parse_gs1(to_hri(ais)) == ais
    assert list(parse_gs1(to_hri(ais))) == list(ais)


@st.composite
def raw_element_strings(draw):
    ais = draw(ai_dicts())
    prefix = draw(st.sampled_from(['', GS, ']d2', ']C1', ']Q3', ']e0', ']J1', ']z1']))
    if prefix == '':
        # Without any marker only an element string naming goods, and saying
        # more than that, is GS1.
        if not any(ai in ais for ai in GTIN_AIS):
            ai = draw(st.sampled_from(GTIN_AIS))
            ais = {ai: draw(VALUES[ai]), **ais}
        if len(ais) == 1:
            ais = {**ais, '21': draw(VALUES['21'])}
    parts = []
    for i, (ai, value) in enumerate(ais.items()):
        parts.append(ai + value)
        last = i == len(ais) - 1
        if ai[:2] not in PREDEFINED_LENGTH and not last:
            parts.append(GS)                         # FNC1 ends the field
        elif draw(st.booleans()):
            parts.append(GS)                         # tolerated after predefined ones
    return ais, prefix + ''.join(parts)


@settings(max_examples=150)
@given(case=raw_element_strings())
def test_raw_round_trip(case):
    ais, raw = case
    assert parse_gs1(raw) == ais
    assert interpret(raw).ais == ais


@given(gtin=_with_check(14))
def test_sixteen_digits_starting_01_without_a_marker_are_a_serial(gtin):
    # Issue 7: one such serial in ten has a "valid" check digit; a typed or
    # wedge-scanned 16-digit number is still a serial.
    text = '01' + gtin
    it = interpret(text)
    assert (it.kind, it.serial, it.gtin) == ('text', text, None)
    # The same data announced by a scanner is GS1.
    for marked in (']d2' + text, ']C1' + text, GS + text, f'(01){gtin}'):
        assert interpret(marked).gtin == gtin


@given(body=st.text(alphabet=DIGITS, min_size=13, max_size=13),
       wrong=st.sampled_from(DIGITS))
def test_sixteen_digits_starting_01_with_a_wrong_check_digit_are_a_serial(body, wrong):
    if gtin_check_digit(body) == wrong:
        wrong = str((int(wrong) + 1) % 10)
    text = '01' + body + wrong
    it = interpret(text)
    assert (it.kind, it.serial) == ('text', text)


@given(gtin=_with_check(14), serial=_upto(CSET82, 20), lot=_upto(CSET82, 20),
       expiry=_date_value(), host=st.sampled_from(['id.gs1.org', 'example.com', 'qr.b-rand.eu']),
       prefix=st.sampled_from(['', '/dl', '/a/b']))
def test_digital_link_round_trip(gtin, serial, lot, expiry, host, prefix):
    uri = (f'https://{host}{prefix}/01/{gtin}/10/{quote(lot, safe="")}/21/{quote(serial, safe="")}'
           f'?17={expiry}&src=box')
    it = interpret(uri)
    assert (it.kind, it.gtin, it.lot, it.serial) == ('gs1', gtin, lot, serial)
    assert it.expiry == gs1_date(expiry)


@given(prefix=st.text(alphabet='ABCXYZ0123456789-/_.', max_size=6),
       suffix=st.text(alphabet='ABCXYZ0123456789-/_.', max_size=4),
       width=st.integers(0, 12),
       seq=st.integers(0, 10 ** 15))
def test_minted_serials_match_their_pattern(prefix, suffix, width, seq):
    field_ = '{seq}' if width == 0 else f'{{seq:0{width}}}'
    pattern = prefix + field_ + suffix
    validate_serial_pattern(pattern)
    serial = mint_serial(pattern, seq)
    assert serial_matches(pattern, serial)
    assert serial.startswith(prefix) and serial.endswith(suffix)
    number = serial[len(prefix):len(serial) - len(suffix)]
    assert int(number) == seq and len(number) >= max(width, 1)
    assert re.fullmatch('[0-9]+', number)
