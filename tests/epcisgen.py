"""EPCIS shipping documents made here, from the structure the GS1 standards give them:
EPCIS 1.2 XML (EPCISDocument in urn:epcglobal:epcis:xsd:1, EPCISBody/EventList, events in
no namespace, ILMD and source/destination lists in the event's `extension`) and EPCIS 2.0
JSON-LD (@context, type EPCISDocument, epcisBody.eventList).

A shipment is what a supplier's system would describe: each pack commissioned (ObjectEvent,
action ADD, bizStep commissioning, its lot and expiry in the ILMD as cbvmda:lotNumber and
cbvmda:itemExpirationDate), packed into cases (AggregationEvent, action ADD, parentID the
case's SSCC, childEPCs the packs), and the cases and loose packs shipped (ObjectEvent,
action OBSERVE, bizStep shipping, from the seller's to the buyer's owning party)."""
import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from serialapp.identifiers import gtin_check_digit

NS_1 = "urn:epcglobal:epcis:xsd:1"
CBV_MDA = "urn:epcglobal:cbv:mda"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SELLER = "urn:epc:id:sgln:0614141.00001.0"
BUYER = "urn:epc:id:sgln:0012345.00001.0"


@dataclass
class Pack:
    gtin: str       # GTIN-14
    serial: str
    lot: str | None = None
    expiry: str | None = None   # YYYY-MM-DD


@dataclass
class Shipment:
    packs: list[Pack] = field(default_factory=list)          # shipped loose
    cases: dict[str, list[Pack]] = field(default_factory=dict)  # SSCC -> packs inside
    company_prefix_length: int = 7
    shipped_at: str = "2026-05-04T09:30:00.000Z"
    po: str | None = "PO1"
    affirm_statement: bool = True
    digital_link: bool = False  # EPCs as GS1 Digital Link URIs instead of EPC URNs

    def all_packs(self) -> list[Pack]:
        return self.packs + [p for packs in self.cases.values() for p in packs]

    def sgtin(self, pack: Pack) -> str:
        if self.digital_link:
            return f"https://id.gs1.org/01/{pack.gtin}/21/{pack.serial}"
        n = self.company_prefix_length
        gtin = pack.gtin.zfill(14)
        prefix, item = gtin[1:1 + n], gtin[0] + gtin[1 + n:13]
        serial = "".join(c if c.isalnum() or c in "-_." else f"%{ord(c):02X}"
                         for c in pack.serial)
        return f"urn:epc:id:sgtin:{prefix}.{item}.{serial}"

    def sscc(self, sscc: str) -> str:
        if self.digital_link:
            return f"https://id.gs1.org/00/{sscc}"
        n = self.company_prefix_length
        return f"urn:epc:id:sscc:{sscc[1:1 + n]}.{sscc[0]}{sscc[1 + n:17]}"


def sscc(n: int, prefix: str = "0614141") -> str:
    body = "1" + prefix + f"{n:0{16 - len(prefix)}d}"
    return body + gtin_check_digit(body)


def gtin14(body13: str) -> str:
    return body13 + gtin_check_digit(body13)


# ---------------------------------------------------------------- EPCIS 1.2 XML

def _epcs(tag: str, epcs: list[str]) -> str:
    return f"<{tag}>" + "".join(f"<epc>{escape(e)}</epc>" for e in epcs) + f"</{tag}>"


def _ilmd_xml(pack: Pack) -> str:
    parts = []
    if pack.lot:
        parts.append(f"<cbvmda:lotNumber>{escape(pack.lot)}</cbvmda:lotNumber>")
    if pack.expiry:
        parts.append(f"<cbvmda:itemExpirationDate>{pack.expiry}</cbvmda:itemExpirationDate>")
    return "<ilmd>" + "".join(parts) + "</ilmd>"


def epcis_xml(shipment: Shipment, *, namespace: str = NS_1) -> bytes:
    events = []
    # Commissioning: one event per lot, as a packaging line would record it.
    for pack in shipment.all_packs():
        events.append(
            "<ObjectEvent><eventTime>2026-05-01T08:00:00.000Z</eventTime>"
            "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
            + _epcs("epcList", [shipment.sgtin(pack)]) +
            "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
            "<disposition>urn:epcglobal:cbv:disp:active</disposition>"
            f"<readPoint><id>{SELLER}</id></readPoint>"
            f"<extension>{_ilmd_xml(pack)}</extension></ObjectEvent>")
    for case, packs in shipment.cases.items():
        events.append(
            "<AggregationEvent><eventTime>2026-05-02T08:00:00.000Z</eventTime>"
            "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
            f"<parentID>{escape(shipment.sscc(case))}</parentID>"
            + _epcs("childEPCs", [shipment.sgtin(p) for p in packs]) +
            "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>"
            "</AggregationEvent>")
    shipped = [shipment.sscc(c) for c in shipment.cases] + \
        [shipment.sgtin(p) for p in shipment.packs]
    transactions = (f'<bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">'
                    f'urn:epcglobal:cbv:bt:0012345000010:{escape(shipment.po)}</bizTransaction>'
                    f'</bizTransactionList>') if shipment.po else ""
    statement = ('<gs1ushc:dscsaTransactionStatement><gs1ushc:affirmTransactionStatement>true'
                 '</gs1ushc:affirmTransactionStatement></gs1ushc:dscsaTransactionStatement>'
                 if shipment.affirm_statement else "")
    events.append(
        f"<ObjectEvent><eventTime>{shipment.shipped_at}</eventTime>"
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>" + _epcs("epcList", shipped) +
        "<action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:in_transit</disposition>"
        f"<readPoint><id>{SELLER}</id></readPoint>{transactions}"
        "<extension><sourceList>"
        f'<source type="urn:epcglobal:cbv:sdt:owning_party">{SELLER}</source>'
        "</sourceList><destinationList>"
        f'<destination type="urn:epcglobal:cbv:sdt:owning_party">{BUYER}</destination>'
        f"</destinationList></extension>{statement}</ObjectEvent>")
    header = (
        "<EPCISHeader><extension><EPCISMasterData><VocabularyList>"
        '<Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>'
        f'<VocabularyElement id={quoteattr(SELLER)}>'
        f'<attribute id="{CBV_MDA}#name">Acme Pharma Distribution</attribute>'
        f'<attribute id="{CBV_MDA}#streetAddressOne">1 Supply Road</attribute>'
        f'<attribute id="{CBV_MDA}#city">Springfield</attribute></VocabularyElement>'
        f'<VocabularyElement id={quoteattr(BUYER)}>'
        f'<attribute id="{CBV_MDA}#name">Corner Pharmacy</attribute></VocabularyElement>'
        "</VocabularyElementList></Vocabulary></VocabularyList></EPCISMasterData>"
        "</extension></EPCISHeader>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<epcis:EPCISDocument xmlns:epcis={quoteattr(namespace)} '
        f'xmlns:cbvmda="{CBV_MDA}" xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns" '
        f'schemaVersion="1.2" creationDate="2026-05-04T09:31:00.000Z">'
        f'{header}<EPCISBody><EventList>{"".join(events)}</EventList></EPCISBody>'
        f'</epcis:EPCISDocument>').encode()


# ---------------------------------------------------------------- EPCIS 2.0 JSON-LD

def _ilmd_json(pack: Pack) -> dict:
    ilmd = {}
    if pack.lot:
        ilmd["cbvmda:lotNumber"] = pack.lot
    if pack.expiry:
        ilmd["cbvmda:itemExpirationDate"] = pack.expiry
    return ilmd


def epcis_jsonld_dict(shipment: Shipment) -> dict:
    events = []
    for pack in shipment.all_packs():
        events.append({"type": "ObjectEvent", "eventTime": "2026-05-01T08:00:00.000Z",
                       "eventTimeZoneOffset": "+00:00", "epcList": [shipment.sgtin(pack)],
                       "action": "ADD", "bizStep": "commissioning", "disposition": "active",
                       "readPoint": {"id": SELLER}, "ilmd": _ilmd_json(pack)})
    for case, packs in shipment.cases.items():
        events.append({"type": "AggregationEvent", "eventTime": "2026-05-02T08:00:00.000Z",
                       "eventTimeZoneOffset": "+00:00", "parentID": shipment.sscc(case),
                       "childEPCs": [shipment.sgtin(p) for p in packs], "action": "ADD",
                       "bizStep": "packing"})
    shipping = {
        "type": "ObjectEvent", "eventTime": shipment.shipped_at, "eventTimeZoneOffset": "+00:00",
        "epcList": [shipment.sscc(c) for c in shipment.cases] +
                   [shipment.sgtin(p) for p in shipment.packs],
        "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
        "readPoint": {"id": SELLER},
        "sourceList": [{"type": "owning_party", "source": SELLER}],
        "destinationList": [{"type": "owning_party", "destination": BUYER}]}
    if shipment.po:
        shipping["bizTransactionList"] = [
            {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:0012345000010:{shipment.po}"}]
    if shipment.affirm_statement:
        shipping["gs1ushc:dscsaTransactionStatement"] = {
            "gs1ushc:affirmTransactionStatement": "true"}
    events.append(shipping)
    return {
        "@context": [CONTEXT, {"cbvmda": f"{CBV_MDA}#",
                               "gs1ushc": "http://epcis.gs1us.org/hc/ns"}],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-05-04T09:31:00.000Z",
        "epcisHeader": {"epcisMasterData": {"vocabularyList": [{
            "type": "urn:epcglobal:epcis:vtype:Location",
            "vocabularyElementList": [
                {"id": SELLER, "attributes": [
                    {"id": f"{CBV_MDA}#name", "attribute": "Acme Pharma Distribution"}]},
                {"id": BUYER, "attributes": [
                    {"id": f"{CBV_MDA}#name", "attribute": "Corner Pharmacy"}]}]}]}},
        "epcisBody": {"eventList": events}}


def epcis_jsonld(shipment: Shipment) -> bytes:
    return json.dumps(epcis_jsonld_dict(shipment), indent=1).encode()


def csv_list(shipment: Shipment, product_column: str = "gtin") -> bytes:
    lines = [f"{product_column},serial,lot,expiry,case"]
    for pack in shipment.packs:
        lines.append(f"{pack.gtin},{pack.serial},{pack.lot or ''},{pack.expiry or ''},")
    for case, packs in shipment.cases.items():
        lines += [f"{p.gtin},{p.serial},{p.lot or ''},{p.expiry or ''},{case}" for p in packs]
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------- hostile documents

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"><EPCISBody><EventList>
<ObjectEvent><action>OBSERVE</action><bizStep>&lol9;</bizStep></ObjectEvent>
</EventList></EPCISBody></epcis:EPCISDocument>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"><EPCISBody><EventList>
<ObjectEvent><action>OBSERVE</action><bizStep>&xxe;</bizStep></ObjectEvent>
</EventList></EPCISBody></epcis:EPCISDocument>"""
