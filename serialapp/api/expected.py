"""The supplier's lists on a purchase order: attach one (CSV or EPCIS), the receiving
report, the shipment's document as it came, and a unit's transaction data."""
from functools import wraps

from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import epcis
from ..auth import api_user, require_role
from ..errors import RequestError
from ..idempotency import idempotent
from ..inventory import Actor, by_key
from ..inventory import expected
from ..lifecycle import SETUP_ROLE
from ..models import PurchaseOrder
from ..records import shipments
from . import bp, expected_schemas as xs
from .resources import csv_response
from .spec import body, query, validated

# A multipart body's envelope around the file: boundaries and the part's headers.
FORM_SLACK = 64 * 1024


def _too_large() -> RequestError:
    error = epcis.too_large()
    return RequestError(error.status, error.code, error.message)


def document_sized(view):
    """Refuse a body larger than the largest document before any of it is read or parsed
    (413 with a sentence), whether it says its length or not."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        limit = epcis.MAX_DOCUMENT_BYTES + FORM_SLACK
        if request.content_length is not None and request.content_length > limit:
            raise _too_large()
        request.max_content_length = limit
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge:
            raise _too_large() from None
    return wrapper


def _po(number) -> PurchaseOrder:
    return by_key(PurchaseOrder.number, number, "key", "purchase order", "unknown_order",
                  required=True)


def attach_upload(po: PurchaseOrder, upload) -> dict:
    if upload is None:
        raise RequestError(400, "missing_field", "Send the document as the multipart field "
                                                 "'file'.")
    data = upload.stream.read(epcis.MAX_DOCUMENT_BYTES + 1)
    if len(data) > epcis.MAX_DOCUMENT_BYTES:
        raise _too_large()
    user = api_user()
    return expected.attach(Actor(user.id, user.role), po, data, upload.filename or "")


@bp.post("/purchase-orders/<number>/expected")
@document_sized
@idempotent
@require_role(SETUP_ROLE)
@validated(form=xs.AttachForm, ok=201, resp=xs.AttachResult, errors=(404, 409, 413, 415, 422),
           tags=("purchase-orders",))
def attach_expected(number):
    """Attach the supplier's list of the serials it shipped (manager): a CSV, an EPCIS 1.2
    XML or an EPCIS 2.0 JSON-LD document, as multipart field `file`. Receiving on the order
    then checks each unit against it. All or nothing: any unit the document cannot vouch
    for (an unknown GTIN, a product not on the order, a serial listed twice) is a 4xx
    naming it, and nothing is attached."""
    po = _po(number)
    return attach_upload(po, body().get("file")), 201


@bp.get("/purchase-orders/<number>/receiving-report")
@require_role("picker")
@validated(query=xs.ReportQuery, resp=xs.ReceivingReport, errors=(404,),
           tags=("purchase-orders",))
def receiving_report(number):
    """Every unit the supplier's lists name, received or missing, and every suspect one
    with its reason; `format=csv` downloads it."""
    po = _po(number)
    if query().get("format") == "csv":
        return csv_response(shipments.report_csv(po), f"receiving-{po.number}.csv")
    return {"purchase_order": po.number, "summary": shipments.summary(po),
            "rows": list(shipments.report_rows(po))}


@bp.get("/shipments/<int(min=1,max=2147483647):shipment_id>/document")
@require_role(SETUP_ROLE)
@validated(query=xs.NoQuery, errors=(404,), tags=("transactions",))
def shipment_document(shipment_id):
    """The shipment's document, byte for byte as it was attached (manager)."""
    shipment = shipments.shipment_or_404(shipment_id)
    return Response(shipment.document, mimetype=shipment.media_type, headers={
        "Content-Disposition": f"attachment; filename={shipments.download_name(shipment)}",
        "X-Content-SHA256": shipment.sha256})


@bp.get("/transactions")
@require_role(SETUP_ROLE)
@validated(query=xs.TransactionQuery, resp=xs.TransactionData, tags=("transactions",))
def transactions():
    """The transaction data of one unit, by its product identifier: `gtin` and `serial`
    (or `sku` and `serial`, or `q`, one scanned code). Per shipment that listed it: the
    transaction information, the transaction statement and a link to the document
    (manager)."""
    return shipments.transaction_data(**query())

