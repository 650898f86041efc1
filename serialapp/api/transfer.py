"""POST /api/import/<kind>: a CSV file of serials (opening stock), products or customers."""
from flask import request

from .. import importing
from ..auth import api_user, require_role
from ..errors import RequestError
from ..idempotency import idempotent
from ..lifecycle import SETUP_ROLE
from . import bp


def _rows(checked: importing.Checked) -> dict:
    return {"kind": checked.kind, "good": checked.good,
            "refused": len(checked.rows) - checked.good,
            "rows": [{"line": r.line, "ok": r.ok, "message": r.message} for r in checked.rows]}


@bp.post("/import/<kind>")
@idempotent
@require_role(SETUP_ROLE)
def import_file(kind):
    """multipart `file`; `check=true` only checks each row and changes nothing."""
    upload = request.files.get("file")
    if upload is None:
        raise RequestError(400, "missing_field", "Send the CSV file as multipart field 'file'.")
    data = upload.read()
    if request.form.get("check", "").lower() in ("1", "true", "yes"):
        return _rows(importing.check(data, kind))
    user = api_user()
    return _rows(importing.apply(data, kind, user.id, user.role))
