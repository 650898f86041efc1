"""Customers and suppliers: who buys and who sells. Both carry a contact, an address and
an optional licence number (an FFL, say), which the bound book names."""
import re

from sqlalchemy import func, select

from ..errors import RequestError, bad_request
from ..extensions import db
from ..models import Customer, Supplier
from .fields import commit, only_known, require_object, save, text

EDITABLE = {"code", "name", "contact", "email", "phone", "address", "licence"}


def _details(data: dict) -> dict:
    return {"contact": text(data, "contact"), "email": text(data, "email"),
            "phone": text(data, "phone", max_len=64),
            "address": text(data, "address", max_len=1000),
            "licence": text(data, "licence", max_len=64)}


def _create(model, what: str, data):
    data = require_object(data)
    code = text(data, "code", required=True, max_len=64)
    party = model(code=code, name=text(data, "name", required=True), **_details(data))
    return save(party, what, code)


def _update(party, what: str, data):
    data = require_object(data)
    only_known(data, EDITABLE)
    if "code" in data and str(data["code"]).strip() != party.code:
        raise bad_request(f"A {what}'s code cannot be changed.", "invalid_field", "code")
    if "name" in data:
        party.name = text(data, "name", required=True)
    for name, value in _details(data).items():
        if name in data:
            setattr(party, name, value)
    commit()
    return party


def create_customer(data) -> Customer:
    return _create(Customer, "Customer", data)


def update_customer(customer: Customer, data) -> Customer:
    return _update(customer, "customer", data)


def create_supplier(data) -> Supplier:
    return _create(Supplier, "Supplier", data)


def update_supplier(supplier: Supplier, data) -> Supplier:
    return _update(supplier, "supplier", data)


def _code_from_name(name: str) -> str:
    base = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")[:56] or "SUPPLIER"
    code, n = base, 1
    while db.session.scalar(select(Supplier.id).where(Supplier.code == code)):
        n += 1
        code = f"{base}-{n}"
    return code


def supplier_for(value) -> Supplier:
    """A purchase order's supplier, as the API has always taken it (a name, §5): the
    supplier with that code, else with that name (letter case aside), else a new one."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request("Field 'supplier' is required.", "missing_field", "supplier")
    value = value.strip()
    if len(value) > 200:
        raise bad_request("Field 'supplier' is longer than 200 characters.", "invalid_field",
                          "supplier")
    found = db.session.scalar(select(Supplier).where(Supplier.code == value))
    if found is None:
        matches = db.session.scalars(select(Supplier).where(
            func.lower(Supplier.name) == value.lower())).all()
        if len(matches) > 1:
            raise RequestError(409, "ambiguous_supplier", f"Several suppliers are called "
                               f"{value}: give the supplier's code.", field="supplier")
        found = matches[0] if matches else None
    if found is None:
        found = Supplier(code=_code_from_name(value), name=value)
        db.session.add(found)  # committed with the order that names it
    return found
