"""Reading labels back in tests, with the same zxing-cpp the scan pages use.

A PDF is rendered back to an image by PDFium (pypdfium2, a self-contained wheel), as a
viewer or a printer driver would, and read from that.

No SVG renderer is installed here (no cairosvg, rsvg or ImageMagick), so an SVG label is
rasterised by this module from its own markup: the bars are one <path> of rectangles
("M x y h w v h h -w z"), each filled at the SVG's viewBox scale. That decodes what the SVG
file says, not the drawing it came from; text is not rasterised (it is checked as text)."""
import re
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image, ImageDraw

NS = "{http://www.w3.org/2000/svg}"
_RECT = re.compile(r"M(-?\d+) (-?\d+)h(-?\d+)v(-?\d+)h-?\d+z")


def rasterise_svg(svg: str) -> Image.Image:
    root = ET.fromstring(svg)
    _, _, w, h = (int(float(v)) for v in root.get("viewBox").split())
    page = Image.new("L", (w, h), 255)
    pen = ImageDraw.Draw(page)

    def walk(node, dx, dy):
        for child in node:
            ox, oy = dx, dy
            move = re.fullmatch(r"translate\((-?\d+) (-?\d+)\)", child.get("transform", ""))
            if move:
                ox, oy = dx + int(move[1]), dy + int(move[2])
            if child.tag == NS + "path":
                for x, y, bw, bh in (map(int, m) for m in _RECT.findall(child.get("d"))):
                    pen.rectangle((ox + x, oy + y, ox + x + bw - 1, oy + y + bh - 1), fill=0)
            elif child.tag == NS + "rect" and child.get("fill") == "#000":
                raise AssertionError("unexpected black rect")
            walk(child, ox, oy)
    walk(root, 0, 0)
    return page


def texts_of_svg(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(NS + "text")]


def decode(image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image)]


def pdf_pages(data: bytes, dpi: int = 300) -> list[tuple[Image.Image, tuple[float, float]]]:
    """Each page of a PDF rendered at `dpi`, with the page's size in inches."""
    import pypdfium2
    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for page in pdf:
            width, height = page.get_size()  # points: 72 to the inch
            pages.append((page.render(scale=dpi / 72, grayscale=True).to_pil(),
                          (width / 72, height / 72)))
            page.close()
        return pages
    finally:
        pdf.close()
