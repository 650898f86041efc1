"""Products: SKU, name, GTIN, serial pattern, case rule, warranty, free attributes."""
from sqlalchemy import func, select

from .. import identifiers, serials
from ..errors import RequestError, bad_request
from ..extensions import db
from ..models import Product, Serial
from .fields import MAX_WARRANTY_DAYS, commit, only_known, require_object, save, text, whole

# The attributes the product form asks for by name; any others are kept as typed.
ATTRIBUTE_NAMES = ("manufacturer", "importer", "model", "type", "caliber")
EDITABLE = {"sku", "name", "gtin", "serial_pattern", "warranty_days", "serials_case_sensitive",
            "attributes"}


def _gtin(data: dict, product_id: int | None) -> str | None:
    gtin = text(data, "gtin", max_len=14)
    if gtin is None:
        return None
    normal = identifiers.normalize_gtin(gtin)
    if normal is None:
        raise bad_request(f"GTIN {gtin} is not valid (8, 12, 13 or 14 digits with the right "
                          "check digit).", "invalid_gtin", "gtin")
    other = db.session.scalar(select(Product.id).where(Product.gtin == normal))
    if other and other != product_id:
        raise RequestError(409, "already_exists", f"Another product has GTIN {normal}.",
                           field="gtin")
    return normal


def _pattern(data: dict) -> str | None:
    pattern = text(data, "serial_pattern")
    if pattern is not None:
        try:
            identifiers.validate_serial_pattern(pattern)
        except identifiers.IdentifierError as exc:
            raise bad_request(str(exc), "invalid_pattern", "serial_pattern") from None
    return pattern


def _attributes(data: dict) -> dict:
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise bad_request("Field 'attributes' must be an object.", "invalid_field", "attributes")
    return {str(k).strip(): v for k, v in attributes.items()
            if str(k).strip() and v not in (None, "")}


def _case_rule(data: dict, gtin, pattern) -> bool:
    case_sensitive = data.get("serials_case_sensitive")
    if case_sensitive is None:
        case_sensitive = serials.default_case_sensitive(gtin, pattern)
    if not isinstance(case_sensitive, bool):
        raise bad_request("Say whether serials are case-sensitive with true or false "
                          "(field 'serials_case_sensitive').", "invalid_field",
                          "serials_case_sensitive")
    return case_sensitive


def create_product(data) -> Product:
    data = require_object(data)
    sku = text(data, "sku", required=True, max_len=64)
    gtin = _gtin(data, None)
    pattern = _pattern(data)
    product = Product(sku=sku, name=text(data, "name", required=True), gtin=gtin,
                      serial_pattern=pattern, warranty_days=whole(data, "warranty_days", 0,
                                                         maximum=MAX_WARRANTY_DAYS),
                      serials_case_sensitive=_case_rule(data, gtin, pattern),
                      attributes=_attributes(data))
    return save(product, "Product", sku, "sku")


def update_product(product: Product, data) -> Product:
    """Change what was sent; the SKU stays (labels, orders and other systems name it)."""
    data = require_object(data)
    only_known(data, EDITABLE)
    if "sku" in data and str(data["sku"]).strip() != product.sku:
        raise bad_request("A product's SKU cannot be changed: make a new product instead.",
                          "invalid_field", "sku")
    if "name" in data:
        product.name = text(data, "name", required=True)
    if "gtin" in data:
        product.gtin = _gtin(data, product.id)
    if "serial_pattern" in data:
        product.serial_pattern = _pattern(data)
    if "warranty_days" in data:
        product.warranty_days = whole(data, "warranty_days", 0, maximum=MAX_WARRANTY_DAYS)
    if "attributes" in data:
        product.attributes = _attributes(data)
    if "serials_case_sensitive" in data:
        rule = _case_rule(data, product.gtin, product.serial_pattern)
        if rule != product.serials_case_sensitive and db.session.scalar(
                select(func.count()).select_from(Serial).where(Serial.product_id == product.id)):
            # Each serial's lookup key was written with the old rule (serials.key).
            raise RequestError(409, "has_serials", f"{product.sku} already has serials, so "
                               "its letter-case rule cannot change.",
                               field="serials_case_sensitive")
        product.serials_case_sensitive = rule
    commit()
    return product
