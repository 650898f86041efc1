"""Models for the supplier's lists of expected serials (POST /api/purchase-orders/<number>/
expected), what a purchase order shows of them, the receiving report, and the transaction
data of one unit. Validated and published in /api/openapi.json like the rest (api/spec.py);
answers allow extra keys, as in api/schemas.py."""
from typing import Annotated, Any, Literal

from pydantic import Field
from spectree.model_adapter.pydantic_adapter import BaseFile

from .. import epcis
from .schemas import Body, Open, Order, Query

Short = Annotated[str, Field(max_length=200)]


class AttachForm(Body):
    file: BaseFile = Field(description=(
        "The supplier's list: a CSV (columns sku or gtin, serial, lot, expiry, and optionally "
        "case, an SSCC), an EPCIS 1.2 XML document, or an EPCIS 2.0 JSON-LD (or XML) "
        f"document. At most {epcis.MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."))


class Shipment(Open):
    id: int
    purchase_order: str
    format: str = Field(description="csv, epcis-1.2-xml, epcis-2.0-xml or epcis-2.0-jsonld.")
    filename: str
    sha256: str
    size: int
    units: int
    shipped_at: str | None = Field(None, description="The shipping event's time (UTC).")
    attached_at: str
    document_url: str = Field(description="GET it for the document as it came.")


class AttachResult(Open):
    shipment: Shipment
    expected: int = Field(description="Units this document lists.")
    cases: int = Field(description="Cases (SSCC) it lists.")
    by_product: list[dict[str, Any]]
    warnings: list[str] = Field(description="What receiving will refuse or not know "
                                            "(more listed than ordered, an empty case).")


class ExpectedUnit(Open):
    sku: str
    gtin: str | None = None
    serial: str
    lot: str | None = None
    expiry: str | None = None
    case: str | None = Field(None, description="The SSCC of the case holding it.")


class SuspectUnit(ExpectedUnit):
    status: str
    location: str | None = None
    reason: str
    at: str


class ExpectedSummary(Open):
    listed: bool = Field(description="Whether any supplier's list is attached.")
    expected: int = Field(description="Units the lists name.")
    received: int = Field(description="Of those, received on this order.")
    missing: int = Field(description="Of those, not received (yet).")
    suspect: int = Field(description="Units received that the lists do not vouch for: in "
                                     "quarantine.")
    cases: int
    cases_opened: int
    missing_serials: list[ExpectedUnit]
    suspect_serials: list[SuspectUnit]
    shipments: list[Shipment]


class PurchaseOrder(Order):
    expected_serials: ExpectedSummary | None = Field(
        None, description="What the supplier's lists say: expected, received, missing, "
                          "suspect (listings leave it out).")


class ReportQuery(Query):
    format: Literal["json", "csv"] | None = Field(None, description="csv: a CSV download.")


class ReceivingReport(Open):
    purchase_order: str
    summary: ExpectedSummary
    rows: list[dict[str, Any]] = Field(description="Every expected unit (received or "
                                                   "missing), then every suspect one.")


class TransactionQuery(Query):
    gtin: Annotated[str, Field(max_length=14)] | None = None
    sku: Annotated[str, Field(max_length=64)] | None = None
    serial: Annotated[str, Field(max_length=100)] | None = None
    q: Short | None = Field(None, description="Instead: one scanned code holding GTIN and "
                                              "serial (GS1, Digital Link, SGTIN EPC URI).")


class TransactionMatch(Open):
    shipment: Shipment
    transaction_information: dict[str, Any] = Field(description=(
        "Product, SKU, GTIN, NDC (US drugs), serial, lot, expiry, quantity in the shipment, "
        "transaction date, purchase order, seller and buyer."))
    transaction_statement: str | None = None
    received: dict[str, Any] | None = None


class TransactionData(Open):
    asked: dict[str, Any]
    matches: list[TransactionMatch]


class NoQuery(Query):
    pass
