"""Opening a photo safely and turning it into greyscale pixels: the checks that keep a
hostile or huge image from costing memory, and EXIF orientation."""
from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import RequestError

try:  # HEIC / HEIF (iPhone photos)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow_heif is a pinned requirement
    pillow_heif = None

log = logging.getLogger(__name__)

# Pillow format names we accept. HEIF covers .heic/.heif; MPO is what many phones' JPEGs
# open as (a JPEG with a second, preview image appended).


ACCEPTED_FORMATS = frozenset({'JPEG', 'MPO', 'PNG', 'WEBP', 'HEIF', 'AVIF', 'GIF', 'BMP', 'TIFF'})

# Long side of the image read first on the photo path. zxing-cpp reads a ~1000 px image in
# ~10-15 ms; codes whose modules are still >= ~1.5 px at this scale are found here.


FAST_SIDE = 1000
# Images smaller than this (long side) are upscaled for the enhanced variants: they are
# low-resolution crops whose modules are only a pixel or two wide.


SMALL_SIDE = 800
# Tile side for the full-resolution tiles stage (large photos only).


TILE_SIDE = 1024
# Default pixel cap (checked from the header, before decoding).


MAX_PIXELS = 50_000_000
# Memory for one decode, bounded by design: an image is accepted only when its pixel count
# times its format's cost (below) fits, so no accepted image costs a worker more than about
# this much above idle (tests/unit/test_scanning.py measures the worst ones in a subprocess).


MAX_DECODE_BYTES = 256 * 2**20
# Peak bytes per pixel above idle for one decode_image() call, by format, measured with
# ru_maxrss at 20 MP (tests/unit/test_scanning.py::test_decode_memory_is_bounded) and
# rounded up: the upload's bytes, the decoder's buffers (Pillow's WebP decoder holds the
# whole RGBA frame twice), the greyscale planes and the escalation's work.


_COST = {'JPEG': 4, 'MPO': 4, 'PNG': 9, 'GIF': 4, 'BMP': 10, 'TIFF': 9, 'WEBP': 16,
         'HEIF': 9, 'AVIF': 9}


class ImageError(RequestError):
    """The upload cannot be decoded as an image; ``status`` is the HTTP status to answer
    (a request error: the API answers it as it stands)."""


@dataclass


class Code:
    text: str
    format: str      # zxing-cpp format name: 'EAN13', 'QRCode', 'DataMatrix', 'DataBarExp' ...
    symbology: str   # symbology identifier, e.g. ']E0', ']C1' (GS1-128), ']d2' (GS1 DataMatrix)
    position: dict = field(default_factory=dict)
    # position = {'points': [[x, y] * 4] (top-left, top-right, bottom-right, bottom-left of the
    #             symbol, in pixels of the image as displayed, i.e. after EXIF rotation),
    #             'width': w, 'height': h (of that image)}

    def as_dict(self) -> dict:
        return {'text': self.text, 'format': self.format, 'symbology': self.symbology,
                'position': {'points': [list(p) for p in self.position.get('points', [])],
                             'width': self.position.get('width'),
                             'height': self.position.get('height')}}


# ---------------------------------------------------------------------------------------
# Opening and validating
# ---------------------------------------------------------------------------------------


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Identify the image from its header and check its size; no pixel is decoded here."""
    if not data:
        raise ImageError(415, 'not_an_image', 'The upload is empty: no image was received.')
    try:
        # Pillow itself refuses images over 2x Image.MAX_IMAGE_PIXELS (DecompressionBombError)
        # and warns above it; our own, lower cap is checked below.
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(415, 'not_an_image',
                         'The upload is not an image in a supported format '
                         '(JPEG, PNG, WebP or HEIC).') from None
    except Image.DecompressionBombError:
        raise ImageError(413, 'image_too_large',
                         f'The image has too many pixels (limit {max_pixels / 1e6:g} megapixels).'
                         ) from None
    except Exception:
        raise ImageError(422, 'corrupt_image',
                         'The image file is damaged or incomplete and cannot be read.') from None
    if im.format not in ACCEPTED_FORMATS:
        raise ImageError(415, 'not_an_image',
                         f'{im.format} images are not supported; send JPEG, PNG, WebP or HEIC.')
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(422, 'corrupt_image', 'The image has no pixels.')
    if w * h > max_pixels:
        raise ImageError(413, 'image_too_large',
                         f'The image is {w}x{h} = {w * h / 1e6:.1f} megapixels; '
                         f'the limit is {max_pixels / 1e6:g} megapixels.')
    cost = _COST.get(im.format, 16)
    if w * h * cost > MAX_DECODE_BYTES:
        raise ImageError(413, 'image_too_large',
                         f'The image is {w}x{h} = {w * h / 1e6:.1f} megapixels; a {im.format} '
                         f'image can have at most {MAX_DECODE_BYTES / cost / 1e6:.0f} megapixels '
                         '(a JPEG more): send a smaller photo.')
    return im


def _orientation(im: Image.Image) -> int:
    try:
        o = int(im.getexif().get(0x0112, 1))
    except Exception:
        return 1
    return o if 1 <= o <= 8 else 1


def _load_gray(im: Image.Image, reduce_to: int | None = None) -> tuple[np.ndarray, int]:
    """Decode the pixels to an 8-bit greyscale array, as displayed (EXIF orientation applied).
    Returns the array and the EXIF orientation that was applied.

    ``reduce_to``: for JPEG, let the decoder scale by 1/2, 1/4 or 1/8 while keeping the long
    side >= reduce_to (DCT scaling: much cheaper than decoding everything and resizing).
    """
    try:
        if im.format in ('JPEG', 'MPO'):
            # Greyscale straight from the decoder (luma only, no colour conversion), and
            # DCT-scaled when asked.
            w, h = im.size
            k = max(w, h) / reduce_to if reduce_to else 1.0
            im.draft('L', (math.ceil(w / k), math.ceil(h / k)) if k >= 2 else (w, h))
        im.load()
        # Only after load(): for PNG, reading EXIF may itself load (and a failed load would
        # be swallowed there and leave a half-decoded image). Before _to_gray, which
        # releases the pixels.
        orientation = _orientation(im)
        g = _to_gray(im)
    except ImageError:
        raise
    except Exception:
        raise ImageError(422, 'corrupt_image',
                         'The image file is damaged or incomplete and cannot be read.') from None
    if orientation != 1:
        g = _apply_orientation(g, orientation)
    return np.ascontiguousarray(g), orientation


def _release(im: Image.Image) -> None:
    """Free the decoded pixels now rather than when the last reference goes: a 4-byte-per-
    pixel RGBA copy must not live on beside the greyscale one (memory, point 9 of issue 7)."""
    try:
        im.close()
    except Exception:  # pragma: no cover - closing never matters for correctness
        pass


_STRIP = 512   # rows converted at a time: temporaries stay a strip, not an image, in size


def _to_gray(im: Image.Image) -> np.ndarray:
    """The loaded image as 8-bit greyscale, transparent areas shown on white (as browsers
    do). Works band by band and strip by strip, and releases ``im``'s pixels as soon as it
    has what it needs, so the peak stays near the decoded image plus two greyscale planes."""
    mode = im.mode
    if mode in ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F'):
        a = np.asarray(im)
        _release(im)
        lo, hi = float(a.min()), float(a.max())
        k = 255.0 / (hi - lo) if hi > lo else 0.0
        out = np.empty(a.shape, np.uint8)
        for y in range(0, a.shape[0], _STRIP):
            out[y:y + _STRIP] = (a[y:y + _STRIP].astype(np.float32) - lo) * k
        return out
    alpha = None
    if mode == 'P' and 'transparency' in im.info:
        # Transparency of a palette image is per palette entry: look it up from the indices
        # instead of expanding the image to RGBA (4 bytes a pixel).
        t = im.info['transparency']
        lut = np.full(256, 255, np.uint8)
        if isinstance(t, int):
            lut[t & 255] = 0
        elif isinstance(t, (bytes, bytearray)):
            lut[:len(t)] = np.frombuffer(bytes(t[:256]), np.uint8)
        alpha = lut[np.asarray(im)]
    elif mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La'):
        try:
            alpha = np.asarray(im.getchannel('A'))
        except Exception:
            alpha = None
    gray = None
    for route in (('L',), ('RGB', 'L'), ('RGBA', 'L')):
        try:
            out = im
            for m in route:
                out = out.convert(m)
            gray = np.array(out)          # writable: the composite below works in place
            break
        except ValueError:   # Pillow has no conversion for this mode
            continue
    _release(im)
    if gray is None:
        raise ImageError(415, 'not_an_image', f'Images in the {mode} colour mode are not supported.')
    if alpha is not None and alpha.min() < 255:
        for y in range(0, gray.shape[0], _STRIP):
            g = gray[y:y + _STRIP].astype(np.uint16)
            a = alpha[y:y + _STRIP].astype(np.uint16)
            gray[y:y + _STRIP] = (g * a + 255 * (255 - a) + 127) // 255
    return gray


def _apply_orientation(g: np.ndarray, o: int) -> np.ndarray:
    # EXIF orientation -> the transform that shows the image upright.
    if o == 2:
        return g[:, ::-1]
    if o == 3:
        return g[::-1, ::-1]
    if o == 4:
        return g[::-1, :]
    if o == 5:
        return g.T
    if o == 6:
        return np.rot90(g, -1)
    if o == 7:
        return g[::-1, ::-1].T
    if o == 8:
        return np.rot90(g, 1)
    return g


def _displayed_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    w, h = size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)
