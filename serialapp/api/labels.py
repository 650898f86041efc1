"""Printable labels: one serial's label (PNG, SVG, PDF, ZPL) and sheets of labels for a batch
(the serials just minted by `receive` with `generate`, or all those of a purchase order).
Drawing is records/labels.py; this module finds the units and picks the writer."""
from typing import Annotated, Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import queries
from ..auth import require_role
from ..errors import RequestError, bad_request
from ..extensions import db
from ..models import Product, PurchaseOrder, Serial
from ..records import labels
from . import bp
from .spec import query, validated

# A sheet request is drawn while the client waits: 1,000 labels is 34 Letter pages of ZPL,
# more than one print run, and still well under a second to draw.
MAX_LABELS = 1000
Key = Annotated[str, Field(min_length=1, max_length=64)]
Dpi = Annotated[int, Field(ge=100, le=600, description="Printer resolution (203 thermal).")]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LabelQuery(_Query):
    sku: Key | None = Field(None, description="Which product, when two share the number.")
    dpi: Dpi | None = None


class LabelsQuery(_Query):
    serials: Annotated[str, Field(max_length=70_000)] | None = Field(
        None, description="Serials separated by commas (e.g. those `receive` just minted).")
    purchase_order: Key | None = Field(None, description="Every serial received on it.")
    sku: Key | None = Field(None, description="The product of the serials, when shared.")
    format: Literal["png", "svg", "pdf", "zpl"] | None = Field(
        None, description="png (default); pdf holds every page, zpl every label.")
    sheet: Literal["a4", "letter", "single"] | None = Field(
        None, description="a4 (3x8), letter (3x10) or single 2\"x1\" labels (default).")
    page: Annotated[int, Field(ge=1, le=MAX_LABELS)] | None = Field(
        None, description="Which page of a PNG or SVG sheet (one label each for single).")
    dpi: Dpi | None = None


def _label(unit: Serial) -> labels.Label:
    p = unit.product
    return labels.Label(unit.serial, p.sku, p.name, p.gtin, unit.lot, unit.expiry)


def _one(text: str, sku: str | None) -> Serial:
    found = queries.lookup_serials(text, sku)
    if not found:
        raise RequestError(404, "unknown_serial", f"Serial {text} is not known here.")
    if len(found) > 1:
        skus = ", ".join(sorted(s.product.sku for s in found))
        raise RequestError(409, "ambiguous_serial",
                           f"Serial {text} exists for several products ({skus}); add ?sku=.")
    return found[0]


def _file(data, mimetype: str, name: str) -> Response:
    r = Response(data, mimetype=mimetype)
    # inline: a browser shows it (and prints it); the name is what "save as" offers.
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    r.headers["Content-Disposition"] = f'inline; filename="{safe}"'
    return r


def _single(text: str, fmt: str) -> Response:
    args = query()
    label = _label(_one(text, args.get("sku")))
    dpi = args.get("dpi", labels.THERMAL_DPI)
    drawing = labels.draw(label, labels.SINGLE, dpi)
    if fmt == "png":
        return _file(labels.png_bytes(labels.image(drawing), dpi), "image/png", f"{text}.png")
    if fmt == "svg":
        return _file(labels.svg(drawing), "image/svg+xml", f"{text}.svg")
    if fmt == "pdf":
        return _file(labels.pdf_bytes([labels.image(drawing)], dpi), "application/pdf",
                     f"{text}.pdf")
    return _file(labels.zpl(label, labels.SINGLE, dpi), "text/plain", f"{text}.zpl")


# The label routes come before GET /serials/<serial> in the map by their longer static
# tail; a serial that itself ends in "/label.png" is still reachable as ?sku= on that route.
for _fmt, _doc in (("png", "A serial's 2\"x1\" label as PNG (Code 128, or GS1 DataMatrix "
                            "when its product has a GTIN)."),
                   ("svg", "The same label as SVG, sized 2in x 1in."),
                   ("pdf", "The same label as a PDF page of 2in x 1in."),
                   ("zpl", "The same label as ZPL II (^XA...^XZ) for a Zebra printer.")):
    def _view(text, fmt=_fmt):
        return _single(text, fmt)
    _view.__doc__ = _doc
    _view.__name__ = f"serial_label_{_fmt}"
    bp.get(f"/serials/<serial:text>/label.{_fmt}", endpoint=f"serial_label_{_fmt}",
           merge_slashes=False)(require_role("picker")(
               validated(query=LabelQuery, errors=(404, 409), tags=("labels",))(_view)))


def batch(args: dict) -> list[labels.Label]:
    """The labels a sheet request names, in the order given (or received)."""
    if bool(args.get("serials")) == bool(args.get("purchase_order")):
        raise bad_request("Give serials (separated by commas) or a purchase_order.",
                          "missing_field", "serials")
    if args.get("purchase_order"):
        po = db.session.scalar(select(PurchaseOrder).where(
            PurchaseOrder.number == args["purchase_order"]))
        if po is None:
            raise RequestError(404, "unknown_order",
                               f"There is no purchase order {args['purchase_order']}.")
        found = select(Serial).options(joinedload(Serial.product)).where(
            Serial.purchase_order_id == po.id).order_by(Serial.id).limit(MAX_LABELS + 1)
        if args.get("sku"):
            found = found.join(Serial.product).where(Product.sku == args["sku"])
        units = list(db.session.scalars(found).unique())
    else:
        texts = [t.strip() for t in args["serials"].split(",") if t.strip()]
        if not texts:
            raise bad_request("serials is empty.", "missing_field", "serials")
        if len(texts) > MAX_LABELS:
            raise bad_request(f"At most {MAX_LABELS} labels at once.", "invalid_field",
                              "serials")
        units = [_one(t, args.get("sku")) for t in texts]
    if len(units) > MAX_LABELS:
        raise bad_request(f"That is more than {MAX_LABELS} labels: print the order by SKU.",
                          "invalid_field", "purchase_order")
    if not units:
        raise RequestError(404, "unknown_serial", "No serials were received on that order.")
    return [_label(u) for u in units]


@bp.get("/labels")
@require_role("picker")
@validated(query=LabelsQuery, errors=(404, 409), tags=("labels",))
def label_sheet():
    """Labels for a batch: ZPL or PDF for all of them, or one page (?page=) of an A4 or
    Letter sheet, or of single 2"x1" labels, as PNG or SVG. The page count is in X-Pages."""
    args = query()
    batch_labels = batch(args)
    fmt, sheet = args.get("format", "png"), args.get("sheet", "single")
    if fmt == "zpl":  # a thermal printer takes the whole run in one file
        dpi = args.get("dpi", labels.THERMAL_DPI)
        return _file("".join(labels.zpl(lb, labels.SINGLE, dpi) for lb in batch_labels),
                     "text/plain", "labels.zpl")
    per = 1 if sheet == "single" else labels.per_page(sheet)
    pages = -(-len(batch_labels) // per)
    if fmt == "pdf":  # every page in one file, each at its paper's size
        if sheet == "single":
            dpi = args.get("dpi", labels.THERMAL_DPI)
            images = [labels.image(labels.draw(lb, labels.SINGLE, dpi)) for lb in batch_labels]
        else:
            dpi = args.get("dpi", 300)
            images = [labels.sheet_page(batch_labels[n:n + per], sheet, dpi)
                      for n in range(0, len(batch_labels), per)]
        r = _file(labels.pdf_bytes(images, dpi), "application/pdf", f"labels-{sheet}.pdf")
        r.headers["X-Pages"] = str(pages)
        return r
    page = args.get("page", 1)
    if page > pages:
        raise bad_request(f"There are {pages} pages.", "invalid_field", "page")
    chunk = batch_labels[(page - 1) * per: page * per]
    if sheet == "single":
        dpi = args.get("dpi", labels.THERMAL_DPI)
        drawing = labels.draw(chunk[0], labels.SINGLE, dpi)
        r = (_file(labels.png_bytes(labels.image(drawing), dpi), "image/png", "label.png")
             if fmt == "png" else _file(labels.svg(drawing), "image/svg+xml", "label.svg"))
    else:
        dpi = args.get("dpi", 300)
        r = (_file(labels.png_bytes(labels.sheet_page(chunk, sheet, dpi), dpi), "image/png",
                   f"labels-{sheet}-{page}.png") if fmt == "png"
             else _file(labels.sheet_svg(chunk, sheet), "image/svg+xml",
                        f"labels-{sheet}-{page}.svg"))
    r.headers["X-Pages"] = str(pages)
    return r
