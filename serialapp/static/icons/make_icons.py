"""Draw the app icons (run from the repository root: python serialapp/static/icons/make_icons.py).

A white label with barcode bars on the app's blue. icon-192/icon-512 are "any" icons;
maskable-512 keeps the drawing inside the central safe zone that launchers may crop to.
"""
from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (11, 83, 148, 255)
WHITE = (255, 255, 255, 255)
INK = (17, 17, 17, 255)
# Bar widths in modules, alternating bar/space, a made-up but barcode-like rhythm.
BARS = [2, 1, 1, 2, 3, 1, 1, 1, 2, 2, 1, 3, 1, 1, 2, 1, 1, 2, 3, 1, 2, 1, 1]
HERE = Path(__file__).resolve().parent


def draw(size: int, content: float, rounded: bool) -> Image.Image:
    """`content`: the share of the side the label takes."""
    scale = 4  # draw large, then shrink: smooth edges
    big = size * scale
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if rounded:
        d.rounded_rectangle([0, 0, big - 1, big - 1], radius=big // 6, fill=BLUE)
    else:
        d.rectangle([0, 0, big, big], fill=BLUE)
    side = big * content
    x0, y0 = (big - side) / 2, (big - side * 0.78) / 2
    x1, y1 = x0 + side, y0 + side * 0.78
    d.rounded_rectangle([x0, y0, x1, y1], radius=side * 0.08, fill=WHITE)
    pad = side * 0.12
    module = (side - 2 * pad) / sum(BARS)
    x = x0 + pad
    top, bottom = y0 + pad, y1 - pad - side * 0.12
    for i, width in enumerate(BARS):
        if i % 2 == 0:
            d.rectangle([x, top, x + width * module - 1, bottom], fill=INK)
        x += width * module
    # A red scan line across the bars.
    mid = (top + bottom) / 2
    d.rectangle([x0 + pad * 0.4, mid - side * 0.018, x1 - pad * 0.4, mid + side * 0.018],
                fill=(220, 30, 40, 255))
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    draw(192, 0.72, rounded=True).save(HERE / "icon-192.png", optimize=True)
    draw(512, 0.72, rounded=True).save(HERE / "icon-512.png", optimize=True)
    draw(512, 0.56, rounded=False).save(HERE / "maskable-512.png", optimize=True)
    draw(180, 0.66, rounded=False).convert("RGB").save(HERE / "apple-touch-icon.png",
                                                       optimize=True)


if __name__ == "__main__":
    main()
