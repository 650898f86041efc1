"""Test-image helpers: barcodes written with zxing-cpp, and phone-like photos of them.

Used by the unit tests and by ``bench/decode.py``. Everything is deterministic for a given
``seed`` so a failing case can be reproduced.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
import zxingcpp
from PIL import Image, ImageDraw

# A representative content per format, as a warehouse would meet them.
SAMPLES: dict[str, str] = {
    'EAN13': '4006381333931',
    'UPCA': '036000291452',
    'Code128': 'SN-2024-000123',
    'Code39': 'SERIAL42',
    'ITF': '00012345678905',
    'QRCode': 'https://example.com/item/SN0001234',
    'DataMatrix': 'SN0001234567',
    'PDF417': 'IMEI 356938035643809 SN C02XK1Y2JG5H',
    'Aztec': 'TICKET-0042-ABCDEFG',
}


def gtin_check(digits: str) -> str:
    """GS1 mod-10 check digit for a GTIN/ITF body."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def sample_text(fmt: str, seed: int = 0) -> str:
    """A valid content for ``fmt`` that varies with ``seed`` (seed 0 gives SAMPLES[fmt])."""
    if seed == 0:
        return SAMPLES[fmt]
    rng = np.random.default_rng(10_000 + seed)
    digits = lambda n: ''.join(str(int(d)) for d in rng.integers(0, 10, n))  # noqa: E731
    if fmt == 'EAN13':
        body = '40' + digits(10)
        return body + gtin_check(body)
    if fmt == 'UPCA':
        body = '0' + digits(10)
        return body + gtin_check(body)
    if fmt == 'ITF':
        body = '1' + digits(12)
        return body + gtin_check(body)
    if fmt == 'Code39':
        return 'SN' + digits(8)
    if fmt == 'Code128':
        return f'SN-{digits(4)}-{digits(6)}'
    if fmt == 'QRCode':
        return f'https://example.com/item/SN{digits(9)}'
    if fmt == 'DataMatrix':
        return f'SN{digits(10)}'
    if fmt == 'PDF417':
        return f'IMEI 35{digits(13)} SN C0{digits(10)}'
    if fmt == 'Aztec':
        return f'TICKET-{digits(4)}-{digits(7)}'
    return SAMPLES[fmt]


def code_array(text: str, fmt: str, module: int = 1, quiet: bool = True) -> np.ndarray:
    """A barcode written by zxing-cpp as a grayscale uint8 array (black on white).

    ``module`` is the size of one module (narrowest bar / one cell) in pixels.
    """
    bc = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    img = np.asarray(bc.to_image(scale=module, add_quiet_zones=quiet))
    return np.ascontiguousarray(img, dtype=np.uint8)


def expected_text(text: str, fmt: str) -> str:
    """What zxing-cpp reads back from a clean copy of the code (e.g. UPC-A comes back as
    its 13-digit EAN-13 form), in plain text mode."""
    found = zxingcpp.read_barcodes(code_array(text, fmt, module=3), text_mode=zxingcpp.TextMode.Plain)
    assert found, f'zxing-cpp cannot read its own {fmt} {text!r}'
    return found[0].text


def encode(img, fmt: str = 'PNG', **kwargs) -> bytes:
    """Encode a PIL image or numpy array (gray, or RGB order) to bytes."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    if fmt.upper() == 'HEIC':
        import pillow_heif  # noqa: F401  (registers the HEIF plugin)
        pillow_heif.register_heif_opener()
        fmt = 'HEIF'
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def jpeg_with_orientation(img, orientation: int, quality: int = 92) -> bytes:
    """A JPEG whose EXIF Orientation tag is ``orientation``; pixels are stored as given."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.convert('RGB').save(buf, format='JPEG', quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def on_canvas(code: np.ndarray, size=(1280, 720), at=(100, 100), background: int = 255) -> np.ndarray:
    """Paste a code array on a plain canvas of ``size`` (w, h) at ``at`` (x, y)."""
    w, h = size
    canvas = np.full((h, w), background, np.uint8)
    x, y = at
    ch, cw = code.shape[:2]
    canvas[y:y + ch, x:x + cw] = code
    return canvas


# ---------------------------------------------------------------------------------------
# Phone-like photos
# ---------------------------------------------------------------------------------------

@dataclass
class Photo:
    data: bytes                 # the encoded JPEG
    texts: list[str]            # the texts of the codes pasted in it
    fmt: str
    params: dict = field(default_factory=dict)


def _clutter(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A busy, coloured background: shaded gradient, boxes, blobs, lines and printed text."""
    # Built at quarter size (fast), then scaled up: real backgrounds are soft anyway.
    sw, sh = w // 4, h // 4
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    base = np.empty((sh, sw, 3), np.float32)
    for c in range(3):
        a, b, c0 = rng.uniform(-60, 60), rng.uniform(-60, 60), rng.uniform(70, 190)
        base[..., c] = c0 + a * xx / sw + b * yy / sh
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), 'RGB')
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(25, 45))):
        x0, y0 = int(rng.integers(-sw // 8, sw)), int(rng.integers(-sh // 8, sh))
        x1, y1 = x0 + int(rng.integers(20, sw // 3)), y0 + int(rng.integers(20, sh // 3))
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.rectangle([x0, y0, x1, y1], fill=col)
        else:
            d.ellipse([x0, y0, x1, y1], fill=col)
    for _ in range(int(rng.integers(10, 25))):
        pts = [(int(rng.integers(0, sw)), int(rng.integers(0, sh))) for _ in range(2)]
        d.line(pts, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=int(rng.integers(1, 6)))
    for _ in range(int(rng.integers(8, 20))):
        x0, y0 = int(rng.integers(0, sw)), int(rng.integers(0, sh))
        words = ' '.join(''.join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 9))))
                         for _ in range(int(rng.integers(1, 5))))
        d.text((x0, y0), words, fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
               font_size=int(rng.integers(8, 30)))
    return img.resize((w, h), Image.BILINEAR)


def _label(code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The code on a white label with a margin and a few lines of 'printed' text."""
    ch, cw = code.shape
    margin = max(ch, cw) // 10 + 8
    text_h = max(12, ch // 5)
    lh, lw = ch + 2 * margin + text_h, cw + 2 * margin
    label = Image.new('L', (lw, lh), int(rng.integers(225, 256)))
    label.paste(Image.fromarray(code), (margin, margin))
    d = ImageDraw.Draw(label)
    d.text((margin, margin + ch + text_h // 6), 'S/N ' + ''.join(
        chr(int(c)) for c in rng.integers(48, 58, 10)), fill=30, font_size=max(8, int(text_h * 0.6)))
    return np.asarray(label)


def _photograph(bg: Image.Image, label: np.ndarray, rng: np.random.Generator, angle: float,
                blur: float, noise: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``label`` turned by ``angle`` and pasted at a random spot of the background, then the
    whole photo shaded, blurred and noised. Returns the photo and (x, y, w, h) of the label."""
    w, h = bg.size
    # Rotate the label about its centre onto a transparent canvas and paste it.
    lh, lw = label.shape
    rot = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, 1.0)
    cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = int(lw * cos + lh * sin) + 2, int(lw * sin + lh * cos) + 2
    rot[0, 2] += nw / 2 - lw / 2
    rot[1, 2] += nh / 2 - lh / 2
    rotated = cv2.warpAffine(label, rot, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpAffine(np.full_like(label, 255), rot, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
    x = int(rng.integers(0, max(1, w - nw)))
    y = int(rng.integers(0, max(1, h - nh)))
    photo = np.asarray(bg, dtype=np.float32).copy()
    region = photo[y:y + nh, x:x + nw]
    m = (mask[:region.shape[0], :region.shape[1]].astype(np.float32) / 255)[..., None]
    tint = rng.uniform(0.9, 1.0, 3).astype(np.float32)
    region[:] = region * (1 - m) + rotated[:region.shape[0], :region.shape[1], None] * tint * m

    # Uneven lighting, lens blur, sensor noise.
    yy, xx = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    light = 1.0 - 0.35 * np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / np.hypot(w, h)
    light = cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)
    photo *= light[..., None]
    photo = cv2.GaussianBlur(photo, (0, 0), blur)
    photo += rng.normal(0, noise, (h, w, 1)).astype(np.float32)
    out = np.clip(photo, 0, 255).astype(np.uint8)
    return out, (x, y, nw, nh)


def phone_photo(text: str, fmt: str, *, seed: int = 0, size=(4032, 3024), quality: int = 85,
                width_frac: float | None = None, angle: float | None = None,
                blur: float | None = None, noise: float | None = None) -> Photo:
    """A 12 MP phone-like JPEG of one zxing-cpp-written code.

    The code is pasted on a white label, small (``width_frac`` of the photo width), rotated by
    ``angle`` degrees, on a cluttered background, then the whole photo is shaded, blurred
    (Gaussian sigma ``blur`` pixels), noised (sigma ``noise`` grey levels) and saved as JPEG
    ``quality``. Unset parameters are drawn from ``seed``.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    matrix = fmt in ('QRCode', 'DataMatrix', 'Aztec')
    if width_frac is None:
        width_frac = float(rng.uniform(0.06, 0.14) if matrix else rng.uniform(0.12, 0.3))
    if angle is None:
        angle = float(rng.uniform(-25, 25))
    if blur is None:
        blur = float(rng.uniform(0.8, 2.5))
    if noise is None:
        noise = float(rng.uniform(3, 9))

    bg = _clutter(rng, w, h)
    code = code_array(text, fmt, module=1)
    target_w = max(code.shape[1], int(width_frac * w))
    k = target_w / code.shape[1]
    # Linear codes: bars much taller than one module, as printed.
    code = cv2.resize(code, (target_w, max(int(code.shape[0] * k), 8)), interpolation=cv2.INTER_NEAREST)
    label = _label(code, rng)

    out, (x, y, nw, nh) = _photograph(bg, label, rng, angle, blur, noise)
    data = encode(out, 'JPEG', quality=quality)
    return Photo(data, [expected_text(text, fmt)], fmt, dict(seed=seed, width_frac=round(width_frac, 3),
                                         angle=round(angle, 1), blur=round(blur, 2),
                                         noise=round(noise, 1), quality=quality,
                                         label_box=[x, y, x + nw, y + nh]))


# Box labels as suppliers print them: a product code (EAN-13 / UPC-A) and one or more
# serials (an IMEI as Code 128, an S/N, a GS1 DataMatrix), in a few layouts.
LABEL_LAYOUTS = ('stacked', 'side', 'case')


def label_photo(codes: list[tuple[str, str]], layout: str = 'stacked', *, seed: int = 0,
                size=(4032, 3024), width_frac: float = 0.2, module: int = 3,
                angle: float | None = None, blur: float = 1.0, noise: float = 4.0,
                quality: int = 88) -> Photo:
    """A phone-like JPEG of a white box label carrying every (text, format) of ``codes``.

    Layouts: ``stacked`` (one code under the other, as on a phone box), ``side`` (the
    first code left, the others in a column on its right: EAN + DataMatrix labels),
    ``case`` (the first code on top, the others in two columns below: a case of units).
    The first code is printed at twice the module of the others. The label is
    ``width_frac`` of the photo wide: at the default, the serials' modules are well under a
    pixel at the ~1000 px scale the decoder looks at first, the product code's about one.
    """
    rng = np.random.default_rng(seed)
    if angle is None:
        angle = float(rng.uniform(-8, 8))
    # The product code is printed big (it is read across the warehouse), the serials small.
    arrays = [code_array(t, f, module=module * (2 if i == 0 else 1)) for i, (t, f) in enumerate(codes)]
    # Linear codes printed with tall bars (a third of their width, at most 60 modules).
    arrays = [a if f in ('QRCode', 'DataMatrix', 'Aztec', 'PDF417') else
              np.repeat(a[:1], max(a.shape[0], min(a.shape[1] // 3, 60 * module)), axis=0)
              for a, (_, f) in zip(arrays, codes)]
    gap = 12 * module
    if layout == 'stacked':
        cells = [[a] for a in arrays]
    elif layout == 'side':
        cells = [[arrays[0], _column(arrays[1:], gap)]] if len(arrays) > 1 else [[arrays[0]]]
    elif layout == 'case':
        rest = arrays[1:]
        half = (len(rest) + 1) // 2
        cells = [[arrays[0]]] + ([[_column(rest[:half], gap), _column(rest[half:], gap)]] if rest else [])
    else:
        raise ValueError(layout)
    rows = [_row(r, gap) for r in cells]
    board = _column(rows, gap)
    pad = 2 * gap
    label = np.full((board.shape[0] + 2 * pad, board.shape[1] + 2 * pad), 250, np.uint8)
    label[pad:pad + board.shape[0], pad:pad + board.shape[1]] = board
    w, h = size
    k = width_frac * w / label.shape[1]
    label = cv2.resize(label, (int(label.shape[1] * k), int(label.shape[0] * k)), interpolation=cv2.INTER_AREA)
    bg = _clutter(rng, w, h)
    out, (x, y, nw, nh) = _photograph(bg, label, rng, angle, blur, noise)
    data = encode(out, 'JPEG', quality=quality)
    return Photo(data, [expected_text(t, f) for t, f in codes], codes[0][1],
                 dict(seed=seed, layout=layout, angle=round(angle, 1), scale=round(k, 3),
                      label_box=[x, y, x + nw, y + nh]))


def _column(arrays: list[np.ndarray], gap: int) -> np.ndarray:
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return np.zeros((0, 0), np.uint8)
    width = max(a.shape[1] for a in arrays)
    out = np.full((sum(a.shape[0] for a in arrays) + gap * (len(arrays) - 1), width), 255, np.uint8)
    y = 0
    for a in arrays:
        out[y:y + a.shape[0], :a.shape[1]] = a
        y += a.shape[0] + gap
    return out


def _row(arrays: list[np.ndarray], gap: int) -> np.ndarray:
    arrays = [a for a in arrays if a.size]
    height = max(a.shape[0] for a in arrays)
    out = np.full((height, sum(a.shape[1] for a in arrays) + gap * (len(arrays) - 1)), 255, np.uint8)
    x = 0
    for a in arrays:
        out[:a.shape[0], x:x + a.shape[1]] = a
        x += a.shape[1] + gap
    return out
