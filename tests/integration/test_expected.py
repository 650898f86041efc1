"""Expected serials on a purchase order (issue 10): the supplier's list (CSV, EPCIS 1.2 XML,
EPCIS 2.0 JSON-LD) attached, receiving checked against it, cases received whole, hostile
documents refused with nothing half-imported, and one unit's transaction data found."""
import io

import pytest
from sqlalchemy import func, select

from serialapp import epcis
from serialapp.extensions import db
from serialapp.models import (Event, ExpectedCase, ExpectedSerial, Serial, Shipment,
                              SuspectReceipt)
from tests import epcisgen as gen
from tests.factories import setup_shop

MED = "09506000134352"
CASE_1, CASE_2 = gen.sscc(1), gen.sscc(2)


def shipment(**kw) -> gen.Shipment:
    """Two loose packs of lot L1, and two cases of three packs of lot L2."""
    return gen.Shipment(
        packs=[gen.Pack(MED, f"LOOSE{n}", "L1", "2027-01-31") for n in (1, 2)],
        cases={CASE_1: [gen.Pack(MED, f"C1P{n}", "L2", "2027-02-28") for n in (1, 2, 3)],
               CASE_2: [gen.Pack(MED, f"C2P{n}", "L2", "2027-02-28") for n in (1, 2, 3)]},
        **kw)


FORMATS = {
    "epcis-1.2-xml": lambda s: (gen.epcis_xml(s), "shipment.xml"),
    "epcis-2.0-jsonld": lambda s: (gen.epcis_jsonld(s), "shipment.jsonld"),
    "csv": lambda s: (gen.csv_list(s), "shipment.csv"),
}


@pytest.fixture
def shop(manager):
    setup_shop(manager)
    assert manager.post("/purchase-orders", {"number": "PO-MED", "supplier": "Acme",
                                             "lines": [{"sku": "MED", "qty": 12}]}
                        ).status_code == 201
    return manager


def attach(api, data: bytes, name: str = "shipment.xml", po: str = "PO-MED", key=None):
    headers = dict(api.headers)
    if key:
        headers["Idempotency-Key"] = key
    return api.client.post(f"/api/purchase-orders/{po}/expected",
                           data={"file": (io.BytesIO(data), name)}, headers=headers,
                           content_type="multipart/form-data")


def receive(api, *texts, **fields):
    body = {"location": "A1", "purchase_order": "PO-MED", "serials": list(texts), **fields}
    r = api.post("/receive", body, key=fields.pop("key", None))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def dm(serial: str, lot: str | None = None, expiry: str | None = None) -> str:
    """The pack's GS1 DataMatrix as a scanner sends it (HRI form here, for readability)."""
    return f"(01){MED}(21){serial}" + (f"(10){lot}" if lot else "") + \
        (f"(17){expiry}" if expiry else "")


def counts(app) -> tuple:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Shipment, ExpectedSerial, ExpectedCase, Serial, Event))


def expected_of(api, po="PO-MED") -> dict:
    return api.get(f"/purchase-orders/{po}").get_json()["expected_serials"]


# ------------------------------------------------------------------ the whole flow

@pytest.mark.parametrize("form", sorted(FORMATS))
def test_a_document_attached_then_received_against(app, shop, picker, form):
    data, name = FORMATS[form](shipment())
    r = attach(shop, data, name)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["expected"] == 8 and body["cases"] == 2 and body["shipment"]["format"] == form
    assert body["by_product"] == [{"sku": "MED", "gtin": MED, "listed": 8, "ordered": 12}]

    # A listed serial receives normally, taking the listed lot and expiry.
    out = receive(picker, dm("LOOSE1"))["results"]
    assert out == [{"serial": "LOOSE1", "sku": "MED", "ok": True, "status": "in_stock"}]
    unit = picker.get("/serials/LOOSE1?sku=MED").get_json()
    assert (unit["lot"], unit["expiry"]) == ("L1", "2027-01-31")

    # A serial not on the list lands in quarantine as suspect, with the reason.
    out = receive(picker, dm("STRANGER", "L1", "270131"))["results"][0]
    assert out["ok"] and out["suspect"] and out["status"] == "quarantined"
    assert out["reason"] == ("Not on the supplier list for PO-MED: quarantined as suspect, so "
                             "set it aside for a manager.")
    history = picker.get("/serials/STRANGER?sku=MED").get_json()["history"]
    assert history[0]["to_status"] == "quarantined" and "supplier list" in history[0]["note"]

    # A listed serial of another lot is suspect too.
    out = receive(picker, dm("LOOSE2", "L9"))["results"][0]
    assert out["suspect"] and "Lot L9 is not the lot L1" in out["reason"]
    # Scanned again: still red, still why.
    again = receive(picker, dm("LOOSE2", "L9"))["results"][0]
    assert again["repeat"] and again["suspect"] and again["reason"] == out["reason"]

    # The case's SSCC: first the packs it holds, nothing received.
    before = counts(app)
    answer = receive(picker, f"(00){CASE_1}")
    assert answer["results"] == [] and counts(app) == before
    case = answer["cases"][0]
    assert case["sscc"] == CASE_1 and case["confirm"] and not case["opened"]
    assert [p["serial"] for p in case["packs"]] == ["C1P1", "C1P2", "C1P3"]
    assert expected_of(shop)["cases_opened"] == 0
    # Confirmed: every pack received, the answer lists them all, the case counts as opened.
    answer = receive(picker, f"(00){CASE_1}", open_case=True)
    assert [(r["serial"], r["status"]) for r in answer["results"]] == [
        ("C1P1", "in_stock"), ("C1P2", "in_stock"), ("C1P3", "in_stock")]
    assert answer["cases"][0]["opened"]
    assert picker.get("/serials/C1P2?sku=MED").get_json()["lot"] == "L2"

    x = expected_of(shop)
    assert (x["expected"], x["received"], x["missing"], x["suspect"]) == (8, 4, 3, 2)
    assert x["cases_opened"] == 1
    assert sorted(u["serial"] for u in x["missing_serials"]) == ["C2P1", "C2P2", "C2P3"]
    assert {u["serial"] for u in x["suspect_serials"]} == {"STRANGER", "LOOSE2"}
    order = shop.get("/purchase-orders/PO-MED").get_json()  # the existing fields are kept
    assert order["received"] == 6 and order["expected"] == 12 and order["lines"][0]["qty"] == 12


def test_digital_link_epcs_read_like_urns(shop, picker):
    assert attach(shop, gen.epcis_jsonld(shipment(digital_link=True)), "dl.json").status_code == 201
    assert receive(picker, f"https://id.gs1.org/01/{MED}/21/C2P3")["results"][0]["status"] \
        == "in_stock"
    assert receive(picker, f"(00){CASE_2}", open_case=True)["results"][-1]["repeat"]


def test_a_case_scanned_without_choosing_the_order_finds_it(shop, picker):
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    r = picker.post("/receive", {"location": "A1", "serials": [f"]C100{CASE_2}"]})
    case = r.get_json()["cases"][0]
    assert case["purchase_order"] == "PO-MED" and case["count"] == 3
    r = picker.post("/receive", {"location": "A1", "serials": [f"]C100{CASE_2}"],
                                 "open_case": True})
    assert [x["ok"] for x in r.get_json()["results"]] == [True] * 3
    assert picker.get("/serials/C2P1?sku=MED").get_json()["purchase_order"] == "PO-MED"


def test_an_unknown_case_is_refused_in_red(shop, picker):
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    out = receive(picker, f"(00){gen.sscc(99)}")["results"][0]
    assert not out["ok"] and out["error"]["code"] == "unknown_case"


def test_confirming_a_case_is_idempotent_and_replayed(app, shop, picker):
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    body = {"location": "A1", "purchase_order": "PO-MED", "serials": [f"(00){CASE_1}"],
            "open_case": True}
    first = picker.post("/receive", body, key="case-1")
    again = picker.post("/receive", body, key="case-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    later = picker.post("/receive", body).get_json()["results"]  # a new scan of it
    assert all(r["repeat"] for r in later)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Serial)) == 3


def test_without_a_list_receiving_is_as_before(shop, picker):
    out = receive(picker, dm("ANY1"))["results"][0]
    assert out == {"serial": "ANY1", "sku": "MED", "ok": True, "status": "in_stock"}
    assert expected_of(shop)["listed"] is False


# ------------------------------------------------------------------ refused documents

HOSTILE = {
    "billion laughs": (gen.BILLION_LAUGHS, 400, "unsafe_document"),
    "external entity": (gen.EXTERNAL_ENTITY, 400, "unsafe_document"),
    "wrong namespace": (gen.epcis_xml(shipment(), namespace="urn:epcglobal:epcis:xsd:9"), 422,
                        "not_epcis"),
    "no namespace": (gen.epcis_xml(shipment()).replace(b' xmlns:epcis="urn:epcglobal:epcis:xsd:1"',
                                                       b"").replace(b"epcis:", b""), 422,
                     "not_epcis"),
    "malformed XML": (gen.epcis_xml(shipment())[:-40], 400, "malformed_document"),
    "malformed JSON": (gen.epcis_jsonld(shipment())[:-5], 400, "malformed_document"),
    "JSON without @context": (b'{"type": "EPCISDocument", "epcisBody": {"eventList": []}}',
                              422, "not_epcis"),
    "no shipping event": (gen.epcis_xml(shipment()).replace(b"bizstep:shipping",
                                                            b"bizstep:receiving"), 422,
                          "invalid_document"),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(200), 415, "unsupported_document"),
    "CSV without serials": (b"sku,lot\nMED,L1\n", 422, "invalid_document"),
    "bad SGTIN": (gen.epcis_xml(shipment()).replace(b"sgtin:9506000.013435.C1P1",
                                                    b"sgtin:9506000.13435.C1P1"), 422,
                  "invalid_document"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_malformed_or_hostile_document_is_a_clear_4xx_and_changes_nothing(app, shop, name):
    data, status, code = HOSTILE[name]
    before = counts(app)
    r = attach(shop, data)
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == code and error["message"].endswith("."), error
    assert counts(app) == before


def test_a_100_mb_file_is_refused_before_it_is_read(app, shop):
    before = counts(app)
    r = attach(shop, b"<" + b"x" * (100 * 1024 * 1024))
    assert r.status_code == 413
    assert r.get_json()["error"] == {
        "code": "document_too_large",
        "message": "The document is larger than 16 MB, the most taken at once: ask the "
                   "supplier for one document per shipment, or split it."}
    assert counts(app) == before


def test_a_document_just_over_the_limit_is_refused_too(shop):
    r = attach(shop, b" " * (epcis.MAX_DOCUMENT_BYTES + 1))
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "document_too_large"


def test_an_unknown_gtin_is_named_and_nothing_is_imported(app, shop):
    s = shipment()
    s.cases[CASE_2].append(gen.Pack(gen.gtin14("0950600099999"), "NOPE1", "L2", "2027-02-28"))
    before = counts(app)
    r = attach(shop, gen.epcis_xml(s))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "unknown_gtin" and gen.gtin14("0950600099999") in error["message"]
    assert counts(app) == before


def test_a_product_not_on_the_order_or_a_serial_twice_is_refused(app, manager, shop):
    before = counts(app)
    other = gen.Shipment(packs=[gen.Pack("04006381333931", "353456789012345")])
    r = attach(shop, gen.epcis_xml(other))  # PHONE: a product, not on PO-MED
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "sku_not_on_order"
    twice = b"gtin,serial,lot,expiry\n" + f"{MED},X1,L1,\n{MED},X1,L1,\n".encode()
    r = attach(shop, twice, "twice.csv")
    assert r.status_code == 422 and "line 2 and line 3" in r.get_json()["error"]["message"]
    assert counts(app) == before


def test_the_same_document_or_serial_twice_is_a_409(app, shop):
    data = gen.epcis_xml(shipment())
    assert attach(shop, data).status_code == 201
    before = counts(app)
    assert attach(shop, data).get_json()["error"]["code"] == "already_attached"
    other = gen.epcis_jsonld(shipment())  # the same serials in another document
    r = attach(shop, other)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_expected"
    assert counts(app) == before


def test_only_a_manager_attaches_and_only_to_an_open_order(shop, picker):
    data = gen.epcis_xml(shipment())
    assert attach(picker, data).status_code == 403
    assert shop.post("/purchase-orders/PO-MED/close").status_code == 200
    r = attach(shop, data)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "po_not_open"
    assert attach(shop, data, po="NOPE").status_code == 404


def test_an_attach_sent_twice_with_its_key_is_done_once(app, shop):
    data = gen.epcis_xml(shipment())
    first = attach(shop, data, key="attach-1")
    again = attach(shop, data, key="attach-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1


# ------------------------------------------------------------------ report, transaction data

def test_the_receiving_report_lists_every_unit_with_its_state(shop, picker):
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    receive(picker, dm("LOOSE1"), dm("STRANGER"))
    report = shop.get("/purchase-orders/PO-MED/receiving-report").get_json()
    states = {r["serial"]: r["state"] for r in report["rows"]}
    assert states["LOOSE1"] == "received" and states["C1P1"] == "missing"
    assert states["STRANGER"] == "suspect"
    text = shop.get("/purchase-orders/PO-MED/receiving-report?format=csv").get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == "state,sku,gtin,serial,lot,expiry,case,status,location,received_at,reason"
    assert len(lines) == 1 + 9 and any(line.startswith("suspect,MED,") and "supplier list" in line
                                       for line in lines)


@pytest.mark.parametrize("ask", [
    {"gtin": MED, "serial": "C1P2"},
    {"gtin": MED[1:], "serial": "C1P2"},                       # a GTIN-13 is the same GTIN
    {"q": f"(01){MED}(21)C1P2"},
    {"q": f"https://id.gs1.org/01/{MED}/21/C1P2"},
    {"q": "urn:epc:id:sgtin:9506000.013435.C1P2"},
    {"sku": "MED", "serial": "C1P2"},
])
def test_a_regulator_request_is_answered_from_one_search(shop, picker, ask):
    data = gen.epcis_xml(shipment())
    assert attach(shop, data, "asn-0504.xml").status_code == 201
    receive(picker, f"(00){CASE_1}", open_case=True)
    found = shop.get("/transactions", query_string=ask).get_json()
    assert len(found["matches"]) == 1
    match = found["matches"][0]
    ti = match["transaction_information"]
    assert (ti["product"], ti["gtin"], ti["serial"], ti["lot"], ti["expiry"]) == (
        "Medicine", MED, "C1P2", "L2", "2027-02-28")
    assert ti["quantity"] == 8 and ti["lot_quantity"] == 6
    assert ti["transaction_date"] == "2026-05-04T09:30:00Z"
    assert ti["seller"]["name"] == "Acme"
    assert ti["seller"]["in_document"]["name"] == "Acme Pharma Distribution"
    assert ti["buyer"]["in_document"]["name"] == "Corner Pharmacy"
    assert match["transaction_statement"].startswith("Seller has complied")
    assert match["received"]["status"] == "in_stock"
    document = shop.get(match["shipment"]["document_url"][len("/api"):])
    assert document.status_code == 200 and document.get_data() == data
    assert document.mimetype == "application/xml"


def test_transaction_data_is_for_managers_and_says_what_is_missing(shop, picker):
    assert picker.get(f"/transactions?gtin={MED}&serial=X").status_code == 403
    r = shop.get("/transactions?serial=X")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_field"
    assert shop.get(f"/transactions?gtin={MED}&serial=NOWHERE").get_json()["matches"] == []
    assert shop.get("/transactions?gtin=123&serial=X").status_code == 400
    assert shop.get("/shipments/99/document").status_code == 404


def test_the_suspect_table_keeps_one_row_per_unit(app, shop, picker):
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    receive(picker, dm("STRANGER"), dm("STRANGER"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SuspectReceipt)) == 1


def test_a_case_cut_off_mid_way_is_finished_by_its_retry(app, shop, picker, monkeypatch):
    """A crash after the first pack's step committed: the retry with the same key answers
    that pack as the first attempt did, receives the rest, and opens the case; nothing is
    received twice."""
    import importlib
    receiving = importlib.import_module("serialapp.inventory.receive")
    steps = importlib.import_module("serialapp.inventory.steps")
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    monkeypatch.setattr(steps, "GROUP_STEPS", 1)  # every step its own commit
    real, calls = receiving._receive_one, []

    def crashing(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)
    monkeypatch.setattr(receiving, "_receive_one", crashing)
    body = {"location": "A1", "purchase_order": "PO-MED", "serials": [f"(00){CASE_1}"],
            "open_case": True}
    # The answer is honest (docs/api.md, not_done): the first pack done, the rest not.
    first = picker.post("/receive", body, key="cut-case")
    assert first.status_code == 200
    assert [(x["serial"], x["ok"], x.get("error", {}).get("code"))
            for x in first.get_json()["results"]] == [
        ("C1P1", True, None), ("C1P2", False, "not_done"), ("C1P3", False, "not_done")]
    missing = {u["serial"] for u in expected_of(shop)["missing_serials"]}
    assert "C1P1" not in missing and {"C1P2", "C1P3"} <= missing  # the first step held
    assert expected_of(shop)["cases_opened"] == 0
    r = picker.post("/receive", body, key="cut-case")
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [(x["serial"], x["status"], x.get("repeat")) for x in results] == [
        ("C1P1", "in_stock", None), ("C1P2", "in_stock", None), ("C1P3", "in_stock", None)]
    assert expected_of(shop)["cases_opened"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 3


def test_a_case_a_database_failure_stops_says_it_is_not_opened(app, shop, picker):
    """The database refuses the case's second pack: the answer's case says it is not opened
    and how many of its packs are in, not "opened: 3 received"; the retry that finishes
    it opens it and says so."""
    from tests.integration.test_half_done import Failing
    assert attach(shop, gen.epcis_xml(shipment())).status_code == 201
    failing = Failing(app, "serials", "INSERT", "NEW.serial = 'C1P2'")
    body = {"location": "A1", "purchase_order": "PO-MED", "serials": [f"(00){CASE_1}"],
            "open_case": True}
    first = picker.post("/receive", body, key="failed-case")
    assert first.status_code == 200
    answer = first.get_json()
    assert [(x["serial"], x["ok"], x.get("error", {}).get("code"))
            for x in answer["results"]] == [
        ("C1P1", True, None), ("C1P2", False, "not_done"), ("C1P3", False, "not_done")]
    case = answer["cases"][0]
    assert case["opened"] is False and not case["confirm"]
    assert case["message"] == (f"Case {CASE_1} is not opened yet: 1 of 3 received, 2 not "
                               "done, so send it again to finish.")
    assert expected_of(shop)["cases_opened"] == 0

    failing.drop()
    done = picker.post("/receive", body, key="failed-case").get_json()
    assert [x["ok"] for x in done["results"]] == [True] * 3
    assert done["cases"][0]["opened"] is True
    assert done["cases"][0]["message"] == f"Case {CASE_1} opened: 3 received (3 of MED)."
    assert expected_of(shop)["cases_opened"] == 1
