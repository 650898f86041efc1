"""The API's request rules and its OpenAPI document (GET /api/openapi.json), over HTTP."""
import io
import json
import re

import pytest
from openapi_spec_validator import validate

from tests.factories import imei, setup_shop


@pytest.fixture
def shop(manager):
    setup_shop(manager)
    return manager


def refusal(response, status=400):
    assert response.status_code == status, (response.status_code, response.get_data(True))
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"], body["error"]["message"]


def multipart(api, path, **fields):
    return api.client.post("/api" + path, data=fields, headers=api.headers,
                           content_type="multipart/form-data")


# ------------------------------------------------------------------ the document

def openapi_path(rule: str) -> str:
    """/api/serials/<serial:text> -> /api/serials/{text}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_and_describes_every_api_route(app, picker):
    r = picker.get("/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    validate(doc)  # raises when the document is not valid OpenAPI 3
    assert doc["openapi"].startswith("3.")
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert len(rules) >= 29
    for rule in rules:
        path = openapi_path(rule.rule)
        assert path in doc["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path].get(method.lower())
            assert operation, (method, rule.rule)
            assert "200" in operation["responses"] or "201" in operation["responses"]
            error = operation["responses"]["400"]["content"]["application/json"]["schema"]
            assert error["$ref"].endswith("/ErrorBody")
            if method in ("POST", "PATCH") and not path.endswith(("/close", "/cancel")):
                assert operation["requestBody"]["content"], (method, rule.rule)


def test_the_document_names_fields_filters_and_forms(picker):
    doc = picker.get("/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    params = {p["name"]: p for p in doc["paths"]["/api/serials"]["get"]["parameters"]}
    assert {"sku", "status", "location", "lot", "page", "format"} <= set(params)
    receive = doc["paths"]["/api/receive"]["post"]["requestBody"]["content"]
    assert set(receive) == {"application/json", "multipart/form-data"}
    form = schemas[receive["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "image" in form["properties"] and "lot" in form["properties"]
    body = schemas["Receive"]
    assert body["properties"]["lot"]["anyOf"][0]["maxLength"] == 40
    assert body["required"] == ["location"]
    assert set(schemas["ErrorBody"]["properties"]) == {"error"}
    assert doc["paths"]["/api/import/{kind}"]["post"]["requestBody"]["content"][
        "multipart/form-data"]


# ------------------------------------------------------------------ wrong types: 400s

WRONG = [
    ("/ship", {"order": "SO1", "partial": "false"}, "partial", "true or false"),
    ("/receive", {"location": "A1", "serials": [True]}, "serials", "Item 1 of 'serials'"),
    ("/receive", {"location": "A1", "lot": {"a": 1}, "serials": ["X1"]}, "lot", "text"),
    ("/receive", {"location": "A1", "lot": "L" * 41, "serials": ["X1"]}, "lot", "40"),
    ("/receive", {"location": "A1", "serials": ["S" * 101]}, "serials", "100 characters"),
    ("/receive", {"location": "A1", "generate": "5"}, "generate", "whole number"),
    ("/return", {"serials": ["x"], "reason": "r", "disposition": ["scrap"]}, "disposition",
     "'restock', 'quarantine' or 'scrap'"),
    ("/return", {"serials": ["x"], "reason": "r", "disposition": {"a": "scrap"}},
     "disposition", "'restock'"),
    ("/products", {"sku": "P9", "name": "n", "warranty_days": 3_000_000}, "warranty_days",
     "at most 36500"),
    ("/products", {"sku": "P9", "name": "n", "attributes": {"a": {"b": 1}}}, "attributes",
     "must be text, a number"),
    ("/purchase-orders", {"number": "PO9", "supplier": "S", "lines": [{"sku": "PHONE",
                                                                       "qty": 2 ** 31}]},
     "lines", "Field 'qty' of item 1 of 'lines' must be at most 1000000"),
    ("/sales-orders", {"number": "SO9", "customer": "C1", "lines": []}, "lines", "empty"),
    ("/locations", {"code": "B1", "kind": "shelf"}, "kind", "'storage'"),
    ("/move", {"location": "A1", "serials": ["x"], "purchase_ordr": "PO1"}, "purchase_ordr",
     "not a field"),
]


@pytest.mark.parametrize("path,body,field,words", WRONG)
def test_a_wrong_type_or_size_is_a_400_naming_the_field(shop, path, body, field, words):
    code, message = refusal(shop.post(path, body))
    assert code == "invalid_field"
    assert f"'{field}'" in message and words in message, message


def test_a_missing_field_is_missing_field(shop):
    code, message = refusal(shop.post("/pick", {"serials": ["x"]}))
    assert code == "missing_field" and message == "Choose an order first."  # the catalogue's
    code, message = refusal(shop.post("/customers", {"code": "C9"}))
    assert code == "missing_field" and message == "Field 'name' is required."
    code, message = refusal(shop.post("/purchase-orders", {"number": "P", "supplier": "S",
                                                           "lines": [{"qty": 1}]}))
    assert code == "missing_field" and "'sku' of item 1 of 'lines'" in message


def test_a_patch_is_validated_like_a_create(shop):
    code, message = refusal(shop.client.patch("/api/products/PHONE", json={"warranty_days": -1},
                                              headers=shop.headers))
    assert code == "invalid_field" and "'warranty_days'" in message
    r = shop.client.patch("/api/products/PHONE", json={"warranty_days": 730}, headers=shop.headers)
    assert r.status_code == 200 and r.get_json()["warranty_days"] == 730


@pytest.mark.parametrize("key", [None, "deep-1"])
def test_json_nested_1000_levels_is_a_400_not_a_crash(shop, key):
    deep = "[" * 1000 + "]" * 1000
    headers = dict(shop.headers, **({"Idempotency-Key": key} if key else {}))
    r = shop.client.post("/api/receive", data=f'{{"location": "A1", "serials": {deep}}}',
                         headers=headers, content_type="application/json")
    code, message = refusal(r)
    assert code == "malformed" and "nested" in message
    just_over = json.dumps({"attributes": {"a": json.loads("[" * 40 + "]" * 40)}})
    r = shop.client.post("/api/products", data=just_over, headers=shop.headers,
                         content_type="application/json")
    assert refusal(r)[0] == "malformed"


# ------------------------------------------------------------------ multipart, same rules

def test_multipart_is_validated_by_the_same_model(shop):
    as_json = refusal(shop.post("/ship", {"order": "SO1", "partial": "maybe"}))
    as_form = refusal(multipart(shop, "/ship", order="SO1", partial="maybe"))
    assert as_json == as_form == ("invalid_field", "Field 'partial' must be true or false.")
    code, message = refusal(multipart(shop, "/receive", location="A1", lot="L" * 41,
                                      serials="X1"))
    assert code == "invalid_field" and "'lot'" in message
    code, message = refusal(multipart(shop, "/receive", location="A1", generate="two"))
    assert code == "invalid_field" and "'generate' must be a whole number" in message
    code, message = refusal(multipart(shop, "/move", location="A1", serials="x", colour="red"))
    assert "'colour'" in message
    # The form's own spelling of a flag and of a list of scans still works.
    r = multipart(shop, "/receive", location="A1", sku="PHONE",
                  serials=f"{imei(1)}\n{imei(2)}")
    assert r.status_code == 200 and [x["ok"] for x in r.get_json()["results"]] == [True, True]


def test_decode_and_import_are_multipart_only(shop):
    code, _ = refusal(shop.post("/decode", {"image": "x"}), 415)
    assert code == "unsupported_media_type"
    code, message = refusal(multipart(shop, "/decode", mode="frame"))
    assert code == "missing_field" and "'image'" in message
    code, message = refusal(multipart(shop, "/import/serials", check="perhaps",
                                      file=(io.BytesIO(b"sku,serial,location\n"), "a.csv")))
    assert "'check'" in message


# ------------------------------------------------------------------ query parameters

def test_an_unknown_query_filter_is_refused_naming_it(shop):
    code, message = refusal(shop.get("/serials?lot=LOT42&colour=red"))
    assert code == "unknown_parameter" and "colour" in message
    code, message = refusal(shop.get("/products?sort=name"))
    assert code == "unknown_parameter" and "sort" in message
    code, message = refusal(shop.get("/serials?page=two"))
    assert code == "invalid_field" and "'page'" in message
    code, message = refusal(shop.get("/serials?status=lost"))
    assert code == "invalid_field" and "'status'" in message
    assert refusal(shop.get("/serials?sku=A&sku=B"))[0] == "invalid_field"


def test_serials_filter_by_lot_for_a_recall(shop):
    for lot, serials in (("LOT42", [imei(1), imei(2)]), ("LOT43", [imei(3)])):
        r = shop.post("/receive", {"location": "A1", "sku": "PHONE", "lot": lot,
                                   "serials": serials})
        assert all(x["ok"] for x in r.get_json()["results"])
    page = shop.get("/serials?lot=LOT42").get_json()
    assert page["total"] == 2 and {s["serial"] for s in page["serials"]} == {imei(1), imei(2)}
    assert shop.get("/serials?lot=NONE").get_json()["total"] == 0
    csv = shop.get("/serials?lot=LOT43&format=csv").get_data(as_text=True)
    assert imei(3) in csv and imei(1) not in csv


def test_orders_listings_filter_by_status_like_the_pages(shop):
    assert shop.post("/purchase-orders/PO1/close").status_code == 200
    closed = shop.get("/purchase-orders?status=closed").get_json()["purchase_orders"]
    assert [po["number"] for po in closed] == ["PO1"]
    assert shop.get("/purchase-orders?status=open").get_json()["purchase_orders"] == []
    assert len(shop.get("/sales-orders?status=open").get_json()["sales_orders"]) == 2
    assert refusal(shop.get("/sales-orders?status=gone"))[0] == "invalid_field"


def test_an_unknown_customer_or_supplier_is_a_404_not_a_crash(shop):
    # Found by test_api_fuzz: these codes had no message, so the lookup raised a KeyError.
    for path, code in (("/customers/NOPE", "unknown_customer"),
                       ("/suppliers/NOPE", "unknown_supplier")):
        assert refusal(shop.get(path), 404) == (code, f"There is no {path.split('s/')[0][1:]} NOPE.")
        r = shop.client.patch("/api" + path, json={"name": "x"}, headers=shop.headers)
        assert refusal(r, 404)[0] == code
