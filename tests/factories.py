"""Test data made through the API, the way a client would."""
from serialapp.identifiers import luhn_check_digit


def imei(n: int) -> str:
    body = f"35209900{n:06d}"
    return body + luhn_check_digit(body)


def bad_luhn(serial: str) -> str:
    return serial[:-1] + str((int(serial[-1]) + 1) % 10)


def setup_shop(api):
    """A phone product, storage and a stage, a customer, a PO and two sales orders."""
    for body in (
        {"sku": "PHONE", "name": "Phone", "gtin": "4006381333931", "serial_pattern": "imei",
         "warranty_days": 365},
        {"sku": "CASE", "name": "Phone case", "serial_pattern": r"CS-\d{4}"},
        {"sku": "MED", "name": "Medicine", "gtin": "09506000134352", "serial_pattern": "gs1"},
    ):
        assert api.post("/products", body).status_code == 201
    for body in ({"code": "A1", "kind": "storage"}, {"code": "A2", "kind": "storage"},
                 {"code": "TEST-BENCH", "kind": "stage", "pickable": False},
                 {"code": "Q", "kind": "quarantine"}):
        assert api.post("/locations", body).status_code == 201
    assert api.post("/customers", {"code": "C1", "name": "Ann Buyer", "email": "ann@example.com",
                                   "phone": "555-0100"}).status_code == 201
    assert api.post("/purchase-orders", {"number": "PO1", "supplier": "Acme",
                                         "lines": [{"sku": "PHONE", "qty": 3}]}).status_code == 201
    assert api.post("/sales-orders", {"number": "SO1", "customer": "C1",
                                      "lines": [{"sku": "PHONE", "qty": 2}]}).status_code == 201
    assert api.post("/sales-orders", {"number": "SO2", "customer": "C1",
                                      "lines": [{"sku": "PHONE", "qty": 1}]}).status_code == 201
