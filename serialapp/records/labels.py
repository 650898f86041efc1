"""Printable labels for serials: one drawing, written as PNG, SVG, PDF or ZPL.

The symbol is chosen per unit:
- a GS1 DataMatrix carrying (01) GTIN, (21) serial, (10) lot and (17) expiry when the
  product has a GTIN and the serial and lot fit GS1's rules (AI 21 and 10: at most 20
  characters of GS1's 82-character set), since that is what pharmacy and retail scanners
  read, and our own scan pages interpret it back to product + serial (§4);
- otherwise a Code 128 of the serial, the symbol every handheld reads;
- a plain DataMatrix when Code 128 cannot carry the serial (non-ASCII text) or would be too
  wide for the label at one dot per module.

The bars are zxing-cpp's (the same library the scan pages decode with): we take its module
matrix and lay it out ourselves, so PNG and SVG are the same geometry, scaled to whole dots
(a thermal printer cannot print half a dot, and a bar rounded differently on each edge is
what makes a Code 128 unreadable).

Pure: no Flask, no database."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from xml.sax.saxutils import escape

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

# GS1 General Specifications, figure 7.11-1 ("character set 82"): what AI 21 and AI 10 take,
# less "(" and ")": zxing's GS1 writer reads its input in the "(01)..." form, where a
# parenthesis inside a value would be taken for the next AI. Such units get a Code 128.
_GS1_82 = re.compile(r"[!\"%&'*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_FONT_FILES = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
               "LiberationSans-Regular.ttf")
FONT_FAMILY = "DejaVu Sans, Arial, Helvetica, sans-serif"

# Label stock: (width, height) in inches. 2"x1" is the common direct-thermal roll.
SINGLE = (2.0, 1.0)
THERMAL_DPI = 203


@dataclass(frozen=True)
class Label:
    serial: str
    sku: str
    name: str = ""
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None


@dataclass
class Symbol:
    kind: str  # "gs1-datamatrix", "code128" or "datamatrix"
    content: str  # what a scanner reads back (GS1 in its "(01)..." human-readable form)
    barcode: zxingcpp.Barcode
    modules: np.ndarray  # True = dark, one cell per module (one row for Code 128)


@dataclass
class Drawing:
    """A label laid out in printer dots: dark rectangles and text lines."""
    width: int
    height: int
    dpi: int
    symbol: Symbol
    bars: list[tuple[int, int, int, int]] = field(default_factory=list)  # x, y, w, h
    texts: list[tuple[int, int, int, str]] = field(default_factory=list)  # x, baseline, px, text


def gs1_elements(label: Label) -> list[tuple[str, str]] | None:
    """The GS1 elements (AI, value) for the label, or None when the unit cannot carry them."""
    if not label.gtin or not _GS1_82.fullmatch(label.serial):
        return None
    gtin = label.gtin.zfill(14)
    if not re.fullmatch(r"[0-9]{14}", gtin):
        return None
    parts = [("01", gtin)]
    # (17) and (10) before (21) keep the fixed-length AI first, as GS1 recommends; lot and
    # serial are variable-length, and the writer adds the FNC1 separators between them.
    if label.expiry:
        parts.append(("17", f"{label.expiry:%y%m%d}"))
    if label.lot:
        if not _GS1_82.fullmatch(label.lot):
            return None
        parts.append(("10", label.lot))
    parts.append(("21", label.serial))
    return parts


def gs1_content(label: Label) -> str | None:
    """The GS1 element string in its human-readable form, "(01)...(21)..."."""
    elements = gs1_elements(label)
    return "".join(f"({ai}){value}" for ai, value in elements) if elements else None


def _matrix(barcode: zxingcpp.Barcode, linear: bool) -> np.ndarray:
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False))
    dark = image < 128
    return dark[:1] if linear else dark


def symbol(label: Label, max_modules: int | None = None) -> Symbol:
    """The symbol for a label; max_modules is how many Code 128 modules (quiet zones
    included) fit across the label, beyond which a DataMatrix is used."""
    gs1 = gs1_content(label)
    if gs1:
        code = zxingcpp.create_barcode(gs1, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
        return Symbol("gs1-datamatrix", gs1, code, _matrix(code, False))
    if label.serial.isascii():
        try:
            code = zxingcpp.create_barcode(label.serial, zxingcpp.BarcodeFormat.Code128)
        except Exception:  # noqa: BLE001 - zxing refuses what Code 128 cannot encode
            code = None
        if code is not None:
            modules = _matrix(code, True)
            if max_modules is None or modules.shape[1] + 20 <= max_modules:
                return Symbol("code128", label.serial, code, modules)
    # ECI UTF-8, so a reader gets "Ä" back rather than a guess at a Latin-1 byte.
    code = zxingcpp.create_barcode(label.serial, zxingcpp.BarcodeFormat.DataMatrix,
                                   **({} if label.serial.isascii() else {"eci": "UTF8"}))
    return Symbol("datamatrix", label.serial, code, _matrix(code, False))


@lru_cache(maxsize=32)
def _font(px: int):
    for name in _FONT_FILES:
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(px)


def _fit(text: str, px: int, width: int, smallest: int = 10) -> tuple[str, int]:
    """Shrink the type until the text fits the width, then cut it with an ellipsis."""
    while px > smallest and _font(px).getlength(text) > width:
        px -= 1
    if _font(px).getlength(text) <= width:
        return text, px
    while text and _font(px).getlength(text + "…") > width:
        text = text[:-1]
    return text + "…", px


def _runs(row: np.ndarray):
    """(start, length) of each dark run in a row of modules."""
    padded = np.concatenate(([False], row, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return zip(edges[::2], edges[1::2] - edges[::2])


def draw(label: Label, size: tuple[float, float] = SINGLE, dpi: int = THERMAL_DPI) -> Drawing:
    width, height = round(size[0] * dpi), round(size[1] * dpi)
    margin = max(4, dpi // 25)
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    sym = symbol(label, max_modules=inner_w)
    d = Drawing(width, height, dpi, sym)
    lines = [label.serial, label.sku + (f" · {label.name}" if label.name else "")]
    if sym.kind == "code128":
        modules = sym.modules.shape[1]
        unit = max(1, inner_w // (modules + 20))  # whole dots per module, quiet zones kept
        bar_h = int(inner_h * 0.6)
        left = margin + (inner_w - unit * modules) // 2
        for start, length in _runs(sym.modules[0]):
            d.bars.append((left + start * unit, margin, length * unit, bar_h))
        top, text_x, text_w = margin + bar_h, margin, inner_w
        sizes = (int(inner_h * 0.22), int(inner_h * 0.14))
    else:
        rows, cols = sym.modules.shape
        # A rectangular DataMatrix must leave at least half the width for the text.
        unit = max(1, min(inner_h // (rows + 2), (inner_w // 2) // (cols + 2)))
        for y, row in enumerate(sym.modules):
            for start, length in _runs(row):
                d.bars.append((margin + (start + 1) * unit, margin + (y + 1) * unit,
                               length * unit, unit))
        top, text_x = margin, margin + unit * (cols + 2) + margin
        text_w = width - margin - text_x
        if label.lot:
            lines.append(f"LOT {label.lot}")
        if label.expiry:
            lines.append(f"EXP {label.expiry.isoformat()}")
        sizes = (int(inner_h * 0.17),) + (int(inner_h * 0.12),) * 3
    # The serial is never cut (a person must be able to read it all when the bars are
    # damaged): when it does not fit one line at the smallest type, it wraps.
    fitted = []
    for n, (text, px) in enumerate(zip(lines, sizes)):
        text, px = _fit(text, px, text_w)
        if n == 0 and text != lines[0]:
            text, rest = lines[0], []
            while text:
                cut = len(text)
                while cut > 1 and _font(px).getlength(text[:cut]) > text_w:
                    cut -= 1
                rest.append(text[:cut])
                text = text[cut:]
            fitted.extend((part, px) for part in rest)
        else:
            fitted.append((text, px))
    y = top
    for text, px in fitted:
        y += int(px * 1.15)
        if y > height - margin // 2:
            break
        d.texts.append((text_x, y, px, text))
    return d


# ------------------------------------------------------------------ writers

def paste(page: Image.Image, drawing: Drawing, x: int, y: int) -> None:
    """Draw a label onto a page image (white assumed) at (x, y) dots."""
    pen = ImageDraw.Draw(page)
    for bx, by, bw, bh in drawing.bars:
        pen.rectangle((x + bx, y + by, x + bx + bw - 1, y + by + bh - 1), fill=0)
    for tx, ty, px, text in drawing.texts:
        pen.text((x + tx, y + ty), text, fill=0, font=_font(px), anchor="ls")


def image(drawing: Drawing) -> Image.Image:
    page = Image.new("L", (drawing.width, drawing.height), 255)
    paste(page, drawing, 0, 0)
    return page


def png_bytes(page: Image.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    page.save(out, "PNG", dpi=(dpi, dpi), optimize=False)
    return out.getvalue()


def pdf_bytes(pages: list[Image.Image], dpi: int) -> bytes:
    """Pages as one PDF, each page the size of its image at `dpi` (a 2"x1" label is a
    2in x 1in page, an A4 sheet an A4 page), so it prints at its true size. Each page is
    its image, bilevel (black or white, as a label printer prints) and compressed without
    loss (CCITT Group 4): no JPEG blur on the bars."""
    bilevel = [page.point(lambda v: 255 if v >= 128 else 0, "1") for page in pages]
    out = io.BytesIO()
    bilevel[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=bilevel[1:],
                    title="Labels", creator="serialapp")
    return out.getvalue()


def svg_body(drawing: Drawing) -> str:
    """The label's elements in dot units, for a <svg> or <g> whose box is the label."""
    parts = [f'<rect width="{drawing.width}" height="{drawing.height}" fill="#fff"/>',
             '<g fill="#000">']
    # One path for all the bars: a few hundred rects stay a small file, and
    # shape-rendering crispEdges keeps module edges on whole device pixels.
    path = "".join(f"M{x} {y}h{w}v{h}h{-w}z" for x, y, w, h in drawing.bars)
    parts.append(f'<path shape-rendering="crispEdges" d="{path}"/>')
    for x, y, px, text in drawing.texts:
        parts.append(f'<text x="{x}" y="{y}" font-size="{px}" font-family="{FONT_FAMILY}">'
                     f"{escape(text)}</text>")
    parts.append("</g>")
    return "".join(parts)


def svg(drawing: Drawing) -> str:
    """A standalone SVG with the label's physical size, so it prints at 2"x1"."""
    w_in, h_in = drawing.width / drawing.dpi, drawing.height / drawing.dpi
    label = escape(drawing.symbol.content, {'"': "&quot;"})
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w_in:g}in" height="{h_in:g}in" '
            f'viewBox="0 0 {drawing.width} {drawing.height}" role="img" '
            f'aria-label="Label {label}">' + svg_body(drawing) + "</svg>")


# ------------------------------------------------------------------ sheets

# (page width, height, columns, rows, label width, height, left, top, column gap, row gap)
# in inches: A4 with 3x8 labels of 70x37 mm (L7160-style), Letter with 3x10 of 2.625"x1"
# (5160-style), the two sheet stocks most offices keep.
SHEETS = {
    "a4": (8.2677, 11.6929, 3, 8, 2.7559, 1.4567, 0.0, 0.2953, 0.0, 0.0),
    "letter": (8.5, 11.0, 3, 10, 2.625, 1.0, 0.1875, 0.5, 0.125, 0.0),
}


def per_page(sheet: str) -> int:
    spec = SHEETS[sheet]
    return spec[2] * spec[3]


def sheet_page(labels: list[Label], sheet: str, dpi: int = 300) -> Image.Image:
    """One page of a sheet (at most per_page(sheet) labels), as an image."""
    pw, ph, cols, rows, lw, lh, left, top, gap_x, gap_y = SHEETS[sheet]
    page = Image.new("L", (round(pw * dpi), round(ph * dpi)), 255)
    for n, label in enumerate(labels[:cols * rows]):
        col, row = n % cols, n // cols
        paste(page, draw(label, (lw, lh), dpi),
              round((left + col * (lw + gap_x)) * dpi), round((top + row * (lh + gap_y)) * dpi))
    return page


def sheet_svg(labels: list[Label], sheet: str, dpi: int = 300) -> str:
    """The same page as sheet_page, as one SVG of the page's physical size."""
    pw, ph, cols, rows, lw, lh, left, top, gap_x, gap_y = SHEETS[sheet]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{pw:g}in" height="{ph:g}in" '
             f'viewBox="0 0 {round(pw * dpi)} {round(ph * dpi)}">']
    for n, label in enumerate(labels[:cols * rows]):
        col, row = n % cols, n // cols
        x = round((left + col * (lw + gap_x)) * dpi)
        y = round((top + row * (lh + gap_y)) * dpi)
        parts.append(f'<g transform="translate({x} {y})">'
                     + svg_body(draw(label, (lw, lh), dpi)) + "</g>")
    return "".join(parts) + "</svg>"


# ------------------------------------------------------------------ ZPL

def _zpl_text(text: str) -> str:
    """Field data with ^FH: every character ZPL could take for a command is hex-escaped."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in " -./:()+,"):
            out.append(ch)
        else:  # ^CI28 makes the printer read the bytes as UTF-8
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def zpl(label: Label, size: tuple[float, float] = SINGLE, dpi: int = THERMAL_DPI) -> str:
    """One label as ZPL II for a Zebra printer (^XA ... ^XZ), same choice of symbol."""
    d = draw(label, size, dpi)
    sym = d.symbol
    out = ["^XA", "^CI28", f"^PW{d.width}", f"^LL{d.height}", "^LH0,0"]
    margin = max(4, dpi // 25)
    if sym.kind == "code128":
        x, y, _, h = d.bars[0]
        unit = max(1, (d.width - 2 * margin) // (sym.modules.shape[1] + 20))
        # Mode A: the printer picks the Code 128 subsets, as zxing's writer does.
        out.append(f"^FO{x},{y}^BY{unit}^BCN,{h},N,N,N,A^FH^FD{_zpl_text(label.serial)}^FS")
    else:
        rows = sym.modules.shape[0]
        unit = max(1, (d.height - 2 * margin) // (rows + 2))
        if sym.kind == "gs1-datamatrix":
            # Escape character "`" (not in GS1's character set): `1 is FNC1, first to mark
            # GS1 data and then after each variable-length element.
            data = _gs1_fnc1(gs1_elements(label))
            out.append(f"^FO{margin + unit},{margin + unit}^BXN,{unit},200,,,,`^FD{data}^FS")
        else:
            out.append(f"^FO{margin + unit},{margin + unit}^BXN,{unit},200^FH^FD"
                       f"{_zpl_text(label.serial)}^FS")
    for x, y, px, text in d.texts:
        out.append(f"^FO{x},{y - px}^A0N,{px},{px}^FH^FD{_zpl_text(text)}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def _gs1_fnc1(elements: list[tuple[str, str]]) -> str:
    """GS1 elements as ZPL ^BX data: FNC1 first, then after each variable-length element
    that is followed by another."""
    data = "`1"
    for n, (ai, value) in enumerate(elements):
        data += ai + value
        if ai in ("10", "21") and n < len(elements) - 1:
            data += "`1"
    return data
