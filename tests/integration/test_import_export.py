"""CSV import (checked row by row, then applied whole rows) and streamed CSV export."""
import csv
import io

from sqlalchemy import func, select

from serialapp.extensions import db
from serialapp.models import Event, Serial
from tests.factories import setup_shop


def upload(api, kind, text, check=False, encoding="utf-8"):
    data = {"file": (io.BytesIO(text.encode(encoding)), f"{kind}.csv")}
    if check:
        data["check"] = "true"
    r = api.client.post(f"/api/import/{kind}", data=data, headers=api.headers,
                        content_type="multipart/form-data")
    return r


def test_opening_stock_of_2000_serials_is_received_with_source_import(app, manager):
    setup_shop(manager)
    lines = ["sku,serial,location,lot,expiry"] + [
        f"CASE,CS-{n:04d},{'A1' if n % 2 else 'A2'},LOT{n // 500},2027-01-31"
        for n in range(2000)]
    r = upload(manager, "serials", "\n".join(lines))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["good"] == 2000 and body["refused"] == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Serial).where(
            Serial.status == "in_stock")) == 2000
        sources = db.session.execute(select(Event.type, Event.source, func.count())
                                     .group_by(Event.type, Event.source)).all()
    assert sources == [("receive", "import", 2000)]
    serial = manager.get("/serials/CS-0007").get_json()
    assert serial["location"] == "A1" and serial["lot"] == "LOT0" and serial["expiry"] == "2027-01-31"


def test_checking_changes_nothing_and_says_why_per_row(app, manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    text = "\n".join(["SKU;Serial;Location", "CASE;CS-0001;A1", "CASE;CS-0002;NOWHERE",
                      "NOPE;X-1;A1", "CASE;CS-0003;A1", "CASE;cs-0003;A1", "CASE;bad;A1",
                      "CASE;CS-0004;A1"])
    r = upload(manager, "serials", text, check=True)
    rows = r.get_json()["rows"]
    assert [(x["line"], x["ok"]) for x in rows] == [
        (2, False), (3, False), (4, False), (5, True), (6, False), (7, False), (8, True)]
    assert rows[0]["message"] == "Already received."
    assert "no location NOWHERE" in rows[1]["message"]
    assert "no product NOPE" in rows[2]["message"]
    assert rows[4]["message"] == "Repeats line 5."
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Serial)) == 1
    # Applying: the good rows go in whole, the others are listed and change nothing.
    body = upload(manager, "serials", text).get_json()
    assert body["good"] == 2
    assert manager.get("/serials/CS-0004").get_json()["status"] == "in_stock"


def test_products_and_customers_import_with_the_same_rules(manager):
    products = ("sku,name,gtin,serial_pattern,warranty_days,manufacturer,caliber\n"
                "P1,Pistol,,,365,Acme,9mm\n"
                "P2,Bad GTIN,123,,,,\n"
                "P3,Bad pattern,,(a+\\1),,,\n")
    rows = upload(manager, "products", products).get_json()["rows"]
    assert [x["ok"] for x in rows] == [True, False, False]
    p1 = manager.get("/products/P1").get_json()
    assert p1["attributes"] == {"manufacturer": "Acme", "caliber": "9mm"}
    assert p1["warranty_days"] == 365
    assert manager.get("/products/P2").status_code == 404
    customers = "code,name,email,phone\nC9,Nine Ltd,nine@example.com,555 0199\nC9,Again,,\n"
    rows = upload(manager, "customers", customers).get_json()["rows"]
    assert [x["ok"] for x in rows] == [True, False]
    assert manager.get("/customers/C9").get_json()["name"] == "Nine Ltd"


def test_unreadable_or_unknown_files_are_refused_in_words(manager):
    r = upload(manager, "serials", "just,some\ncolumns,here\n")
    assert r.status_code == 422 and "needs a column for" in r.get_json()["error"]["message"]
    r = upload(manager, "things", "a,b\n1,2\n")
    assert r.status_code == 400
    r = manager.client.post("/api/import/serials", data={"file": (io.BytesIO(b"\xff\xfe\x00\x01"
                                                                              b"\x00"), "x.csv")},
                            headers=manager.headers, content_type="multipart/form-data")
    assert r.status_code in (422,)


def test_export_is_streamed_and_neutralises_formulas(app, manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "CASE", "lot": "=HYPERLINK(\"x\")",
                              "serials": ["CS-0001", "CS-0002"]})
    r = manager.get("/serials?format=csv&sku=CASE")
    assert r.status_code == 200 and r.is_streamed
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [x["serial"] for x in rows] == ["CS-0001", "CS-0002"]
    assert rows[0]["lot"] == "'=HYPERLINK(\"x\")"
    # Re-importing our own export restores the text.
    from serialapp import csvfiles
    columns, back = csvfiles.read_rows(r.get_data())
    assert back[0]["lot"] == "=HYPERLINK(\"x\")"
    customers = manager.get("/customers?format=csv")
    assert customers.is_streamed and "Ann Buyer" in customers.get_data(as_text=True)
    orders = manager.get("/sales-orders?format=csv").get_data(as_text=True)
    assert orders.splitlines()[0] == "number,customer,status,created_at,units,picked_or_shipped"


def test_cli_import_shows_progress_and_refusals(app, manager, tmp_path):
    setup_shop(manager)
    path = tmp_path / "stock.csv"
    path.write_text("sku,serial,location\nCASE,CS-0100,A1\nCASE,CS-0101,Z9\n")
    from serialapp import auth
    with app.app_context():
        auth.create_user("boss", "admin", "secret-pw-2")
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert "line 3: There is no location Z9." in result.output
    assert "serials: 1 applied, 1 refused" in result.output
    assert result.exit_code == 1
    assert manager.get("/serials/CS-0100").get_json()["status"] == "in_stock"


def test_suppliers_and_orders_import_an_order_whole_or_not_at_all(manager):
    setup_shop(manager)
    suppliers = "code,name,contact,licence\nGUNS,Gun Wholesale,Pat,1-23-456-78-9A-12345\n"
    rows = upload(manager, "suppliers", suppliers).get_json()["rows"]
    assert [x["ok"] for x in rows] == [True]
    orders = ("number,supplier,sku,qty\n"
              "PO-10,GUNS,PHONE,5\nPO-10,GUNS,CASE,2\n"
              "PO-11,GUNS,PHONE,1\nPO-11,GUNS,NOPE,1\n")
    checked = upload(manager, "purchase_orders", orders, check=True).get_json()["rows"]
    assert [x["ok"] for x in checked] == [True, True, False, False]
    assert manager.get("/purchase-orders/PO-10").status_code == 404  # a check changes nothing
    body = upload(manager, "purchase_orders", orders).get_json()
    assert body["good"] == 2 and body["refused"] == 2
    po = manager.get("/purchase-orders/PO-10").get_json()
    assert [(ln["sku"], ln["qty"]) for ln in po["lines"]] == [("PHONE", 5), ("CASE", 2)]
    assert manager.get("/purchase-orders/PO-11").status_code == 404  # no half order
    sales = "number,customer,sku,qty\nSO-20,C1,PHONE,2\n"
    assert upload(manager, "sales_orders", sales).get_json()["good"] == 1
    assert manager.get("/sales-orders/SO-20").get_json()["lines"][0]["qty"] == 2


def test_a_filtered_export_crosses_chunks_with_only_its_matches_in_order(app, manager,
                                                                          monkeypatch):
    """The export's chunks carry the list's filters themselves (not a subquery of the ids),
    walking from the last id seen: every match once, in id order, and nothing else."""
    from serialapp import exporting
    monkeypatch.setattr(exporting, "CHUNK", 7)
    setup_shop(manager)
    lines = ["sku,serial,location"] + [f"CASE,CS-{n:04d},{'A1' if n % 3 else 'A2'}"
                                       for n in range(1, 61)]
    assert upload(manager, "serials", "\n".join(lines)).status_code == 200
    r = manager.get("/serials?format=csv&sku=CASE&location=A2")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [x["serial"] for x in rows] == [f"CS-{n:04d}" for n in range(3, 61, 3)]
    assert {x["location"] for x in rows} == {"A2"}
    everything = manager.get("/serials?format=csv").get_data(as_text=True).splitlines()
    assert len(everything) == 61
