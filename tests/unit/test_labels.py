"""Every label format read back to its serial by zxing-cpp, on real images."""
import io
from datetime import date

import pytest
from PIL import Image

from serialapp.records import labels
from tests.labelread import decode, pdf_pages, rasterise_svg, texts_of_svg

MED = dict(sku="MED", name="Medicine", gtin="09506000134352", lot="L7", expiry=date(2027, 12, 31))
CASES = [
    (labels.Label("OWN-000042", "DESK", "Desk"), "code128", "OWN-000042"),
    (labels.Label("CS-0001", "CASE", "Phone case"), "code128", "CS-0001"),
    (labels.Label("PK42", **MED), "gs1-datamatrix",
     "(01)09506000134352(17)271231(10)L7(21)PK42"),
    # Non-ASCII: Code 128 cannot carry it, a DataMatrix with ECI UTF-8 can.
    (labels.Label("SN/Ärger-7", "X", "Umlaut"), "datamatrix", "SN/Ärger-7"),
    # 64 characters do not fit a 2" Code 128 at 203 dpi: a DataMatrix instead.
    (labels.Label("A1B2" * 16, "LONG", ""), "datamatrix", "A1B2" * 16),
    # A "(" in a GS1 value would be read as the next AI: Code 128 of the serial instead.
    (labels.Label("AB(1)", "MED", "Medicine", gtin="09506000134352"), "code128", "AB(1)"),
]


@pytest.mark.parametrize("label,kind,text", CASES, ids=[c[2][:20] for c in CASES])
@pytest.mark.parametrize("dpi", [203, 300])
def test_png_and_svg_decode_to_the_serial(label, kind, text, dpi):
    drawing = labels.draw(label, labels.SINGLE, dpi)
    assert drawing.symbol.kind == kind
    assert (drawing.width, drawing.height) == (2 * dpi, dpi)
    png = labels.png_bytes(labels.image(drawing), dpi)
    assert decode(Image.open(io.BytesIO(png))) == [text]
    svg = labels.svg(drawing)
    assert 'width="2in" height="1in"' in svg
    assert decode(rasterise_svg(svg)) == [text]
    # The human-readable serial, whole (wrapped over lines when long).
    assert label.serial in "".join(texts_of_svg(svg))
    # PDF: a 2in x 1in page, rendered back to an image by PDFium and read from that.
    [(page, size)] = pdf_pages(labels.pdf_bytes([labels.image(drawing)], dpi), dpi=2 * dpi)
    assert size == (2.0, 1.0) and decode(page) == [text]


def test_gs1_label_shows_lot_and_expiry():
    drawing = labels.draw(labels.Label("PK42", **MED))
    assert [t[3] for t in drawing.texts] == ["PK42", "MED · Medicine", "LOT L7",
                                             "EXP 2027-12-31"]


@pytest.mark.parametrize("sheet,count", [("a4", 24), ("letter", 30)])
def test_sheet_pages_decode_every_label(sheet, count):
    batch = [labels.Label(f"OWN-{n:06d}", "DESK", "Desk") for n in range(1, count + 3)]
    assert labels.per_page(sheet) == count
    want = sorted(f"OWN-{n:06d}" for n in range(1, count + 1))  # the rest go on page 2
    assert sorted(decode(labels.sheet_page(batch, sheet))) == want
    assert sorted(decode(rasterise_svg(labels.sheet_svg(batch, sheet)))) == want
    pdf = labels.pdf_bytes([labels.sheet_page(batch[:count], sheet),
                            labels.sheet_page(batch[count:], sheet)], 300)
    first, second = pdf_pages(pdf)
    assert sorted(decode(first[0])) == want and sorted(decode(second[0])) == sorted(
        f"OWN-{n:06d}" for n in range(count + 1, count + 3))
    assert first[1] == second[1] and abs(first[1][0] - labels.SHEETS[sheet][0]) < 0.01


def test_zpl_code128_and_gs1_datamatrix():
    plain = labels.zpl(labels.Label("OWN-^000~1", "DESK", "Desk"))
    assert plain.startswith("^XA\n^CI28\n^PW406\n^LL203") and plain.endswith("^XZ\n")
    # ^ and ~ would start ZPL commands: hex-escaped under ^FH.
    assert "^BCN," in plain and "^FDOWN-_5E000_7E1^FS" in plain
    gs1 = labels.zpl(labels.Label("PK42", **MED))
    assert "^BXN," in gs1 and "^FD`10109506000134352171231" not in gs1
    assert "^FD`1010950600013435217271231" + "10L7`121PK42^FS" in gs1
