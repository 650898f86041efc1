"""Issue 9's bound book: every required column, corrections that leave originals alone,
the three views, theft/loss as a disposition, look-ups and the CSV with its column file."""
import csv
import io

import pytest

REQUIRED = ["acquired_on", "acquired_from", "acquired_from_licence", "manufacturer", "importer",
            "model", "serial", "type", "caliber", "disposed_on", "disposed_to",
            "disposed_to_licence", "form_4473", "theft_loss", "atf_incident", "police_incident"]


@pytest.fixture
def gun_shop(manager):
    api = manager
    assert api.post("/products", {"sku": "G17", "name": "Pistol", "attributes": {
        "book": True, "manufacturer": "Glock", "importer": "Glock Inc", "model": "17",
        "type": "pistol", "caliber": "9mm"}}).status_code == 201
    assert api.post("/products", {"sku": "HOLSTER", "name": "Holster"}).status_code == 201
    assert api.post("/locations", {"code": "SAFE", "kind": "storage"}).status_code == 201
    assert api.post("/suppliers", {"code": "DIST", "name": "Big Distributor",
                                   "address": "9 Depot Rd", "licence": "1-23-456-01-2A-12345"}
                    ).status_code == 201
    assert api.post("/customers", {"code": "JD", "name": "Jane Doe", "address": "5 Elm St"}
                    ).status_code == 201
    assert api.post("/purchase-orders", {"number": "PO-G", "supplier": "DIST", "lines": [
        {"sku": "G17", "qty": 3}, {"sku": "HOLSTER", "qty": 1}]}).status_code == 201
    assert api.post("/sales-orders", {"number": "SO-G", "customer": "JD",
                                      "lines": [{"sku": "G17", "qty": 1}]}).status_code == 201
    for sku, serials in (("G17", ["ABC101", "ABC102", "ABC103"]), ("HOLSTER", ["H1"])):
        r = api.post("/receive", {"location": "SAFE", "sku": sku, "purchase_order": "PO-G",
                                  "serials": serials})
        assert all(x["ok"] for x in r.get_json()["results"]), r.get_json()
    assert api.post("/pick", {"order": "SO-G", "serials": ["ABC101"]}).get_json()["results"][0]["ok"]
    assert api.post("/ship", {"order": "SO-G"}).status_code == 200
    return api


def book(api, query=""):
    r = api.get("/reports/acquisitions-dispositions" + query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["entries"]


def test_the_book_lists_acquisitions_and_dispositions_with_every_column(gun_shop):
    rows = book(gun_shop, "?view=originals")
    assert all(set(REQUIRED) <= set(r) for r in rows)
    assert {r["serial"] for r in rows} == {"ABC101", "ABC102", "ABC103"}  # not the holster
    acq = [r for r in rows if r["acquired_on"]]
    assert len(acq) == 3
    a = acq[0]
    assert a["acquired_from"] == "Big Distributor, 9 Depot Rd"
    assert a["acquired_from_licence"] == "1-23-456-01-2A-12345"
    assert (a["manufacturer"], a["importer"], a["model"], a["type"], a["caliber"]) == (
        "Glock", "Glock Inc", "17", "pistol", "9mm")
    disp = [r for r in rows if r["disposed_on"]]
    assert [(d["serial"], d["disposed_to"]) for d in disp] == [("ABC101", "Jane Doe, 5 Elm St")]
    assert len(disp[0]["disposed_on"]) == 10


def test_a_correction_leaves_the_original_and_the_views_show_the_right_rows(gun_shop):
    original = next(r for r in book(gun_shop, "?view=originals") if r["serial"] == "ABC102")
    r = gun_shop.post("/book/corrections", {"entry": original["entry"],
                                            "fields": {"caliber": "9x19mm"},
                                            "note": "caliber misread"})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()["entry"]
    r = gun_shop.post("/book/corrections", {"entry": first, "fields": {"model": "17 Gen5"},
                                            "note": "model too"})
    second = r.get_json()
    assert second["corrects"] == first
    originals = book(gun_shop, "?view=originals")
    assert next(r for r in originals if r["entry"] == original["entry"]) == original
    corrections = book(gun_shop, "?view=corrections")
    assert [c["entry"] for c in corrections] == [first, second["entry"]]
    assert corrections[0]["corrects"] == original["entry"] and corrections[0]["caliber"] == "9x19mm"
    assert corrections[1]["caliber"] == "9x19mm" and corrections[1]["model"] == "17 Gen5"
    both = book(gun_shop, "?view=both")
    assert len(both) == len(originals) + 2
    for bad in ({"entry": original["entry"], "fields": {"serial_key": "x"}, "note": "n"},
                {"entry": original["entry"], "fields": {"caliber": "x"}},
                {"entry": "E99999", "fields": {"caliber": "x"}, "note": "n"}):
        r = gun_shop.post("/book/corrections", bad)
        assert 400 <= r.status_code < 500 and r.get_json()["error"]["message"]


def test_theft_or_loss_is_a_disposition_with_its_incident_numbers(gun_shop):
    r = gun_shop.post("/book/theft-loss", {"serial": "ABC103", "sku": "G17", "kind": "theft",
                                           "atf_incident": "T2024-0001",
                                           "police_incident": "PD-77"})
    assert r.status_code == 201, r.get_json()
    assert gun_shop.get("/serials/ABC103").get_json()["status"] == "scrapped"
    rows = [x for x in book(gun_shop, "?serial=ABC103") if x["disposed_on"]]
    assert len(rows) == 1
    assert (rows[0]["theft_loss"], rows[0]["atf_incident"], rows[0]["police_incident"]) == (
        "theft", "T2024-0001", "PD-77")
    r = gun_shop.post("/book/theft-loss", {"serial": "ABC102", "kind": "fire",
                                           "atf_incident": "x", "police_incident": "y"})
    assert r.status_code == 400


def test_look_up_by_serial_and_acquisition_date_and_csv(gun_shop):
    assert {r["serial"] for r in book(gun_shop, "?serial=abc101")} == {"ABC101"}
    today = book(gun_shop)[0]["acquired_on"]
    assert len(book(gun_shop, f"?acquired_on={today}")) == 4  # 3 acquired, 1 disposed
    assert book(gun_shop, "?acquired_on=2000-01-01") == []
    assert gun_shop.get("/reports/acquisitions-dispositions?acquired_on=today").status_code == 400
    assert gun_shop.get("/reports/acquisitions-dispositions?view=some").status_code == 400
    assert gun_shop.get("/reports/acquisitions-dispositions?x=1").status_code == 400
    text = gun_shop.get("/reports/acquisitions-dispositions?format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(REQUIRED) <= set(rows[0]) and len(rows) == 4
    described = list(csv.reader(io.StringIO(gun_shop.get(
        "/reports/acquisitions-dispositions/columns.csv").get_data(as_text=True))))
    assert [r[0] for r in described[1:]] == list(rows[0])


def test_the_book_page_prints_in_the_books_columns(app, gun_shop):
    from tests.integration.test_auth_and_pages import login
    client = app.test_client()
    login(client, "manager")
    text = client.get("/book?view=originals").get_data(as_text=True)
    for heading in ("Manufacturer", "Importer", "Model", "Serial", "Type", "Caliber or gauge",
                    "Name and address", "Licence", "Form 4473", "Theft/loss"):
        assert f"<th>{heading}</th>" in text
    # Landscape comes from a print stylesheet file: the CSP allows no inline <style>.
    assert "ABC102" in text and 'media="print" href="/static/print-landscape.css' in text
    assert "size: landscape" in client.get("/static/print-landscape.css").get_data(as_text=True)
    assert "must be a date" in client.get("/book?acquired_on=soon").get_data(as_text=True)


def test_form_4473_given_at_shipping_is_in_the_disposition_entry(app, gun_shop):
    """The disposition column's third form ('or the Form 4473 transaction number'): given
    when the order ships, it is in the book (JSON, CSV, page) beside that unit's entry."""
    api = gun_shop
    assert api.post("/sales-orders", {"number": "SO-4473", "customer": "JD", "lines": [
        {"sku": "G17", "qty": 1}, {"sku": "HOLSTER", "qty": 1}]}).status_code == 201
    assert all(r["ok"] for r in api.post("/pick", {"order": "SO-4473", "serials": [
        "ABC102", "H1"]}).get_json()["results"])
    r = api.post("/ship", {"order": "SO-4473", "form_4473": " 2024-000123 "})
    assert r.status_code == 200 and all(x["ok"] for x in r.get_json()["results"]), r.get_json()
    rows = book(api, "?view=originals")
    disposed = {r["serial"]: r for r in rows if r["disposed_on"]}
    assert disposed["ABC102"]["form_4473"] == "2024-000123"
    assert disposed["ABC101"]["form_4473"] == ""  # shipped earlier without one
    assert disposed["ABC102"]["disposed_to"] == "Jane Doe, 5 Elm St"  # name and address stay
    text = api.get("/reports/acquisitions-dispositions?format=csv&serial=ABC102").get_data(
        as_text=True)
    assert [r["form_4473"] for r in csv.DictReader(io.StringIO(text))] == ["", "2024-000123"]
    described = dict(csv.reader(io.StringIO(api.get(
        "/reports/acquisitions-dispositions/columns.csv").get_data(as_text=True))))
    assert "Form 4473 transaction number" in described["form_4473"]
    assert "form_4473" in described["form_4473"]  # says where it comes from
    # The pages: the book, and the order's own page.
    from tests.integration.test_auth_and_pages import login
    client = app.test_client()
    login(client, "manager")
    assert "<td>2024-000123</td>" in client.get("/book?serial=ABC102").get_data(as_text=True)
    assert "transaction 2024-000123" in client.get("/sales-orders/SO-4473").get_data(as_text=True)
    # Too long, or not text one can print: refused before anything ships.
    assert api.post("/sales-orders", {"number": "SO-X", "customer": "JD", "lines": [
        {"sku": "G17", "qty": 1}]}).status_code == 201
    r = api.post("/pick", {"order": "SO-X", "serials": ["ABC103"]})
    assert r.get_json()["results"][0]["ok"]
    for bad in ("9" * 65, "12\n34"):
        r = api.post("/ship", {"order": "SO-X", "form_4473": bad})
        assert r.status_code in (400, 422), r.get_json()
    assert api.get("/serials/ABC103").get_json()["status"] == "picked"


def test_the_ship_page_asks_for_form_4473_only_for_book_items(app, gun_shop):
    from tests.integration.test_auth_and_pages import login
    api = gun_shop
    assert api.post("/sales-orders", {"number": "SO-H", "customer": "JD", "lines": [
        {"sku": "HOLSTER", "qty": 1}]}).status_code == 201
    assert api.post("/sales-orders", {"number": "SO-G2", "customer": "JD", "lines": [
        {"sku": "G17", "qty": 1}]}).status_code == 201
    assert api.post("/pick", {"order": "SO-H", "serials": ["H1"]}).get_json()["results"][0]["ok"]
    r = api.post("/pick", {"order": "SO-G2", "serials": ["ABC102"]})
    assert r.get_json()["results"][0]["ok"]
    client = app.test_client()
    login(client, "manager")
    page = client.get("/scan/ship").get_data(as_text=True)
    cards = {c.split("</h2>")[0].split("·")[0].strip(): c for c in page.split("<h2>")[1:]}
    assert 'name="form_4473"' in cards["SO-G2"] and 'name="form_4473"' not in cards["SO-H"]


def test_the_book_as_a_pdf_on_landscape_pages(app, gun_shop):
    """?format=pdf: the same entries, in the page's columns, on landscape Letter or A4 pages
    (headings on each, numbered), drawn without any system library."""
    from tests.labelread import pdf_pages
    for n in range(60):  # enough entries for a second page
        gun_shop.post("/book/corrections", {"entry": book(gun_shop)[0]["entry"],
                                            "fields": {"model": f"17 rev {n}"},
                                            "note": "a long note " * (n % 4)})
    r = gun_shop.get("/reports/acquisitions-dispositions?format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.get_data()[:200]
    pages = pdf_pages(r.get_data(), dpi=50)
    assert len(pages) >= 2 and all(size == (11.0, 8.5) for _, size in pages)
    a4 = pdf_pages(gun_shop.get("/reports/acquisitions-dispositions?format=pdf&paper=a4"
                                "&serial=ABC103").get_data(), dpi=50)
    assert len(a4) == 1 and abs(a4[0][1][0] - 11.69) < 0.01 and abs(a4[0][1][1] - 8.27) < 0.01
    page = a4[0][0].convert("L")
    assert page.getextrema()[0] < 64  # something is drawn
    assert gun_shop.get("/reports/acquisitions-dispositions?format=pdf&paper=a3").status_code == 400
    from tests.integration.test_auth_and_pages import login
    client = app.test_client()
    login(client, "manager")
    html = client.get("/book?serial=ABC101").get_data(as_text=True)
    assert "format=pdf" in html and "serial=ABC101" in html.split("format=pdf")[1].split('"')[0]
