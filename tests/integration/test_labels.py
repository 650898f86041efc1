"""Labels over HTTP: each one read back to its serial by zxing-cpp."""
import io

from PIL import Image

from tests.factories import setup_shop
from tests.labelread import decode, pdf_pages, rasterise_svg


def _shop(api):
    setup_shop(api)
    api.post("/products", {"sku": "DESK", "name": "Desk", "serial_pattern": "OWN-{seq:06}"})
    api.post("/products", {"sku": "CHAIR", "name": "Chair"})
    minted = api.post("/receive", {"location": "A1", "sku": "DESK", "generate": 3}).get_json()
    assert api.post("/receive", {"location": "A1", "sku": "MED", "lot": "LOT7",
                                 "expiry": "2027-12-31",
                                 "serials": ["PK42"]}).get_json()["results"][0]["ok"]
    # The same number on two products: ?sku= chooses.
    assert api.post("/receive", {"location": "A1", "sku": "CHAIR",
                                 "serials": ["OWN-000001"]}).get_json()["results"][0]["ok"]
    return [r["serial"] for r in minted["results"]]


def _png(r):
    assert r.status_code == 200 and r.mimetype == "image/png", r.get_data()[:300]
    return Image.open(io.BytesIO(r.get_data()))


def test_a_serials_label_in_each_format(manager, picker):
    _shop(manager)
    assert decode(_png(picker.get("/serials/OWN-000002/label.png"))) == ["OWN-000002"]
    r = picker.get("/serials/OWN-000002/label.svg")
    assert r.mimetype == "image/svg+xml"
    assert decode(rasterise_svg(r.get_data(as_text=True))) == ["OWN-000002"]
    r = picker.get("/serials/OWN-000002/label.pdf")
    assert r.mimetype == "application/pdf"
    [(page, size)] = pdf_pages(r.get_data())
    assert size == (2.0, 1.0) and decode(page) == ["OWN-000002"]
    zpl = picker.get("/serials/OWN-000002/label.zpl").get_data(as_text=True)
    assert zpl.startswith("^XA") and "^BCN," in zpl and "^FDOWN-000002^FS" in zpl
    # A product with a GTIN: GS1 DataMatrix with GTIN, expiry, lot and serial.
    assert decode(_png(picker.get("/serials/PK42/label.png?dpi=300"))) == [
        "(01)09506000134352(17)271231(10)LOT7(21)PK42"]
    [(page, _)] = pdf_pages(picker.get("/serials/PK42/label.pdf").get_data())
    assert decode(page) == ["(01)09506000134352(17)271231(10)LOT7(21)PK42"]
    # And the scan side reads that label back to the unit.
    assert picker.get("/serials/PK42").get_json()["sku"] == "MED"


def test_shared_serial_needs_sku_and_unknown_is_404(manager):
    _shop(manager)
    r = manager.get("/serials/OWN-000001/label.png")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "ambiguous_serial"
    assert decode(_png(manager.get("/serials/OWN-000001/label.png?sku=CHAIR"))) == ["OWN-000001"]
    r = manager.get("/serials/NOPE-1/label.svg")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_serial"
    r = manager.get("/serials/PK42/label.png?dpi=5000")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_field"
    r = manager.get("/serials/PK42/label.png?size=big")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unknown_parameter"
    # The serial's own page is still the serial's.
    assert manager.get("/serials/PK42").status_code == 200


def test_sheets_for_a_batch_just_minted(manager):
    minted = _shop(manager)
    more = manager.post("/receive", {"location": "A1", "sku": "DESK", "generate": 30}).get_json()
    batch = minted + [x["serial"] for x in more["results"]]
    q = "/labels?sku=DESK&serials=" + ",".join(batch)
    r = manager.get(q + "&sheet=letter")
    assert r.headers["X-Pages"] == "2"  # 33 labels, 30 a page
    assert sorted(decode(_png(r))) == sorted(batch[:30])
    r = manager.get(q + "&sheet=a4&format=svg&page=2")
    assert sorted(decode(rasterise_svg(r.get_data(as_text=True)))) == sorted(batch[24:])
    r = manager.get(q + "&sheet=single&page=33")
    assert decode(_png(r)) == [batch[32]] and r.headers["X-Pages"] == "33"
    zpl = manager.get(q + "&format=zpl").get_data(as_text=True)
    assert zpl.count("^XA") == zpl.count("^XZ") == 33
    # PDF: every page in one file, each at its paper's size, every label read back from
    # the page as PDFium renders it.
    for sheet, pages, size in (("a4", 2, (8.2677, 11.6929)), ("letter", 2, (8.5, 11.0)),
                               ("single", 33, (2.0, 1.0))):
        r = manager.get(q + f"&sheet={sheet}&format=pdf")
        assert r.mimetype == "application/pdf" and r.headers["X-Pages"] == str(pages)
        rendered = pdf_pages(r.get_data(), dpi=300 if sheet != "single" else 406)
        assert len(rendered) == pages
        assert all(abs(w - size[0]) < 0.01 and abs(h - size[1]) < 0.01
                   for _, (w, h) in rendered), (sheet, rendered[0][1])
        assert sorted(t for page, _ in rendered for t in decode(page)) == sorted(batch), sheet
    assert manager.get(q + "&sheet=letter&page=3").status_code == 400


def test_sheet_by_purchase_order_and_refusals(manager):
    _shop(manager)
    from tests.factories import imei
    manager.post("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE",
                              "serials": [imei(1), imei(2)]})
    r = manager.get("/labels?purchase_order=PO1&sheet=a4")
    # PHONE has a GTIN, so its labels are GS1 DataMatrix: (01) GTIN and (21) IMEI.
    assert sorted(decode(_png(r))) == sorted(f"(01)04006381333931(21){imei(n)}" for n in (1, 2))
    for q, status, code in [("/labels", 400, "missing_field"),
                            ("/labels?purchase_order=PO-none", 404, "unknown_order"),
                            ("/labels?serials=NOPE", 404, "unknown_serial"),
                            ("/labels?serials=OWN-000001", 409, "ambiguous_serial"),
                            ("/labels?serials=,,", 400, "missing_field"),
                            ("/labels?serials=a&purchase_order=PO1", 400, "missing_field"),
                            ("/labels?serials=PK42&format=gif", 400, "invalid_field")]:
        r = manager.get(q)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), q


def test_print_page_holds_each_label_at_its_size(manager, app):
    from tests.integration.test_auth_and_pages import login
    minted = _shop(manager)
    client = app.test_client()
    login(client, "picker")
    page = client.get("/labels?sku=DESK&sheet=letter&serials=" + ",".join(minted))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "@page { size: 8.5in 11in" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    assert "format=zpl" in html
    svg = html[html.index('<svg xmlns'):html.index("</svg>") + 6]
    assert decode(rasterise_svg(svg)) == [minted[0]]
    assert client.get("/labels?serials=NOPE").status_code == 404
    assert client.get("/labels?serials=PK42&sheet=a3").status_code == 400


def test_labels_page_without_a_batch_is_a_form_that_says_what_went_wrong(manager, app):
    from tests.integration.test_auth_and_pages import login
    minted = _shop(manager)
    client = app.test_client()
    login(client, "picker")
    page = client.get("/labels")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Print labels" in html and 'name="serials"' in html
    # One per line, as typed into the form's box, prints them all.
    page = client.get("/labels", query_string={"serials": "\n".join(minted), "sku": "DESK"})
    assert page.get_data(as_text=True).count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    page = client.get("/labels?serials=NOPE")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and 'name="serials"' in html and 'role="alert"' in html


def test_serial_page_links_its_label(manager, app):
    from tests.integration.test_auth_and_pages import login
    _shop(manager)
    client = app.test_client()
    login(client, "picker")
    html = client.get("/serials/PK42").get_data(as_text=True)
    href = html[html.index("/api/serials/PK42/label.png"):].split('"')[0].replace("&amp;", "&")
    # The page's login session is enough for the API's GET.
    assert decode(_png(client.get(href)))[0].endswith("(21)PK42")


def test_odd_inputs_never_500(manager):
    _shop(manager)
    manager.post("/products", {"sku": "ODD", "name": "Odd"})
    odd = ["a,b", "x/y", "Ä" * 64, "W" * 64, "%41", "#1", "?q"]
    manager.post("/receive", {"location": "A1", "sku": "ODD", "serials": odd})
    for text in odd + ["..", "%2F", " ", "N" * 300]:
        for fmt in ("png", "svg", "zpl"):
            for q in ("", "?dpi=100", "?dpi=600", "?sku=ODD"):
                from urllib.parse import quote
                r = manager.get(f"/serials/{quote(text, safe='')}/label.{fmt}{q}")
                assert r.status_code < 500, (text, fmt, q)
                if r.status_code == 200 and fmt == "png":
                    assert decode(_png(r)) == [text], (text, q)
    for q in ("serials=" + ",".join(["PK42"] * 1001), "serials=PK42&page=0", "serials=PK42&dpi=1",
              "serials=PK42&sheet=a4&dpi=100", "purchase_order=PO1", "serials=PK42&page=x"):
        assert manager.get("/labels?" + q).status_code < 500, q
