"""Random bodies of wrong types at every POST and PATCH endpoint: never a 5xx.

Field names come from the endpoint's own request model in /api/openapi.json (plus a few
it doesn't have), values from any JSON at all: nulls, booleans, huge and negative numbers,
NaN, long and odd text, lists, objects. Each answer must be a decision (2xx or 4xx with the
error shape), never a crash."""
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import setup_shop

PATH_VALUES = {"key": ["PHONE", "A1", "C1", "ACME", "nope"], "number": ["PO1", "PO-none"],
               "recall_id": ["1", "999"], "count_id": ["1", "999"],
               "kind": ["serials", "products", "customers", "nothing"]}

scalars = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
           | st.integers(-3, 40) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | st.text(max_size=200).map(lambda t: t * 3)
           | st.sampled_from(["", " ", "A1", "PHONE", "SO1", "PO1", "restock", "true",
                              "2026-13-45", "(01)09506000134352(21)X1", "\u200b", "\x00"]))
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


def write_endpoints(app, doc):
    """(method, path template, field names of its JSON body) for each POST and PATCH."""
    out = []
    schemas = doc["components"]["schemas"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods & {"POST", "PATCH"}):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            content = doc["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
            model = next(iter(content.values()), {}).get("schema", {}).get("$ref", "")
            names = sorted(schemas.get(model.rsplit("/", 1)[-1], {}).get("properties", {}))
            out.append((method, path, names + ["extra", "serials", "lines"]))
    return out


@settings(max_examples=600, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_bodies_never_get_a_5xx(app, manager, data):
    if not hasattr(app, "_fuzz_endpoints"):  # once per app, not per example
        setup_shop(manager)
        app._fuzz_endpoints = write_endpoints(app, manager.get("/openapi.json").get_json())
    method, template, names = data.draw(st.sampled_from(app._fuzz_endpoints))
    path = re.sub(r"\{(\w+)\}", lambda m: data.draw(st.sampled_from(PATH_VALUES[m[1]])),
                  template)
    body = data.draw(st.one_of(
        st.dictionaries(st.sampled_from(names), any_json, max_size=6),
        any_json))  # sometimes not even an object
    r = manager.client.open(path, method=method, data=json.dumps(body),
                            content_type="application/json", headers=manager.headers)
    assert r.status_code < 500, (method, path, body, r.get_data(as_text=True))
    if r.status_code >= 400:
        assert set(r.get_json()["error"]) == {"code", "message"}


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_multipart_forms_never_get_a_5xx(app, manager, data):
    if not hasattr(app, "_fuzz_endpoints"):
        setup_shop(manager)
        app._fuzz_endpoints = write_endpoints(app, manager.get("/openapi.json").get_json())
    method, template, names = data.draw(st.sampled_from(
        [e for e in app._fuzz_endpoints if e[0] == "POST"]))
    path = re.sub(r"\{(\w+)\}", lambda m: data.draw(st.sampled_from(PATH_VALUES[m[1]])),
                  template)
    form = data.draw(st.dictionaries(st.sampled_from(names), st.lists(
        st.text(max_size=120), min_size=1, max_size=3), max_size=6))
    r = manager.client.post(path, data=form, content_type="multipart/form-data",
                            headers=manager.headers)
    assert r.status_code < 500, (path, form, r.get_data(as_text=True))
