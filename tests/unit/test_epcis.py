"""serialapp/epcis.py: documents read into units, cases and transaction information; EPC
identifiers turned into GTIN-14 + serial and 18-digit SSCCs; anything else refused in words."""
import datetime

import pytest

from serialapp import epcis
from serialapp.identifiers import is_valid_gtin
from tests import epcisgen as gen

MED = "09506000134352"


def test_an_sgtin_urn_is_a_gtin_14_with_its_check_digit_and_the_serial():
    # GS1 EPC Tag Data Standard's own example: 0614141.812345.6789 is GTIN 80614141123458.
    assert epcis.identify("urn:epc:id:sgtin:0614141.812345.6789") == \
        ("sgtin", "80614141123458", "6789")
    kind, gtin, serial = epcis.identify("urn:epc:id:sgtin:9506000.013435.AB%2F1")
    assert (kind, gtin, serial) == ("sgtin", MED, "AB/1") and is_valid_gtin(gtin)


def test_an_sscc_urn_is_18_digits_with_its_check_digit():
    # The Tag Data Standard's example: urn:epc:id:sscc:0614141.1234567890 is 106141412345678908.
    assert epcis.identify("urn:epc:id:sscc:0614141.1234567890") == \
        ("sscc", "106141412345678908", None)


def test_digital_links_name_units_and_cases():
    assert epcis.identify(f"https://id.gs1.org/01/{MED}/21/X%2F9") == ("sgtin", MED, "X/9")
    assert epcis.identify("https://example.com/00/106141412345678908") == \
        ("sscc", "106141412345678908", None)
    assert epcis.identify("urn:epc:id:grai:0614141.12345.400")[0] == "other"


@pytest.mark.parametrize("epc", [
    "urn:epc:id:sgtin:0614141.81234.6789",          # 12 digits, not 13
    "urn:epc:id:sgtin:0614141.812345",              # no serial
    "urn:epc:id:sgtin:0614141.812345.",             # empty serial
    "urn:epc:id:sgtin:0614141.812345." + "9" * 21,  # longer than AI 21 allows
    "urn:epc:id:sgtin:0614141.812345.A%zz",         # a broken escape
    "urn:epc:id:sscc:0614141.123456789",            # 16 digits
    f"https://id.gs1.org/01/{MED[:-1]}3/21/X",      # wrong check digit
])
def test_a_broken_epc_is_refused_naming_it(epc):
    with pytest.raises(epcis.DocumentError) as exc:
        epcis.identify(epc)
    assert exc.value.status == 422 and epc[:20] in exc.value.message


def _shipment():
    return gen.Shipment(packs=[gen.Pack(MED, "P1", "L1", "2027-01-31")],
                        cases={gen.sscc(7): [gen.Pack(MED, "C1", "L2", "2027-02-28"),
                                             gen.Pack(MED, "C2", "L2", "2027-02-28")]})


@pytest.mark.parametrize("make,fmt", [(gen.epcis_xml, "epcis-1.2-xml"),
                                      (gen.epcis_jsonld, "epcis-2.0-jsonld")])
def test_both_epcis_forms_read_the_same(make, fmt):
    doc = epcis.read(make(_shipment()))
    assert doc.format == fmt
    units = {(u.gtin, u.serial, u.lot, u.expiry, u.case) for u in doc.units}
    assert units == {(MED, "P1", "L1", datetime.date(2027, 1, 31), None),
                     (MED, "C1", "L2", datetime.date(2027, 2, 28), gen.sscc(7)),
                     (MED, "C2", "L2", datetime.date(2027, 2, 28), gen.sscc(7))}
    assert doc.cases == [epcis.Case(gen.sscc(7))]
    assert doc.shipped_at == datetime.datetime(2026, 5, 4, 9, 30)
    assert doc.seller["name"] == "Acme Pharma Distribution"
    assert doc.buyer["id"] == gen.BUYER
    assert doc.transactions == [{"type": "po", "id": "urn:epcglobal:cbv:bt:0012345000010:PO1"}]
    assert doc.statement == epcis.STATEMENT_AFFIRMED


def test_epcis_2_0_xml_is_read_too():
    doc = epcis.read(gen.epcis_xml(_shipment(), namespace="urn:epcglobal:epcis:xsd:2"))
    assert doc.format == "epcis-2.0-xml" and len(doc.units) == 3


def test_a_pallet_of_cases_ships_every_pack_and_keeps_the_innermost_case():
    pallet, case_a, case_b = gen.sscc(100), gen.sscc(1), gen.sscc(2)
    sgtin = lambda s: f"https://id.gs1.org/01/{MED}/21/{s}"  # noqa: E731
    ssccs = {c: f"https://id.gs1.org/00/{c}" for c in (pallet, case_a, case_b)}
    body = gen.epcis_jsonld_dict(gen.Shipment())
    body["epcisBody"]["eventList"] = [
        {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
         "parentID": ssccs[case_a], "childEPCs": [sgtin("A1"), sgtin("A2")]},
        {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
         "parentID": ssccs[case_b], "childEPCs": [sgtin("B1")]},
        {"type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
         "parentID": ssccs[pallet], "childEPCs": [ssccs[case_a], ssccs[case_b]]},
        # B1 was taken out again before shipping.
        {"type": "AggregationEvent", "action": "DELETE", "bizStep": "unpacking",
         "parentID": ssccs[case_b], "childEPCs": [sgtin("B1")]},
        {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
         "epcList": [ssccs[pallet]], "ilmd": {"cbvmda:lotNumber": "SHIPLOT"}},
    ]
    import json
    doc = epcis.read(json.dumps(body).encode())
    assert [(u.serial, u.case, u.lot) for u in doc.units] == [
        ("A1", case_a, "SHIPLOT"), ("A2", case_a, "SHIPLOT")]
    assert {c.sscc: c.parent for c in doc.cases} == {pallet: None, case_a: pallet,
                                                     case_b: pallet}
    assert any(case_b in w for w in doc.warnings)  # shipped, holding nothing now


@pytest.mark.parametrize("text,code", [
    (b'{"@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", '
     b'"type": "EPCISQueryDocument"}', "not_epcis"),
    (b'{"@context": "https://schema.org", "type": "EPCISDocument"}', "not_epcis"),
    (b'[' * 100_000, "malformed_document"),
    (b"<?xml version='1.0'?><!DOCTYPE x SYSTEM 'http://example.com/x.dtd'><x/>",
     "unsafe_document"),
    (b"sku,serial\nMED,\n", "invalid_document"),
    (b"gtin,serial,expiry\n12345,S1,\n", "invalid_document"),
    (b"gtin,serial,expiry\n" + MED.encode() + b",S1,31/12/2027\n", "invalid_document"),
    (b"gtin,serial,case\n" + MED.encode() + b",S1,123\n", "invalid_document"),
])
def test_what_cannot_be_read_is_said_in_one_sentence(text, code):
    with pytest.raises(epcis.DocumentError) as exc:
        epcis.read(text)
    assert exc.value.code == code
    message = exc.value.message
    assert message[0].isupper() and message.endswith(".") and "Traceback" not in message


def test_a_csv_takes_sku_or_gtin_and_gs1_or_iso_dates():
    doc = epcis.read(b"SKU or GTIN;Serial;Lot;Expiry;Case\n"
                     b"MED;S1;L1;2027-03-31;\n" + MED[1:].encode() + b";S2;;270331;(00)" +
                     gen.sscc(3).encode() + b"\n")
    assert [(u.sku, u.gtin, u.serial, u.lot, u.expiry, u.case) for u in doc.units] == [
        ("MED", None, "S1", "L1", datetime.date(2027, 3, 31), None),
        (MED[1:], MED, "S2", None, datetime.date(2027, 3, 31), gen.sscc(3))]
    assert doc.cases == [epcis.Case(gen.sscc(3))]


def test_size_is_refused_before_parsing():
    with pytest.raises(epcis.DocumentError) as exc:
        epcis.read(b"<" * (epcis.MAX_DOCUMENT_BYTES + 1))
    assert exc.value.status == 413
