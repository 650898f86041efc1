"""A supplier's list of the serials it shipped: a CSV, an EPCIS 1.2 XML document, or an
EPCIS 2.0 document (JSON-LD or XML), read into one plain form.

Pure: no Flask, no database. `read(data)` gives a `Document`: every serialised unit shipped
(GTIN-14 + serial, or SKU + serial from a CSV), its lot and expiry, the innermost case
(SSCC) holding it, the cases themselves, and the transaction information the document
carries (when, from whom, to whom, the business transactions, the transaction statement).
Anything it cannot read is a `DocumentError` with an HTTP status and one sentence.

EPCIS (GS1 EPCIS 1.2 / 2.0 and the CBV): the events are in EPCISBody/EventList
(epcisBody.eventList in JSON-LD).

- Shipping ObjectEvents (bizStep `shipping`, action OBSERVE or ADD) say what left: their
  epcList holds SGTINs (`urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial`, or a GS1
  Digital Link `https://id.gs1.org/01/<gtin>/21/<serial>`) and SSCCs (`urn:epc:id:sscc:...`,
  `.../00/<sscc>`).
- AggregationEvents (action ADD or OBSERVE; DELETE unpacks) say what is inside what: a
  case's parentID (an SSCC) and its childEPCs. A shipped case ships what it holds, at any
  depth (a pallet of cases of packs); the units are the SGTINs that hold nothing.
- Lot and expiry come from the ILMD (`cbvmda:lotNumber`, `cbvmda:itemExpirationDate`) of
  the event that commissioned the unit, or else of the shipping event itself.

XML is parsed by defusedxml with no DTD allowed at all: an EPCIS document never needs one,
and a DTD is how entity expansion (a billion laughs) and external entities get in."""
import datetime
import functools
import json
import re
import xml.etree.ElementTree as _StdET
from dataclasses import dataclass, field
from urllib.parse import unquote

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from . import csvfiles
from .checkdigits import IdentifierError, gtin_check_digit, gs1_date, is_valid_gtin, \
    normalize_gtin

# The largest document taken, checked before anything is parsed. 16 MiB is an EPCIS
# document of about 60,000 serials; a supplier sends a bigger shipment as several.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_UNITS = 100_000
MAX_LOT = 40           # serials.lot is VARCHAR(40)
MAX_GS1_SERIAL = 20    # AI 21 / the SGTIN serial: up to 20 characters
_MAX_DEPTH = 20        # cases inside cases

EPCIS_XML_NAMESPACES = {"urn:epcglobal:epcis:xsd:1": "1.2", "urn:epcglobal:epcis:xsd:2": "2.0"}
CBV_MDA = "urn:epcglobal:cbv:mda"

# GS1 AI encodable character set 82: what an SGTIN serial may hold.
_CSET82 = frozenset('!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_'
                    'abcdefghijklmnopqrstuvwxyz')


class DocumentError(ValueError):
    """The document cannot be taken: `status` (400, 413, 415, 422), a stable `code`, and
    one sentence saying what is wrong and what to do."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> DocumentError:
    return DocumentError(422, "invalid_document", message)


@dataclass(frozen=True)
class Unit:
    """One serialised unit the supplier says it shipped."""
    serial: str
    gtin: str | None = None            # GTIN-14
    sku: str | None = None             # a CSV may name the product by SKU
    lot: str | None = None
    expiry: datetime.date | None = None
    case: str | None = None            # the innermost case (SSCC, 18 digits) holding it
    where: str = ""                    # "line 4", "EPC urn:epc:id:sgtin:..." for messages


@dataclass(frozen=True)
class Case:
    sscc: str
    parent: str | None = None          # the case (a pallet) holding this one


@dataclass
class Document:
    format: str                        # csv, epcis-1.2-xml, epcis-2.0-xml, epcis-2.0-jsonld
    media_type: str
    units: list[Unit] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    shipped_at: datetime.datetime | None = None  # naive UTC
    seller: dict | None = None         # {"id", "name", ...} from the document
    buyer: dict | None = None
    transactions: list[dict] = field(default_factory=list)  # [{"type", "id"}]
    statement: str | None = None       # the transaction statement, as the document says it
    warnings: list[str] = field(default_factory=list)

    def info(self) -> dict:
        """The transaction information the document carries, JSON-able."""
        return {"shipped_at": self.shipped_at.isoformat() + "Z" if self.shipped_at else None,
                "seller": self.seller, "buyer": self.buyer,
                "transactions": self.transactions, "statement": self.statement}


# ------------------------------------------------------------------ identifiers

def _sgtin_urn(uri: str) -> tuple[str, str]:
    """urn:epc:id:sgtin:0614141.112345.400 -> (GTIN-14 with its check digit, serial)."""
    parts = uri[len("urn:epc:id:sgtin:"):].split(".", 2)
    if len(parts) != 3:
        raise _invalid(f"The EPC {uri} is not an SGTIN: it should read "
                       f"urn:epc:id:sgtin:CompanyPrefix.ItemReference.Serial.")
    prefix, item, serial = parts
    if not (prefix.isascii() and prefix.isdigit() and item.isascii() and item.isdigit()
            and 6 <= len(prefix) <= 12 and len(prefix) + len(item) == 13):
        raise _invalid(f"The EPC {uri} is not an SGTIN: its company prefix and item "
                       f"reference must be 13 digits together.")
    return _gtin14(item[0] + prefix + item[1:]), _epc_serial(serial, uri)


@functools.lru_cache(maxsize=4096)
def _gtin14(body: str) -> str:
    return body + gtin_check_digit(body)


def _epc_serial(escaped: str, uri: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", escaped):
        raise _invalid(f"The serial in {uri} has a broken %-escape.")
    return _gs1_serial(unquote(escaped), uri)


def _gs1_serial(serial: str, uri: str) -> str:
    if not serial or len(serial) > MAX_GS1_SERIAL or not set(serial) <= _CSET82:
        raise _invalid(f"The serial in {uri} is not a GS1 serial (1 to {MAX_GS1_SERIAL} "
                       f"letters, digits and the GS1 punctuation).")
    return serial


def _sscc_urn(uri: str) -> str:
    """urn:epc:id:sscc:0614141.1234567890 -> the 18-digit SSCC with its check digit."""
    parts = uri[len("urn:epc:id:sscc:"):].split(".")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts) or \
            not 6 <= len(parts[0]) <= 12 or len(parts[0]) + len(parts[1]) != 17:
        raise _invalid(f"The EPC {uri} is not an SSCC: it should read "
                       f"urn:epc:id:sscc:CompanyPrefix.SerialReference, 17 digits in all.")
    prefix, ref = parts
    return _gtin14(ref[0] + prefix + ref[1:])


def _digital_link(uri: str) -> dict | None:
    """The GS1 keys of a Digital Link URI ({"01": gtin, "21": serial} or {"00": sscc})."""
    from biip import ParseError
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except (ParseError, ValueError):
        return None
    ais = {}
    for element in link.element_strings:
        if element.gtin_error or element.sscc_error:
            raise _invalid(f"The product or case number in {uri} has a wrong check digit.")
        ais[element.ai.ai] = element.value
    return ais


def identify(epc: str) -> tuple[str, str, str | None]:
    """What an EPC names: ("sgtin", GTIN-14, serial), ("sscc", SSCC, None), or
    ("other", epc, None) for anything else (a returnable asset, a location...)."""
    epc = epc.strip()
    low = epc.lower()
    if low.startswith("urn:epc:id:sgtin:"):
        return ("sgtin", *_sgtin_urn(epc))
    if low.startswith("urn:epc:id:sscc:"):
        return "sscc", _sscc_urn(epc), None
    if low.startswith(("http://", "https://")):
        ais = _digital_link(epc)
        if ais and "00" in ais:
            return "sscc", ais["00"], None
        if ais and "01" in ais and "21" in ais:
            return "sgtin", normalize_gtin(ais["01"]), _gs1_serial(ais["21"], epc)
    return "other", epc, None


# ------------------------------------------------------------------ reading

def read(data: bytes, filename: str = "") -> Document:
    """The document in `data`: EPCIS XML, EPCIS JSON-LD, or a CSV, told apart by content."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large()
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return read_xml(data)
    if head.startswith((b"{", b"[")):
        return read_json(data)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:1024]:
        raise DocumentError(415, "unsupported_document",
                            "The file is not text: send a CSV, an EPCIS XML document or an "
                            "EPCIS JSON-LD document.")
    return read_csv(data)


def too_large() -> DocumentError:
    return DocumentError(413, "document_too_large",
                         f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} "
                         f"MB, the most taken at once: ask the supplier for one document per "
                         f"shipment, or split it.")


@dataclass
class _Event:
    kind: str                           # ObjectEvent, AggregationEvent, ...
    action: str = ""
    biz_step: str = ""
    epcs: list[str] = field(default_factory=list)
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    lot: str | None = None
    expiry: str | None = None
    time: str | None = None
    sources: list[tuple[str, str]] = field(default_factory=list)
    destinations: list[tuple[str, str]] = field(default_factory=list)
    transactions: list[tuple[str, str]] = field(default_factory=list)
    statement: str | None = None


def _tail(value: str | None) -> str:
    """The CBV word in any of its spellings: urn:epcglobal:cbv:bizstep:shipping,
    https://ref.gs1.org/cbv/BizStep-shipping and shipping are all `shipping`."""
    word = (value or "").strip().rsplit(":", 1)[-1].rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return word.split("-", 1)[1] if "-" in word and word.split("-", 1)[0][:1].isupper() \
        else word


@functools.lru_cache(maxsize=1024)
def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _local(tag) -> str:
    return _local_name(tag) if isinstance(tag, str) else ""


# ---------------------------------------------------------------- XML

class _RootReached(Exception):
    """The prolog is over: the root element starts."""


class _PrologOnly:
    """A parser target that stops at the root element's start tag."""

    def start(self, tag, attrs):
        raise _RootReached()

    def close(self):
        return None


def _guard_prolog(data: bytes) -> None:
    """defusedxml reads the document's prolog, refusing any DTD (and so any entity
    declaration, internal or external), up to the root element's start tag. A DTD can
    only come before the root element, so past this point the document has none, and the
    standard library's C parser builds the tree (several times quicker than defusedxml's
    pure-Python tree builder over a 10,000-serial document)."""
    parser = SafeET.XMLParser(target=_PrologOnly(), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        for start in range(0, len(data), 65536):
            parser.feed(data[start:start + 65536])
        parser.close()
    except _RootReached:
        return


def read_xml(data: bytes) -> Document:
    try:
        _guard_prolog(data)
        root = _StdET.fromstring(data)
    except DefusedXmlException:
        raise DocumentError(400, "unsafe_document",
                            "The document declares a DTD or entities (<!DOCTYPE ...>), which "
                            "an EPCIS document never needs and which can hide an attack "
                            "(entity expansion), so it is refused.") from None
    except (SafeET.ParseError, _StdET.ParseError) as exc:
        raise DocumentError(400, "malformed_document",
                            f"The document is not well-formed XML ({exc}).") from None
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    if _local(tag) != "EPCISDocument" or namespace not in EPCIS_XML_NAMESPACES:
        found = f"{_local(tag)} in namespace {namespace}" if namespace else \
            f"{_local(tag)} in no namespace"
        raise DocumentError(422, "not_epcis",
                            f"This XML is not an EPCIS document: its root is {found}, where "
                            f"EPCIS has EPCISDocument in namespace urn:epcglobal:epcis:xsd:1 "
                            f"(EPCIS 1.2) or urn:epcglobal:epcis:xsd:2 (EPCIS 2.0).")
    version = EPCIS_XML_NAMESPACES[namespace]
    body = _child(root, "EPCISBody")
    events_list = _child(body, "EventList") if body is not None else None
    if events_list is None:
        raise _invalid("The EPCIS document has no EPCISBody/EventList, so it lists no events.")
    events = []
    for element in events_list:
        if _local(element.tag) == "extension":   # EPCIS 1.x puts newer event types here
            events.extend(_xml_event(e) for e in element)
        else:
            events.append(_xml_event(element))
    doc = Document(format=f"epcis-{version}-xml", media_type="application/xml")
    _build(doc, events)
    header = _child(root, "EPCISHeader")
    doc.statement = doc.statement or (_xml_statement(header) if header is not None else None)
    _parties_from_master_data(doc, _xml_master_data(header) if header is not None else {})
    return doc


def _child(element, name: str):
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _walk(element):
    """The element's children, with those of its `extension` (EPCIS 1.x) as its own."""
    for child in element:
        if child.tag == "extension" or child.tag.endswith("}extension"):
            yield from _walk(child)
        else:
            yield child


def _xml_event(element) -> _Event:
    # Event fields are unqualified in EPCIS XML (no namespace): their tag is their name.
    # The tree holds elements only (the C parser drops comments and instructions).
    tag = element.tag
    event = _Event(kind=tag.rpartition("}")[2])
    for child in _walk(element):
        name = child.tag
        if name[0] == "{":
            name = name.rpartition("}")[2]
        if name == "epcList":
            event.epcs = [e.text.strip() for e in child if e.text and e.text.strip()]
        elif name == "action":
            event.action = (_text(child) or "").upper()
        elif name == "bizStep":
            event.biz_step = _tail(_text(child))
        elif name == "eventTime":
            event.time = _text(child)
        elif name == "childEPCs":
            event.children = [e.text.strip() for e in child if e.text and e.text.strip()]
        elif name == "parentID":
            event.parent = _text(child)
        elif name == "ilmd":
            for item in child.iter():
                if _local(item.tag) == "lotNumber":
                    event.lot = _text(item)
                elif _local(item.tag) == "itemExpirationDate":
                    event.expiry = _text(item)
        elif name in ("sourceList", "destinationList"):
            pairs = [(_tail(s.get("type")), _text(s)) for s in child if _text(s)]
            (event.sources if name == "sourceList" else event.destinations).extend(pairs)
        elif name == "bizTransactionList":
            event.transactions.extend((_tail(t.get("type")) or "", _text(t))
                                      for t in child if _text(t))
        elif "Statement" in name:  # GS1 US: gs1ushc:dscsaTransactionStatement
            event.statement = _xml_statement(child)
    return event


def _xml_statement(root) -> str | None:
    """The transaction statement within `root` (the header, or an event's extension)."""
    for element in root.iter():
        name = _local(element.tag)
        if name == "affirmTransactionStatement" and (_text(element) or "").lower() == "true":
            return STATEMENT_AFFIRMED
        if name in ("transactionStatement", "dscsaTransactionStatement") and _text(element):
            return _text(element)
    return None


def _xml_master_data(root) -> dict[str, dict]:
    found = {}
    for element in root.iter():
        if _local(element.tag) == "VocabularyElement" and element.get("id"):
            attrs = {}
            for attribute in element:
                if _local(attribute.tag) == "attribute" and attribute.get("id"):
                    attrs[_tail(attribute.get("id"))] = _text(attribute)
            found[element.get("id").strip()] = attrs
    return found


# ---------------------------------------------------------------- JSON-LD

def read_json(data: bytes) -> Document:
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DocumentError(400, "malformed_document",
                            "The document is not UTF-8 text, as JSON must be.") from None
    except RecursionError:
        raise DocumentError(400, "malformed_document",
                            "The document is nested too deeply to be an EPCIS document.") \
            from None
    except ValueError as exc:
        raise DocumentError(400, "malformed_document",
                            f"The document is not valid JSON ({exc}).") from None
    if not isinstance(body, dict) or "@context" not in body:
        raise DocumentError(422, "not_epcis",
                            "This JSON is not an EPCIS 2.0 JSON-LD document: it has no "
                            "@context naming the EPCIS context.")
    contexts = body["@context"] if isinstance(body["@context"], list) else [body["@context"]]
    if not any(isinstance(c, str) and "epcis" in c.lower() for c in contexts):
        raise DocumentError(422, "not_epcis",
                            "This JSON-LD document's @context does not name the EPCIS 2.0 "
                            "context (https://ref.gs1.org/standards/epcis/epcis-context.jsonld)"
                            ", so it is not EPCIS.")
    if _tail(str(body.get("type") or body.get("@type") or "")) != "EPCISDocument":
        raise DocumentError(422, "not_epcis",
                            "This JSON-LD document's type is not EPCISDocument.")
    epcis_body = body.get("epcisBody")
    event_list = epcis_body.get("eventList") if isinstance(epcis_body, dict) else None
    if not isinstance(event_list, list):
        raise _invalid("The EPCIS document has no epcisBody.eventList, so it lists no events.")
    events = [_json_event(e) for e in event_list if isinstance(e, dict)]
    doc = Document(format="epcis-2.0-jsonld", media_type="application/ld+json")
    _build(doc, events)
    doc.statement = doc.statement or _json_statement(body.get("epcisHeader"))
    _parties_from_master_data(doc, _json_master_data(body))
    return doc


def _strings(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _pairs(value, key: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    return [(_tail(str(item.get("type", ""))), item[key].strip()) for item in value
            if isinstance(item, dict) and isinstance(item.get(key), str) and item[key].strip()]


def _json_event(item: dict) -> _Event:
    def text(name):
        value = item.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None
    event = _Event(kind=_tail(str(item.get("type", ""))), action=(text("action") or "").upper(),
                   biz_step=_tail(text("bizStep")), time=text("eventTime"),
                   epcs=_strings(item.get("epcList")), parent=text("parentID"),
                   children=_strings(item.get("childEPCs")),
                   sources=_pairs(item.get("sourceList"), "source"),
                   destinations=_pairs(item.get("destinationList"), "destination"),
                   transactions=_pairs(item.get("bizTransactionList"), "bizTransaction"))
    if any("Statement" in str(key) for key in item):
        event.statement = _json_statement({k: v for k, v in item.items() if "Statement" in k})
    ilmd = item.get("ilmd")
    if isinstance(ilmd, dict):
        for key, value in ilmd.items():
            name = re.split(r"[:#/]", key)[-1]
            if name == "lotNumber" and isinstance(value, (str, int)):
                event.lot = str(value).strip() or None
            elif name == "itemExpirationDate" and isinstance(value, str):
                event.expiry = value.strip() or None
    return event


def _json_walk(value, depth=0):
    if depth > 64:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _json_walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _json_walk(item, depth + 1)


def _json_statement(body: dict) -> str | None:
    for key, value in _json_walk(body):
        name = re.split(r"[:#/]", str(key))[-1]
        if name == "affirmTransactionStatement" and str(value).lower() == "true":
            return STATEMENT_AFFIRMED
        if name in ("transactionStatement", "dscsaTransactionStatement") and \
                isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _json_master_data(body: dict) -> dict[str, dict]:
    found = {}
    for key, value in _json_walk(body.get("epcisHeader")):
        if key == "vocabularyElementList" and isinstance(value, list):
            for element in value:
                if isinstance(element, dict) and isinstance(element.get("id"), str):
                    attrs = {}
                    for attribute in element.get("attributes") or []:
                        if isinstance(attribute, dict) and isinstance(attribute.get("id"), str):
                            attrs[_tail(attribute["id"])] = attribute.get("attribute")
                    found[element["id"].strip()] = attrs
    return found


# ---------------------------------------------------------------- events -> units

# What a document that affirms the statement (GS1 US: affirmTransactionStatement) affirms:
# the wording of the US Drug Supply Chain Security Act, 21 U.S.C. 360eee(27).
STATEMENT_AFFIRMED = (
    "Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G).")


def _party(pairs: list[tuple[str, str]]) -> dict | None:
    ranked = {"owning_party": 0, "possessing_party": 1, "location": 2}
    best = sorted((ranked.get(kind, 3), kind, value) for kind, value in pairs)
    if not best:
        return None
    _, kind, value = best[0]
    return {"id": value, "type": kind}


def _parties_from_master_data(doc: Document, master: dict[str, dict]) -> None:
    for party in (doc.seller, doc.buyer):
        if party and party["id"] in master:
            attrs = master[party["id"]]
            for key in ("name", "streetAddressOne", "city", "state", "postalCode",
                        "countryCode", "licenseNumber"):
                if attrs.get(key):
                    party[key] = str(attrs[key])[:200]


def _date(value: str | None, where: str) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        raise _invalid(f"The expiry date {value} of {where} is not a date (YYYY-MM-DD).") \
            from None


def _time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"The event time {value} is not a date and time.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def _build(doc: Document, events: list[_Event]) -> None:
    """The shipped units and their cases, from the events in document order."""
    identify = functools.lru_cache(maxsize=None)(globals()["identify"])
    children: dict[str, list[str]] = {}
    parent_of: dict[str, str] = {}
    ilmd: dict[str, tuple[str | None, str | None]] = {}
    for event in events:
        if event.kind == "AggregationEvent" and event.parent:
            if event.action in ("ADD", "OBSERVE"):
                held = children.setdefault(event.parent, [])
                for child in event.children:
                    if child not in parent_of:
                        held.append(child)
                    parent_of[child] = event.parent
            elif event.action == "DELETE":
                gone = set(event.children) or set(children.get(event.parent, []))
                children[event.parent] = [c for c in children.get(event.parent, [])
                                          if c not in gone]
                for child in gone:
                    parent_of.pop(child, None)
        if event.kind == "ObjectEvent" and (event.lot or event.expiry):
            for epc in event.epcs:
                ilmd[epc] = (event.lot, event.expiry)
    shipping = [e for e in events if e.biz_step == "shipping" and e.action in ("OBSERVE", "ADD")
                and e.kind in ("ObjectEvent", "AggregationEvent")]
    if not shipping:
        raise _invalid("The EPCIS document has no shipping event (an ObjectEvent with bizStep "
                       "shipping), so it does not say what was shipped.")
    first = shipping[0]
    doc.shipped_at = _time(first.time)
    doc.seller, doc.buyer = _party(first.sources), _party(first.destinations)
    doc.transactions = [{"type": kind, "id": value} for event in shipping
                        for kind, value in event.transactions]
    doc.statement = next((e.statement for e in shipping if e.statement), None)
    seen: set[str] = set()
    cases: dict[str, Case] = {}

    def case_of(epc: str) -> str | None:
        """The innermost SSCC holding `epc`, recording the chain of cases."""
        parent, depth, inner = parent_of.get(epc), 0, None
        while parent is not None and depth <= _MAX_DEPTH:
            kind, sscc, _ = identify(parent)
            if kind == "sscc":
                if inner is None:
                    inner = sscc
                outer = _outer_sscc(parent, parent_of, identify)
                cases.setdefault(sscc, Case(sscc, outer))
            parent, depth = parent_of.get(parent), depth + 1
        return inner

    def ship(epc: str, lot, expiry, depth=0):
        if epc in seen:
            return
        if depth > _MAX_DEPTH:
            raise _invalid(f"Cases are nested more than {_MAX_DEPTH} deep under {epc}.")
        seen.add(epc)
        kind, key, serial = identify(epc)
        held = children.get(epc)
        if held:
            if kind == "sscc":
                cases.setdefault(key, Case(key, _outer_sscc(epc, parent_of, identify)))
            for child in held:
                ship(child, lot, expiry, depth + 1)
            return
        if kind == "sscc":
            cases.setdefault(key, Case(key, _outer_sscc(epc, parent_of, identify)))
            doc.warnings.append(f"Case {key} is shipped, but the document does not say what "
                                f"it holds.")
            return
        if kind != "sgtin":
            return  # a returnable asset, a location...: not a unit of ours
        own_lot, own_expiry = ilmd.get(epc, (None, None))
        where = f"EPC {epc}"
        the_lot = own_lot or lot
        if the_lot and len(the_lot) > MAX_LOT:
            raise _invalid(f"The lot number of {where} is longer than {MAX_LOT} characters.")
        doc.units.append(Unit(serial=serial, gtin=key, lot=the_lot,
                              expiry=_date(own_expiry or expiry, where),
                              case=case_of(epc), where=where))
        if len(doc.units) > MAX_UNITS:
            raise _invalid(f"The document lists more than {MAX_UNITS} units: send the "
                           f"shipment as several documents.")

    for event in shipping:
        for epc in ([event.parent] if event.kind == "AggregationEvent" and event.parent
                    else []) + event.epcs + (event.children if event.kind == "AggregationEvent"
                                             else []):
            ship(epc, event.lot, event.expiry)
    doc.cases = list(cases.values())
    if not doc.units:
        raise _invalid("The shipping events list no serialised units (SGTIN) and no case "
                       "whose contents the document gives.")


def _outer_sscc(epc: str, parent_of: dict[str, str], identify=identify) -> str | None:
    """The SSCC of the nearest case holding `epc`, if any."""
    parent, depth = parent_of.get(epc), 0
    while parent is not None and depth <= _MAX_DEPTH:
        kind, key, _ = identify(parent)
        if kind == "sscc":
            return key
        parent, depth = parent_of.get(parent), depth + 1
    return None


# ---------------------------------------------------------------- CSV

_PRODUCT_COLUMNS = ("sku_or_gtin", "gtin_or_sku", "product", "gtin", "sku")
_ALIASES = {"serial": ("serial", "serial_number", "sn"), "lot": ("lot", "batch", "lot_number"),
            "expiry": ("expiry", "expiry_date", "expiration", "expiration_date", "exp"),
            "case": ("case", "sscc", "case_sscc")}


def read_csv(data: bytes) -> Document:
    """Columns `sku or gtin, serial, lot, expiry` (and optionally `case`, an SSCC)."""
    try:
        columns, rows = csvfiles.read_rows(data)
    except csvfiles.CsvError as exc:
        raise DocumentError(400, "malformed_document", str(exc)) from None
    product_columns = [c for c in _PRODUCT_COLUMNS if c in columns]
    found = {name: next((c for c in names if c in columns), None)
             for name, names in _ALIASES.items()}
    if not product_columns or not found["serial"]:
        raise DocumentError(422, "invalid_document",
                            "The CSV needs the columns sku or gtin, serial, lot, expiry (lot, "
                            "expiry and case may be empty): its header is "
                            f"{', '.join(columns) or 'empty'}.")
    doc = Document(format="csv", media_type="text/csv")
    for row in rows:
        where = f"line {row['_line']}"
        product = next((row[c] for c in product_columns if row.get(c)), "")
        serial = row.get(found["serial"]) or ""
        if not product or not serial:
            raise _invalid(f"The CSV's {where} has no "
                           f"{'product (SKU or GTIN)' if not product else 'serial'}.")
        gtin = normalize_gtin(product) if product.isascii() and product.isdigit() and \
            is_valid_gtin(product) else None
        if "gtin" in product_columns and not row.get("sku") and product == row.get("gtin") \
                and gtin is None:
            raise _invalid(f"The GTIN {product} on the CSV's {where} is not a GTIN: check "
                           f"its digits.")
        lot = row.get(found["lot"]) if found["lot"] else None
        if lot and len(lot) > MAX_LOT:
            raise _invalid(f"The lot number on the CSV's {where} is longer than {MAX_LOT} "
                           f"characters.")
        expiry_text = row.get(found["expiry"]) if found["expiry"] else None
        case = _csv_case(row.get(found["case"]) if found["case"] else None, where)
        doc.units.append(Unit(serial=serial, gtin=gtin, sku=product, lot=lot or None,
                              expiry=_csv_expiry(expiry_text, where), case=case, where=where))
        if len(doc.units) > MAX_UNITS:
            raise _invalid(f"The CSV lists more than {MAX_UNITS} units: send it as several.")
    if not doc.units:
        raise _invalid("The CSV lists no serials.")
    doc.cases = [Case(sscc) for sscc in dict.fromkeys(u.case for u in doc.units if u.case)]
    return doc


def _csv_expiry(text: str | None, where: str) -> datetime.date | None:
    if not text:
        return None
    if len(text) == 6 and text.isascii() and text.isdigit():
        try:
            return gs1_date(text)  # a GS1 YYMMDD, as printed after (17)
        except IdentifierError:
            pass
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"The expiry {text} on the CSV's {where} is not a date: write it as "
                       f"year-month-day, like 2027-03-31.") from None


def _csv_case(text: str | None, where: str) -> str | None:
    if not text:
        return None
    digits = text[4:] if text.startswith("(00)") else text[2:] if len(text) == 20 and \
        text.startswith("00") else text
    if text.lower().startswith("urn:epc:id:sscc:"):
        return _sscc_urn(text)
    if not (len(digits) == 18 and digits.isascii() and digits.isdigit()
            and gtin_check_digit(digits[:-1]) == digits[-1]):
        raise _invalid(f"The case {text} on the CSV's {where} is not an SSCC (18 digits with "
                       f"their check digit).")
    return digits
