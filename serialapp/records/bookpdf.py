"""The bound book as a PDF, in the columns of its printed page: landscape Letter or A4, the
headings on every page, numbered pages. Drawn with Pillow at 300 dpi in black and white
(no system library needed) and written by labels.pdf_bytes, page for page at the paper's
size. Pure: no Flask, no database."""
from datetime import datetime

from PIL import Image, ImageDraw

from .labels import _font, pdf_bytes

PAPER = {"letter": (11.0, 8.5), "a4": (11.6929, 8.2677)}  # landscape, inches
DPI = 300
MARGIN = round(0.4 * DPI)
TYPE = round(6.5 / 72 * DPI)  # 6.5 pt: eighteen columns across the page
LINE = round(TYPE * 1.25)
PAD = round(TYPE * 0.3)


def _incidents(row: dict) -> str:
    if not row.get("atf_incident"):
        return ""
    return f"ATF {row['atf_incident']} / Police {row['police_incident']}"


# (heading, value, relative width), in the order of the book page; then the groups above.
COLUMNS = [
    ("Entry", "entry", 4), ("Corrects", "corrects", 5.5), ("Manufacturer", "manufacturer", 8.5),
    ("Importer", "importer", 6.5), ("Model", "model", 4.5), ("Serial", "serial", 7.5),
    ("Type", "type", 4), ("Caliber or gauge", "caliber", 5), ("Date", "acquired_on", 7.5),
    ("Name and address", "acquired_from", 9), ("Licence", "acquired_from_licence", 9),
    ("Date", "disposed_on", 7.5), ("Name and address", "disposed_to", 9),
    ("Licence", "disposed_to_licence", 9), ("Form 4473", "form_4473", 8.5),
    ("Theft / loss", "theft_loss", 5.5), ("Incident nos.", _incidents, 7), ("Note", "note", 7),
]
GROUPS = [("Description of firearm", 8), ("Receipt", 3), ("Disposition", 6), ("", 1)]


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` dots: at spaces, and inside a word too long for a line."""
    font = _font(TYPE)
    lines: list[str] = []
    for para in str(text).splitlines() or [""]:
        line = ""
        for word in para.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _cells(row: dict, widths: list[int]) -> list[list[str]]:
    return [_wrap(value(row) if callable(value) else row.get(value, ""), w - 2 * PAD)
            for (_, value, _), w in zip(COLUMNS, widths)]


def pdf(rows: list[dict], paper: str = "letter", title: str = "",
        printed: datetime | None = None) -> bytes:
    """The book's rows (records.book.entries) as a PDF."""
    width_in, height_in = PAPER[paper]
    width, height = round(width_in * DPI), round(height_in * DPI)
    usable = width - 2 * MARGIN
    total = sum(w for _, _, w in COLUMNS)
    widths = [int(usable * w / total) for _, _, w in COLUMNS]
    heading = [_wrap(h, w - 2 * PAD) for (h, _, _), w in zip(COLUMNS, widths)]
    head_h = LINE + 2 * PAD + max(map(len, heading)) * LINE + 2 * PAD
    top = MARGIN + round(LINE * 2.2)  # the title above the table
    bottom = height - MARGIN - LINE  # the page line below it
    # Lay the rows out into pages first: each page says "page n of m".
    pages: list[list[list[list[str]]]] = [[]]
    y = top + head_h
    for row in rows:
        cells = _cells(row, widths)
        h = max(map(len, cells)) * LINE + 2 * PAD
        if y + h > bottom and pages[-1]:
            pages.append([])
            y = top + head_h
        pages[-1].append(cells)
        y += h
    stamp = (printed or datetime.utcnow()).strftime("%Y-%m-%d %H:%M UTC")
    images = []
    for n, page_rows in enumerate(pages, start=1):
        page = Image.new("L", (width, height), 255)
        pen = ImageDraw.Draw(page)
        font = _font(TYPE)
        pen.text((MARGIN, MARGIN), "Acquisition and disposition book" + (
            f" · {title}" if title else ""), fill=0, font=_font(round(TYPE * 1.6)), anchor="lt")
        pen.text((width - MARGIN, height - MARGIN), f"Printed {stamp} · page {n} of "
                 f"{len(pages)}", fill=0, font=font, anchor="rs")
        # The groups, then the column headings, then the rows, ruled like the page.
        x, y = MARGIN, top
        column = 0
        for name, span in GROUPS:
            span_w = sum(widths[column:column + span])
            pen.text((x + PAD, y + PAD), name, fill=0, font=font, anchor="la")
            x += span_w
            column += span
        y += LINE + 2 * PAD
        pen.line((MARGIN, y, MARGIN + usable, y), fill=0, width=2)
        _row(pen, heading, widths, y)
        y = top + head_h
        pen.line((MARGIN, y, MARGIN + usable, y), fill=0, width=3)
        for cells in page_rows:
            h = max(map(len, cells)) * LINE + 2 * PAD
            _row(pen, cells, widths, y)
            y += h
            pen.line((MARGIN, y, MARGIN + usable, y), fill=0, width=1)
        images.append(page)
    return pdf_bytes(images, DPI)


def _row(pen: ImageDraw.ImageDraw, cells: list[list[str]], widths: list[int], y: int) -> None:
    x = MARGIN
    font = _font(TYPE)
    for lines, w in zip(cells, widths):
        for k, line in enumerate(lines):
            pen.text((x + PAD, y + PAD + k * LINE), line, fill=0, font=font, anchor="la")
        x += w
