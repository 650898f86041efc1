"""Demo data for a first look: `make run` seeds it into an empty database."""
from sqlalchemy import func, select

from . import auth, catalog, identifiers, inventory
from .extensions import db
from .models import Product, User

DEMO_PASSWORD = "demo1234"


def _imei(body14: str) -> str:
    return body14 + identifiers.luhn_check_digit(body14)


def seed_demo() -> str:
    if db.session.scalar(select(func.count()).select_from(Product)):
        return "database already has data; demo seed skipped"
    for name, role in (("admin", "admin"), ("manager", "manager"), ("picker", "picker")):
        if not db.session.scalar(select(User.id).where(User.name == name)):
            auth.create_user(name, role, DEMO_PASSWORD)
    for data in (
        {"sku": "PHONE-X1", "name": "Phone X1 128 GB", "gtin": "4006381333931",
         "serial_pattern": "imei", "warranty_days": 730, "attributes": {"manufacturer": "Acme"}},
        {"sku": "LAPTOP-14", "name": "Laptop 14\"", "serial_pattern": r"LT[0-9]{8}",
         "warranty_days": 365},
        {"sku": "AMOX-500", "name": "Amoxicillin 500 mg", "gtin": "09506000134352",
         "serial_pattern": "gs1", "warranty_days": 0},
        {"sku": "DESK-OAK", "name": "Oak desk (made to order)", "serial_pattern": "DSK-{seq:05}",
         "warranty_days": 1825},
    ):
        catalog.create_product(data)
    for data in (
        {"code": "A-01", "name": "Shelf A1", "kind": "storage"},
        {"code": "A-02", "name": "Shelf A2", "kind": "storage"},
        {"code": "ASSEMBLY", "name": "Assembly bench", "kind": "stage", "pickable": False},
        {"code": "DOCK", "name": "Receiving dock", "kind": "dock", "pickable": False},
        {"code": "QUAR", "name": "Quarantine cage", "kind": "quarantine", "pickable": False},
    ):
        catalog.create_location(data)
    catalog.create_customer({"code": "C-100", "name": "Corner Shop Ltd",
                             "email": "orders@corner.example", "phone": "+44 20 0000 0000"})
    catalog.create_purchase_order({"number": "PO-1001", "supplier": "Acme Distribution",
                                   "lines": [{"sku": "PHONE-X1", "qty": 5},
                                             {"sku": "LAPTOP-14", "qty": 3}]})
    catalog.create_sales_order({"number": "SO-2001", "customer": "C-100",
                                "lines": [{"sku": "PHONE-X1", "qty": 2},
                                          {"sku": "LAPTOP-14", "qty": 1}]})
    manager = db.session.scalar(select(User).where(User.name == "manager"))
    actor = inventory.Actor(user_id=manager.id, role=manager.role, source="manual")
    phones = [_imei(f"35345678901{n:03d}") for n in range(1, 4)]
    inventory.receive(actor, location="A-01", purchase_order="PO-1001", sku="PHONE-X1",
                      serials=phones)
    inventory.receive(actor, location="A-02", purchase_order="PO-1001", sku="LAPTOP-14",
                      serials=["LT00000001", "LT00000002"])
    inventory.receive(actor, location="A-01", sku="AMOX-500",
                      serials=["(01)09506000134352(17)271231(10)LOT42(21)PK0001"])
    return ("demo data added. Log in as picker / manager / admin with password "
            f"{DEMO_PASSWORD}. Phones in stock: {', '.join(phones)}")
