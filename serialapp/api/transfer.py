"""POST /api/import/<kind>: a CSV file of serials (opening stock), products, customers,
suppliers, purchase_orders or sales_orders (a row per order line)."""
from flask import request

from .. import importing
from ..auth import api_user, require_role
from ..errors import RequestError
from ..idempotency import idempotent
from ..lifecycle import SETUP_ROLE
from . import bp, schemas
from .spec import body, validated


def _rows(checked: importing.Checked) -> dict:
    return {"kind": checked.kind, "good": checked.good,
            "refused": len(checked.rows) - checked.good,
            "rows": [{"line": r.line, "ok": r.ok, "message": r.message} for r in checked.rows]}


@bp.post("/import/<kind>")
@idempotent
@require_role(SETUP_ROLE)
@validated(form=schemas.ImportForm, resp=schemas.ImportResult, errors=(404, 413, 415, 422),
           tags=("import",))
def import_file(kind):
    """Import a CSV file: kind `serials` (opening stock), `products`, `customers`,
    `suppliers`, `purchase_orders` or `sales_orders` (a row per order line).

    multipart `file`; `check=true` only checks each row and changes nothing."""
    fields = body()
    upload = request.files.get("file")
    if upload is None:
        raise RequestError(400, "missing_field", "Send the CSV file as multipart field 'file'.")
    data = upload.read()
    if fields.get("check"):
        return _rows(importing.check(data, kind))
    user = api_user()
    return _rows(importing.apply(data, kind, user.id, user.role))
