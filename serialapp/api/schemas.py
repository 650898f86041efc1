"""The API's request and response bodies as pydantic models: the one description that both
validates each request (api/spec.py) and is published as GET /api/openapi.json.

Request models are strict: a string where a boolean or a number goes is refused, not
guessed at ("false" is truthy in Python), and so is a field the endpoint doesn't have (a
misspelt `purchase_ordr` would otherwise receive stock against no order). Lengths follow
the database columns and the serial text rules; numbers have ranges that fit PostgreSQL's
32-bit integers. Rules that need the database (does that SKU exist, is the order open)
stay in the service layer, which answers with its own codes.

Response models document the answer; they allow extra keys so the docs never make a
working answer fail."""
from typing import Annotated, Any, Literal, Optional

from pydantic import (BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema,
                      create_model)
from spectree.model_adapter.pydantic_adapter import BaseFile

from .. import lifecycle
from ..jsonsafe import MAX_DEPTH  # noqa: F401  (documented in docs/api.md with the rules)

# -------------------------------------------------------------------- field types

Key = Annotated[str, Field(min_length=1, max_length=64)]        # SKU, codes, order numbers
Name = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=1000)]
Lot = Annotated[str, Field(max_length=40)]                      # serials.lot is VARCHAR(40)
# A scanned text, not yet a serial: it may be a GS1 element string carrying GTIN, serial, lot
# and expiry, so it may be longer than a serial (64, serials.py, checked per serial with
# its own `invalid_serial` result). Past 100 characters it is no scan of a label.
ScanText = Annotated[str, Field(max_length=100)]
Source = Literal[lifecycle.SOURCES]  # type: ignore[valid-type]
Qty = Annotated[int, Field(ge=1, le=1_000_000)]
WarrantyDays = Annotated[int, Field(ge=0, le=36_500)]           # up to 100 years


def _attribute_value(value):
    if value is None or isinstance(value, (bool, int, float)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 53:
            raise ValueError("is too large a number")
        return value
    if isinstance(value, str):
        if len(value) > 200:
            raise ValueError("is longer than 200 characters")
        return value
    raise ValueError("must be text, a number, true/false or null")


# A product's free attributes (manufacturer, caliber...): flat values, as the form shows them.
AttributeValue = Annotated[Any, PlainValidator(_attribute_value), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "number"},
               {"type": "boolean"}, {"type": "null"}]})]
Attributes = Annotated[dict[Annotated[str, Field(max_length=64)], AttributeValue],
                       Field(max_length=100)]
Serials = Annotated[list[ScanText], Field(
    description="Scanned texts: serials, GS1 element strings, IMEI, VIN, product barcodes. "
                f"At most {1000} per request (more answers 400 `too_many`).")]
Images = Annotated[list[BaseFile], Field(description="Photos (JPEG, PNG, WebP, HEIC), "
                                                     "at most 10.")]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    # Query values arrive as text: numbers are read from it (lax), unknown names refused.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -------------------------------------------------------------------- resources

class ProductEdit(Body):
    sku: Key | None = Field(None, description="Must stay the same: a SKU cannot change.")
    name: Name | None = None
    gtin: Annotated[str, Field(max_length=14)] | None = Field(
        None, description="GTIN-8/12/13/14 with its check digit; stored as GTIN-14.")
    serial_pattern: Name | None = Field(
        None, description="`imei`, `vin`, `gs1`, a regular expression, or a template "
                          "such as `OWN-{seq:06}`.")
    warranty_days: WarrantyDays | None = None
    serials_case_sensitive: bool | None = None
    attributes: Attributes | None = None


class ProductCreate(ProductEdit):
    sku: Key
    name: Annotated[Name, Field(min_length=1)]


class LocationEdit(Body):
    code: Key | None = Field(None, description="Must stay the same: it is on the label.")
    name: Name | None = None
    kind: Literal[lifecycle.LOCATION_KINDS] | None = None  # type: ignore[valid-type]
    pickable: bool | None = Field(None, description="Default: true for storage only.")


class LocationCreate(LocationEdit):
    code: Key


class PartyEdit(Body):
    code: Key | None = Field(None, description="Must stay the same.")
    name: Name | None = None
    contact: Name | None = None
    email: Name | None = None
    phone: Key | None = None
    address: LongText | None = None
    licence: Key | None = Field(None, description="A licence number, e.g. an FFL.")


class PartyCreate(PartyEdit):
    code: Key
    name: Annotated[Name, Field(min_length=1)]


class OrderLine(Body):
    sku: Key
    qty: Qty


class PurchaseOrderCreate(Body):
    number: Key
    supplier: Annotated[Name, Field(min_length=1, description=(
        "A supplier's code or name; an unknown name makes a new supplier."))]
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=1000)]


class SalesOrderCreate(Body):
    number: Key
    customer: Key = Field(description="The customer's code.")
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=1000)]


class ListQuery(Query):
    pass


class CsvListQuery(Query):
    format: Literal["json", "csv"] | None = Field(None, description="csv: a CSV download.")


class PurchaseOrderListQuery(Query):
    status: Literal[lifecycle.PO_STATUSES] | None = None  # type: ignore[valid-type]


class SalesOrderListQuery(CsvListQuery):
    status: Literal[lifecycle.ORDER_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="Only orders in this status.")


class SerialListQuery(Query):
    sku: Key | None = None
    status: Literal[lifecycle.STATUSES] | None = None  # type: ignore[valid-type]
    location: Key | None = Field(None, description="A location's code.")
    lot: Lot | None = Field(None, description="Every unit of a lot (a recall by lot).")
    page: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    format: Literal["json", "csv"] | None = Field(
        None, description="csv: every match as a CSV download, not paged.")


class SerialQuery(Query):
    sku: Key | None = Field(None, description="Which product, when two share the number.")


class SearchQuery(Query):
    q: Annotated[str, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] | None = None


# -------------------------------------------------------------------- actions

class ActionBase(Body):
    source: Source | None = Field(None, description="Recorded on each event; default "
                                                    "`manual`, or `photo` with images.")
    expect: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="With images: how many codes a photo holds (a case label).")


class Receive(ActionBase):
    location: Key
    purchase_order: Key | None = None
    sku: Key | None = None
    lot: Lot | None = None
    expiry: Annotated[str, Field(max_length=10)] | None = Field(None, description="YYYY-MM-DD")
    serials: Serials | None = None
    generate: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="Instead of serials: mint N new serials from the product's "
                          "template.")
    open_case: bool | None = Field(
        None, description="With a scanned case (SSCC) a shipment document lists: receive "
                          "every pack inside it. Without it, the answer's `cases` lists the "
                          "packs and nothing is received.")


class Move(ActionBase):
    location: Key
    serials: Serials | None = None
    sku: Key | None = None


class Pick(ActionBase):
    order: Key
    serials: Serials | None = None
    sku: Key | None = None


class Unpick(Pick):
    location: Key


class Ship(ActionBase):
    order: Key
    partial: bool | None = Field(None, description="Ship what is picked of an order that "
                                                   "is not fully picked.")
    form_4473: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="The ATF Form 4473 transaction number of this transfer, written in "
                          "the bound book's disposition entry of each book item shipped.")


class Return(ActionBase):
    serials: Serials | None = None
    sku: Key | None = None
    reason: Annotated[Name, Field(min_length=1)]
    disposition: Literal["restock", "quarantine", "scrap"]
    location: Key | None = Field(None, description="Needed to restock.")


class SetAside(ActionBase):
    serials: Serials | None = None
    sku: Key | None = None
    location: Key | None = None
    reason: Name | None = None


def with_images(model: type[Body]) -> type[Body]:
    """The multipart form of an action: the same fields, plus `image` files."""
    return create_model(model.__name__ + "Form", __base__=model,
                        __doc__=f"{model.__name__} as multipart/form-data, with photos.",
                        image=(Optional[Images], None))


class DecodeForm(Body):
    image: Images
    mode: Literal["photo", "frame"] | None = Field(
        None, description="frame: a live camera frame, one fast read.")
    expect: Annotated[int, Field(ge=1, le=100)] | None = None


class ImportForm(Body):
    file: BaseFile = Field(description="The CSV file.")
    check: bool | None = Field(None, description="true: check each row, change nothing.")


# -------------------------------------------------------------------- responses

class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable code: unknown_sku, invalid_field...")
    message: str = Field(description="Why, in plain words.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Product(Open):
    sku: str
    name: str
    gtin: str | None
    serial_pattern: str | None
    warranty_days: int
    serials_case_sensitive: bool
    attributes: dict[str, Any]
    on_hand: int | None = None
    available: int | None = Field(None, description="In stock at pickable locations.")
    by_location: dict[str, int] | None = None
    by_status: dict[str, int] | None = None


class Location(Open):
    code: str
    name: str | None
    kind: str
    pickable: bool


class Party(Open):
    code: str
    name: str
    contact: str | None
    email: str | None
    phone: str | None
    address: str | None
    licence: str | None
    serials: list[dict[str, Any]] | None = Field(None, description="Customers: every unit "
                                                 "held, with order, ship date, warranty.")


class Order(Open):
    number: str
    status: str
    lines: list[dict[str, Any]]


class ProductList(Open):
    products: list[Product]


class LocationList(Open):
    locations: list[Location]


class CustomerList(Open):
    customers: list[Party]


class SupplierList(Open):
    suppliers: list[Party]


class PurchaseOrderList(Open):
    purchase_orders: list[Order]


class SalesOrderList(Open):
    sales_orders: list[Order]


class SerialSummary(Open):
    serial: str
    sku: str
    status: str
    location: str | None = None
    lot: str | None = None


class SerialPage(Open):
    serials: list[SerialSummary]
    page: int
    per_page: int
    total: int
    pages: int


class Serial(SerialSummary):
    history: list[dict[str, Any]] = Field(description="Every event, oldest first.")


class StepResult(Open):
    serial: str
    ok: bool
    sku: str | None = None
    status: str | None = None
    error: ErrorDetail | None = Field(None, description="Why this one serial was refused.")
    suspect: bool | None = Field(None, description="Received into quarantine: the supplier's "
                                                   "list does not vouch for it (`reason`).")
    reason: str | None = None


class ActionResult(Open):
    results: list[StepResult]
    ignored: list[dict[str, Any]] | None = None
    decoded: list[dict[str, Any]] | None = Field(None, description="With images: every "
                                                 "code read, with its corners.")
    cases: list[dict[str, Any]] | None = Field(None, description="Scanned cases (SSCC) a "
                                               "shipment document lists, with their packs.")


class Decoded(Open):
    codes: list[dict[str, Any]]


class SearchResult(Open):
    exact: dict[str, Any] | None = None


class ImportResult(Open):
    kind: str
    good: int
    refused: int
    rows: list[dict[str, Any]]


class OpenAPIDocument(Open):
    openapi: str
    paths: dict[str, Any]
