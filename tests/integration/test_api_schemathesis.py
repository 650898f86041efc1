"""Schemathesis against GET /api/openapi.json: every operation of the document, with data
that fits it (positive) and data that breaks it (negative), sent to the app in-process
(WSGI) with a real admin's bearer token. Every answer must be a decision the document
describes: never a 5xx, no status, content type, header or body the document does not
allow. Runs on whichever database the suite runs on (SQLite, or PostgreSQL with
TEST_DATABASE_URL), so CI runs it on both.

Random keys would mostly meet 404s and never reach the code behind them, so the shop is
seeded first (products, locations, orders, units in every state, a recall) and each
generated case has, now and then, its fields and path parameters swapped for real names
from it (3 times in 4): an existing SKU, location, order, serial. Derandomized, bounded: about a minute each
way on one core, the same cases on every run."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from serialapp import auth
from serialapp.extensions import db
from serialapp.models import User
from tests.conftest import Api
from tests.factories import imei, setup_shop

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 45, GenerationMode.NEGATIVE: 30}

SERIALS = [imei(n) for n in range(1, 9)] + ["CS-0001", "CS-0002", "OWN-000001"]
# Field (and path parameter) name -> real values of the seeded shop.
KNOWN = {
    "location": ["A1", "A2", "Q", "TEST-BENCH"],
    "sku": ["PHONE", "CASE", "MED", "OWN"],
    "order": ["SO1", "SO2", "SO3"],
    "purchase_order": ["PO1", "PO2"],
    "customer": ["C1"],
    "supplier": ["Acme", "ACME"],
    "lot": ["L1"],
    "serial": SERIALS,
    "text": SERIALS,
    "number": ["PO1", "PO2"],
    "recall_id": ["1"],
    "kind": ["serials", "products", "customers", "suppliers", "purchase_orders",
             "sales_orders"],
    "entry": [1, 2, 3],
}
# The actions that take scanned serials.
SCANS = {f"/api/{action}" for action in ("receive", "move", "pick", "unpick", "return",
                                         "quarantine", "release", "scrap")}
# {key} names a different thing on each resource.
KEYS = {"/api/products/": ["PHONE", "OWN"], "/api/locations/": ["A1", "Q"],
        "/api/customers/": ["C1"], "/api/suppliers/": ["ACME"],
        "/api/purchase-orders/": ["PO1", "PO2"], "/api/sales-orders/": ["SO1", "SO2"]}


def seed(api: Api) -> None:
    """A shop with something in every state, made through the API."""
    setup_shop(api)
    assert api.post("/products", {"sku": "OWN", "name": "Own make",
                                  "serial_pattern": "OWN-{seq:06}"}).status_code == 201
    assert api.post("/purchase-orders", {"number": "PO2", "supplier": "Acme",
                                         "lines": [{"sku": "CASE", "qty": 5}]}).status_code == 201
    assert api.post("/sales-orders", {"number": "SO3", "customer": "C1",
                                      "lines": [{"sku": "CASE", "qty": 2}]}).status_code == 201

    def ok(path, body):
        r = api.post(path, body)
        assert r.status_code == 200 and all(x["ok"] for x in r.get_json()["results"]), \
            r.get_data(as_text=True)
    ok("/receive", {"location": "A1", "purchase_order": "PO1", "sku": "PHONE", "lot": "L1",
                    "serials": SERIALS[:3]})
    ok("/receive", {"location": "A1", "sku": "PHONE", "serials": SERIALS[3:8]})
    ok("/receive", {"location": "A2", "purchase_order": "PO2", "serials": SERIALS[8:10]})
    ok("/receive", {"location": "A2", "sku": "OWN", "generate": 2})
    ok("/pick", {"order": "SO1", "serials": SERIALS[:2]})
    ok("/pick", {"order": "SO2", "serials": SERIALS[2:3]})
    ok("/ship", {"order": "SO2"})
    ok("/quarantine", {"serials": SERIALS[7:8], "location": "Q", "reason": "dented"})
    assert api.post("/recalls", {"sku": "PHONE", "lot": "L1"}).status_code in (200, 201)


@pytest.fixture
def api_schema(app):
    with app.app_context():
        user = auth.create_user("fuzz-admin", "admin", "secret-pw")
        token = auth.issue_token(db.session.get(User, user.id))
    api = Api(app.test_client(), token)
    seed(api)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, headers=api.headers)
    return schema, api.headers


def _known_values(path: str, name: str) -> list | None:
    if name == "key":
        return next((v for prefix, v in KEYS.items() if path.startswith(prefix)), None)
    return KNOWN.get(name)


def _swap(data) -> bool:
    return data.draw(st.integers(0, 3)) > 0  # 3 times in 4, once shrunk to none


def _swap_in_real_names(case, data) -> None:
    """Mostly, a generated value replaced by the name of something that exists."""
    path = case.operation.path
    if path in SCANS and isinstance(case.body, dict) and "serials" not in case.body:
        case.body["serials"] = []  # optional beside photos, but what reaches the steps
    for container in (case.path_parameters, case.query,
                      case.body if isinstance(case.body, dict) else None):
        if not container:
            continue
        for name in list(container):
            if name == "serials":
                if _swap(data):
                    picked = data.draw(st.lists(st.sampled_from(SERIALS), min_size=1,
                                                max_size=3, unique=True))
                    container[name] = ",".join(picked) if container is case.query else picked
                continue
            values = _known_values(path, name)
            if values and _swap(data):
                container[name] = data.draw(st.sampled_from(values))


def _run(operation, mode, headers) -> str | None:
    """The operation's cases of one kind; None, or what broke, with a curl to replay it."""
    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def each(case, data):
        _swap_in_real_names(case, data)
        case.call_and_validate(headers=headers, checks=CHECKS)
    try:
        each()
    except (Exception, FailureGroup) as exc:  # noqa: BLE001  (a group is no Exception)
        return str(exc)
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(api_schema, mode):
    schema, headers = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    broken = {}
    for operation in operations:
        found = _run(operation, mode, headers)
        if found is not None:
            broken[operation.label] = found
    assert not broken, "\n\n".join(f"=== {label}\n{found}" for label, found in broken.items())
