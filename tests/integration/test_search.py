"""One search box: serials by part, orders, customers, products, lots, locations."""
from tests.factories import imei, setup_shop


def found(api, q, **kw):
    r = api.get("/search", query_string={"q": q, **kw})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_search_finds_each_kind(picker, manager):
    setup_shop(manager)
    manager.post("/receive", {"location": "A1", "sku": "PHONE", "lot": "LOT42",
                              "serials": [imei(n) for n in range(1, 4)]})
    manager.post("/receive", {"location": "A1", "sku": "CASE", "serials": ["CS-0001"]})
    # A serial by its start and by its end, case not counting.
    assert [s["serial"] for s in found(picker, imei(1)[:9])["serials"]] == \
        [imei(1), imei(2), imei(3)]
    assert [s["serial"] for s in found(picker, imei(2)[-6:])["serials"]] == [imei(2)]
    assert [s["serial"] for s in found(picker, "cs-00")["serials"]] == ["CS-0001"]
    # A whole serial, scanned, opens that serial.
    assert found(picker, imei(3))["exact"] == {"kind": "serial", "serial": imei(3),
                                               "sku": "PHONE", "status": "in_stock"}
    assert found(picker, "so1")["exact"] == {"kind": "sales_order", "number": "SO1"}
    assert [o["number"] for o in found(picker, "SO")["orders"]] == ["SO1", "SO2"]
    assert [o["number"] for o in found(picker, "PO")["orders"]] == ["PO1"]
    ann = found(picker, "ann buy")["customers"]
    assert [c["code"] for c in ann] == ["C1"]
    assert [c["code"] for c in found(picker, "5550100")["customers"]] == ["C1"]  # phone, no dash
    assert [c["code"] for c in found(picker, "ann@example")["customers"]] == ["C1"]
    assert found(picker, "4006381333931")["exact"] == {"kind": "product", "sku": "PHONE"}
    assert [p["sku"] for p in found(picker, "phone")["products"]] == ["CASE", "PHONE"]
    assert found(picker, "LOT4")["lots"] == [{"kind": "lot", "lot": "LOT42", "units": 3}]
    assert found(picker, "TEST-BENCH")["exact"] == {"kind": "location", "code": "TEST-BENCH"}


def test_wildcards_are_taken_literally_and_nothing_found_is_empty(picker, manager):
    setup_shop(manager)
    result = found(picker, "%")
    assert result["customers"] == [] and result["products"] == [] and result["exact"] is None
    assert found(picker, "")["serials"] == []


def test_unknown_parameters_are_refused(picker):
    r = picker.get("/search", query_string={"q": "x", "sort": "name"})
    assert r.status_code == 400 and "sort" in r.get_json()["error"]["message"]
