"""Barcode decoding for photos and live camera frames.

Pure module (no Flask): image bytes in, decoded codes out. The caller adds the
interpretation (kind / parsed fields).

Two entry points:

* :func:`decode_image` - the photo path. A phone photo is 12 MP; reading it whole at full
  resolution costs about a second, and most codes are readable far below that. So it
  first reads a reduced-scale greyscale image (JPEG DCT scaling, a few tens of
  milliseconds), then, within the time budget, cuts out at full resolution every busy
  area the codes found so far do not explain (a box label's small serials beside its big
  product code: nobody has to say how many codes there are), and only while fewer codes
  than ``expect`` (default 1) were found goes on to whole-image work: enhanced variants
  (CLAHE, sharpening, upscaling, a global binariser), a half-resolution pass, fixed
  rotations, full-resolution tiles (order in ``_STAGES``; measurements in
  docs/benchmarks.md). A code that only such a heavier pass reads is reported only once a
  second, independent read confirms it (:class:`_Collector`): a misread costs an
  inventory more than a miss.
* :func:`decode_frame` - the live-camera path: one read of a frame no larger than
  ``max_side``, no escalation.

Bad input raises :class:`ImageError` with an HTTP status (415 / 422 / 413), never
anything else: the pixel count, and its memory cost for the format (``MAX_DECODE_BYTES``),
are checked from the header before any pixel is decoded.

Texts are the data the symbol carries (zxing-cpp ``TextMode.Plain``): GS1 element strings
keep their FNC1 separators as GS (``\\x1d``), ISO 15434 envelopes their RS/GS/EOT
characters, as a hardware scanner would send them. The symbology identifier
(``]C1``, ``]d2``, ``]Q3``, ``]e0`` ...) tells GS1 content apart.
"""
from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import zxingcpp
from PIL import Image, UnidentifiedImageError

from .errors import RequestError

try:  # HEIC / HEIF (iPhone photos)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow_heif is a pinned requirement
    pillow_heif = None

log = logging.getLogger(__name__)

__all__ = ['ImageError', 'Code', 'decode_image', 'decode_frame', 'ACCEPTED_FORMATS']

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


# ---------------------------------------------------------------------------------------
# Reading and collecting codes
# ---------------------------------------------------------------------------------------

_PLAIN = zxingcpp.TextMode.Plain
_GLOBAL = zxingcpp.Binarizer.GlobalHistogram


def _scale(sx: float, sy: float | None = None) -> np.ndarray:
    return np.array([[sx, 0, 0], [0, sx if sy is None else sy, 0], [0, 0, 1]], np.float64)


def _h(m: np.ndarray) -> np.ndarray:
    """2x3 affine -> 3x3 homogeneous."""
    return np.vstack([m, [0, 0, 1]]) if m.shape == (2, 3) else m


class _Collector:
    """Runs zxing-cpp reads, keeps every distinct code (by text + format), maps positions
    from the read image back to the displayed image, and keeps time.

    Only a read of the image as it stands (the ``fast`` pass, a live frame: plain zxing-cpp)
    is trusted as it is. A code that only a heavier pass (an enhanced, cut, turned or tiled
    variant) finds is held back until a second, independent read gives the same text and
    format: enhancing and resampling a noisy picture can turn a damaged symbol into a
    different, valid-looking one (an EAN-13 check digit lets one random misread in ten
    through), and for inventory a misread costs more than a miss. Independent means another
    sampling of the picture: another variant family (``_family``: a cut, the sharpened whole
    image, a turned copy...) or the targeted re-reads of :meth:`_Plan.confirm`. A misread
    is the product of one variant's noise and thresholds (a bar merged or split on that
    pixel grid), so two differently sampled reads seldom agree on the same wrong text, while
    a true symbol reads the same however it is sampled. On the corpus the misreads each came
    from one family, the true codes found by escalation mostly from two or more.
    """

    def __init__(self, width: int, height: int, deadline: float, trace=None):
        self.width, self.height = width, height
        self.deadline = deadline
        self.codes: dict[tuple[str, str], Code] = {}
        self.rejected: dict[tuple[str, str], Code] = {}   # heavy-pass reads not confirmed
        self.votes: dict[tuple[str, str], set[str]] = {}  # variant families that read them
        self.trace = trace
        self.ms_per_pixel: float | None = None   # measured on the previous read
        self.confirm = None     # callable(Code) -> bool, set by the escalation plan

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.deadline

    def time_left_ms(self) -> float:
        return (self.deadline - time.perf_counter()) * 1000

    def read(self, img: np.ndarray, to_disp: np.ndarray, stage: str, trusted: bool = False,
             **opts) -> int:
        """Read ``img``; ``to_disp`` maps its pixel coordinates to the displayed image.
        A read that would not finish within the budget (judged by the speed of the
        previous read) is skipped. Returns how many codes were added."""
        if img.ndim != 2 or min(img.shape) < 1 or img.size < 64:
            return 0
        if self.ms_per_pixel is not None and self.ms_per_pixel * img.size > self.time_left_ms():
            if self.trace is not None:
                self.trace.append((stage + ' (skipped)', 0.0, 0))
            return 0
        opts.setdefault('text_mode', _PLAIN)
        t = time.perf_counter()
        try:
            results = zxingcpp.read_barcodes(np.ascontiguousarray(img), **opts)
        except Exception:  # a reader failure must not lose what other stages found
            results = []
        ms = (time.perf_counter() - t) * 1000
        self.ms_per_pixel = ms / img.size
        new = 0
        m = _h(to_disp)
        for r in results:
            if not r.valid or not r.text:
                continue
            key = (r.text, r.format.name)
            if key in self.codes:
                continue
            p = r.position
            pts = []
            for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left):
                x, y, _ = m @ (q.x, q.y, 1.0)
                pts.append([int(round(min(max(x, 0), self.width - 1))),
                            int(round(min(max(y, 0), self.height - 1)))])
            code = Code(r.text, r.format.name, r.symbology_identifier,
                        {'points': pts, 'width': self.width, 'height': self.height})
            if not trusted and not self._confirmed(key, code, stage):
                self.rejected[key] = code
                if self.trace is not None:
                    self.trace.append((stage + ' (unconfirmed)', 0.0, 0))
                continue
            self.rejected.pop(key, None)
            self.codes[key] = code
            new += 1
        if self.trace is not None:
            self.trace.append((stage, round(ms, 2), new))
        return new

    def _confirmed(self, key, code: Code, stage: str) -> bool:
        families = self.votes.setdefault(key, set())
        families.add(_family(stage))
        if len(families) >= 2:
            return True
        if key in self.rejected or self.confirm is None:
            return False           # the targeted re-reads run once per code
        return self.confirm(code)

    def result(self) -> list[Code]:
        return list(self.codes.values())


def _family(stage: str) -> str:
    """Reads whose images share their sampling count as one: the sharpened whole image read
    with either binariser is one picture of the symbol."""
    return 'sharp' if stage.startswith('clahe+sharpen') else stage


# ---------------------------------------------------------------------------------------
# Image work
# ---------------------------------------------------------------------------------------

def _resize(g: np.ndarray, k: float) -> np.ndarray:
    h, w = g.shape
    size = (max(1, int(round(w * k))), max(1, int(round(h * k))))
    return cv2.resize(g, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)


def _clahe(g: np.ndarray, clip: float = 2.0) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(g)


def _sharpen(g: np.ndarray, sigma: float = 2.0, amount: float = 1.5) -> np.ndarray:
    blurred = cv2.GaussianBlur(g, (0, 0), sigma)
    return cv2.addWeighted(g, 1 + amount, blurred, -amount, 0)


def _rotate(g: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about the centre onto a canvas that holds the whole image.
    Returns the image and the 2x3 map from its pixels back to ``g``'s."""
    h, w = g.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(w * c + h * s), int(w * s + h * c)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(g, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, cv2.invertAffineTransform(m)


@dataclass
class _Region:
    cx: float
    cy: float
    length: float      # extent along the gradient direction (across the bars)
    breadth: float     # extent along the bars
    theta: float       # gradient direction, radians
    coherence: float   # 1 = perfectly oriented (1D code), 0 = isotropic (2D code, text)
    score: float       # size x edge density x orientation
    density: float     # mean edge strength


def _find_regions(g: np.ndarray, limit: int = 6) -> list[_Region]:
    """Candidate code regions: compact areas dense in strong edges.

    Works on a ~1000 px greyscale image. For each area it also measures the dominant
    gradient direction (structure tensor), so a 1D code can be cut out with its bars upright.
    """
    h, w = g.shape
    if min(h, w) < 16:
        return []
    f = g.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    k = max(3, int(round(max(h, w) / 80)))
    mag = cv2.boxFilter(np.abs(gx) + np.abs(gy), -1, (k, k))
    top = float(mag.max())
    if top <= 1e-3:
        return []
    m8 = (mag * (255.0 / top)).astype(np.uint8)
    _, mask = cv2.threshold(m8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = np.ones((k, k), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = max(36.0, h * w * 0.00015)   # ~ a 10 mm code photographed from 40 cm
    jxx, jyy, jxy = gx * gx, gy * gy, gx * gy
    regions = []
    for c in contours:
        area = cv2.contourArea(c)
        if area < min_area:
            continue
        x, y, bw, bh = cv2.boundingRect(c)
        sxx = float(jxx[y:y + bh, x:x + bw].sum())
        syy = float(jyy[y:y + bh, x:x + bw].sum())
        sxy = float(jxy[y:y + bh, x:x + bw].sum())
        tr = sxx + syy
        if tr <= 0:
            continue
        coherence = math.sqrt((sxx - syy) ** 2 + 4 * sxy * sxy) / tr
        theta = 0.5 * math.atan2(2 * sxy, sxx - syy)
        (cx, cy), (rw, rh), ang = cv2.minAreaRect(c)
        corners = cv2.boxPoints(((cx, cy), (rw, rh), ang))
        d = np.array([math.cos(theta), math.sin(theta)])
        n = np.array([-d[1], d[0]])
        rel = corners - (cx, cy)
        length = float(np.ptp(rel @ d))
        breadth = float(np.ptp(rel @ n))
        mean_mag = float(mag[y:y + bh, x:x + bw].mean())
        regions.append(_Region(cx, cy, length, breadth, theta, coherence,
                               area * mean_mag * (0.5 + coherence), mean_mag))
    # The largest busy areas first, interleaved with the densest ones (a small code in a
    # cluttered photo is small but dense in edges).
    by_score = sorted(regions, key=lambda r: -r.score)
    by_density = sorted(regions, key=lambda r: -r.density)
    picked: list[_Region] = []
    for pair in zip(by_score, by_density):
        for r in pair:
            if all(r is not p for p in picked) and len(picked) < limit:
                picked.append(r)
    return picked


def _cut(src: np.ndarray, src_to_disp: np.ndarray, region: _Region, region_scale: float,
         deskew: bool, target: tuple[int, int] = (500, 1400)) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``region`` (found at ``1/region_scale`` of ``src``'s resolution) out of ``src``,
    turned so its gradient direction is horizontal (bars upright) when ``deskew``, with a
    margin for the quiet zone, scaled so its long side lies within ``target``.
    Returns the crop and its 2x3 map to displayed coordinates."""
    theta = region.theta if deskew else 0.0
    if deskew:
        length, breadth = region.length, region.breadth
    else:
        length = breadth = max(region.length, region.breadth)
    cx, cy = region.cx * region_scale, region.cy * region_scale
    ew = (length * 1.3 + 16) * region_scale          # crop size in src pixels
    eh = (breadth * 1.3 + 16) * region_scale
    lo, hi = target
    s = 1.0
    if max(ew, eh) > hi:
        s = hi / max(ew, eh)
    elif max(ew, eh) < lo:
        s = min(3.0, lo / max(ew, eh))
    cw, ch = max(8, int(ew * s)), max(8, int(eh * s))
    c, sn = math.cos(theta), math.sin(theta)

    # Axis-aligned window of src that holds the turned crop; shrink it first when the crop
    # is smaller than the source (area averaging, no aliasing).
    h, w = src.shape
    half = np.abs(np.array([[c, -sn], [sn, c]])) @ (ew / 2, eh / 2)
    x0, y0 = max(0, int(cx - half[0]) - 2), max(0, int(cy - half[1]) - 2)
    x1, y1 = min(w, int(math.ceil(cx + half[0])) + 2), min(h, int(math.ceil(cy + half[1])) + 2)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((0, 0), np.uint8), np.eye(3)[:2]
    window = src[y0:y1, x0:x1]
    win_to_src = np.array([[1.0, 0, x0], [0, 1.0, y0]])
    if s < 1:
        window = cv2.resize(window, (max(1, int(round((x1 - x0) * s))), max(1, int(round((y1 - y0) * s)))),
                            interpolation=cv2.INTER_AREA)
        win_to_src = np.array([[1 / s, 0, x0], [0, 1 / s, y0]])
        rem = 1.0
        wcx, wcy = (cx - x0) * s, (cy - y0) * s
    else:
        rem = s
        wcx, wcy = cx - x0, cy - y0
    # crop pixel (u, v) -> window pixel: centre + R(theta) @ ((u, v) - crop centre) / rem
    a = np.array([[c / rem, -sn / rem, 0.0], [sn / rem, c / rem, 0.0]])
    a[:, 2] = (wcx, wcy) - a[:, :2] @ (cw / 2, ch / 2)
    if deskew or rem != 1.0:
        interp = cv2.INTER_CUBIC if rem > 1.2 else cv2.INTER_LINEAR
        crop = cv2.warpAffine(window, a, (cw, ch), flags=interp | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
    else:
        crop = window
        a = np.eye(3)[:2]
    to_disp = _h(src_to_disp) @ _h(win_to_src) @ _h(a)
    return crop, to_disp[:2]


# ---------------------------------------------------------------------------------------
# Where a code is, and whether a heavier pass's read is confirmed
# ---------------------------------------------------------------------------------------

# Formats whose symbols carry no error correction, only a check digit or none: a damaged
# symbol can read as another valid one. Their position quad may be a single scan line, so
# the box around them is given a height.
_LINEAR = frozenset({'EAN8', 'EAN13', 'UPCA', 'UPCE', 'Code39', 'Code93', 'Code128', 'Codabar',
                     'ITF', 'DataBar', 'DataBarOmni', 'DataBarLtd', 'DataBarExp', 'DataBarExpanded'})


def _code_box(code: Code) -> tuple[float, float, float, float, float]:
    """(cx, cy, theta, length, breadth) of a code's position, in displayed pixels: theta is
    the direction of its top edge (across the bars of a 1D code)."""
    pts = np.asarray(code.position['points'], np.float64)
    tl, tr, br, bl = pts
    along = ((tr - tl) + (br - bl)) / 2
    side = ((bl - tl) + (br - tr)) / 2
    length = float(np.hypot(*along))
    theta = math.atan2(along[1], along[0]) if length > 0 else 0.0
    normal = np.array([-math.sin(theta), math.cos(theta)])
    breadth = abs(float(side @ normal))
    if code.format in _LINEAR:
        breadth = max(breadth, 0.25 * length)
    cx, cy = pts.mean(axis=0)
    return float(cx), float(cy), theta, max(length, 1.0), max(breadth, 1.0)


def _covered(region: _Region, k: float, boxes: list) -> bool:
    """Whether most of ``region`` (found at 1/k of displayed scale) lies on codes already
    found: then cutting it out again would only read them again."""
    if not boxes:
        return False
    d = np.array([math.cos(region.theta), math.sin(region.theta)])
    n = np.array([-d[1], d[0]])
    grid = np.linspace(-0.4, 0.4, 5)
    inside = total = 0
    for u in grid:
        for v in grid:
            p = (np.array([region.cx, region.cy]) + u * region.length * d + v * region.breadth * n) * k
            total += 1
            for cx, cy, th, length, breadth in boxes:
                q = p - (cx, cy)
                a = abs(q[0] * math.cos(th) + q[1] * math.sin(th))
                b = abs(-q[0] * math.sin(th) + q[1] * math.cos(th))
                if a <= length * 0.6 + 4 and b <= breadth * 0.6 + 4:
                    inside += 1
                    break
    # Three quarters: a label area holding a big product code and a small serial beside
    # it is half covered by the product code alone.
    return inside >= 0.75 * total


# Targeted re-reads of a code a heavier pass found once: the spot cut again from the
# picture, turned upright along the code's own top edge, resampled by a factor of its own
# (a new pixel grid), read with that format only: (factor, enhanced with CLAHE + unsharp
# mask, binariser). Chosen on the corpus: these confirm its true codes found by one variant
# family only (ean13-1/36, ean13-4/19, upca-2/11) and none of its misreads (upca-1/4, four
# on upca-4/6), whereas unenhanced re-reads enlarged 2x or 3x confirmed a misread of a
# turned copy; and more re-reads mean more chances for one to agree. The plain read at 1x
# confirms what the reduced fast pass read in a large photo (at full resolution).
_CONFIRM_READS = ((1.0, False, zxingcpp.Binarizer.LocalAverage),
                  (1.3, True, zxingcpp.Binarizer.GlobalHistogram),
                  (2.2, True, zxingcpp.Binarizer.GlobalHistogram),
                  (2.6, True, zxingcpp.Binarizer.LocalAverage))


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------

def decode_image(data: bytes, *, expect: int = 1, budget_ms: float = 400,
                 max_pixels: int = MAX_PIXELS) -> list[Code]:
    """Every distinct code in a photo (deduplicated by text + format).

    Reads a reduced-scale image first, then cuts out, at full resolution, every busy area
    of the picture that the codes found so far do not explain (a box label's small serial
    beside its big product code), so the caller need not say how many codes there are.
    While fewer than ``expect`` codes were found, whole-image enhanced, turned and tiled
    passes follow. All within ``budget_ms`` (measured from the call). A code found only by
    a pass heavier than plain zxing-cpp is reported only when confirmed by an independent
    read (see :class:`_Collector`). Raises :class:`ImageError` for anything that is not a
    readable image of at most ``max_pixels`` pixels.
    """
    return _decode_photo(data, expect=expect, budget_ms=budget_ms, max_pixels=max_pixels)


def decode_frame(data: bytes, *, max_side: int = 1280) -> list[Code]:
    """Codes in one live-camera frame: a single read of the frame, scaled down to at most
    ``max_side`` pixels on its long side, no escalation (tens of milliseconds)."""
    im = _open(data, max_pixels=MAX_PIXELS)
    size = im.size
    g, orientation = _load_gray(im, reduce_to=max_side)
    del im
    W, H = _displayed_size(size, orientation)
    h, w = g.shape
    if max(h, w) > max_side:
        g = _resize(g, max_side / max(h, w))
        h, w = g.shape
    col = _Collector(W, H, deadline=math.inf)
    col.read(g, _scale(W / w, H / h), 'frame', trusted=True)   # plain zxing-cpp: trusted
    return col.result()


def _decode_photo(data: bytes, *, expect: int = 1, budget_ms: float = 400,
                  max_pixels: int = MAX_PIXELS, trace: list | None = None,
                  stages: tuple[str, ...] | None = None, rejected: list | None = None) -> list[Code]:
    t0 = time.perf_counter()
    im = _open(data, max_pixels)
    size = im.size
    long_side = max(size)
    full: np.ndarray | None = None
    t_decode = time.perf_counter()
    if im.format in ('JPEG', 'MPO') and long_side >= 2 * FAST_SIDE:
        fast, orientation = _load_gray(im, reduce_to=FAST_SIDE)
    else:
        full, orientation = _load_gray(im)
        fast = full if long_side <= 1.5 * FAST_SIDE else _resize(full, FAST_SIDE / long_side)
    del im   # the decoded pixels of the file: only the greyscale copy is kept
    fast_decode_ms = (time.perf_counter() - t_decode) * 1000
    W, H = _displayed_size(size, orientation)
    col = _Collector(W, H, t0 + budget_ms / 1000.0, trace)
    fh, fw = fast.shape
    fast_to_disp = _scale(W / fw, H / fh)

    plan = _Plan(data, max_pixels, col, fast, fast_to_disp, full, W, H, fast_decode_ms,
                 max(1, int(expect)))
    col.confirm = plan.confirm
    # 1. The fast path: zxing-cpp's own search (rotations by 90 deg, inversion, pyramid).
    #    On the image as it stands that is plain zxing-cpp, trusted as it is. On a reduced
    #    image it is not: modules shrunk below a pixel can read as another valid code (a
    #    Code 128 serial as an EAN-13 on a generated case label), so its reads are
    #    confirmed like any heavier pass's, against the full-resolution picture.
    col.read(fast, fast_to_disp, 'fast', trusted=fast is full)
    for name in stages or _STAGES:
        if col.out_of_time():
            break
        if name not in _REGION_STAGES and plan.enough():
            break
        try:
            getattr(plan, 'stage_' + name)()
        except _Stop:
            break
        except ImageError:
            break
        except Exception:  # image work must never turn a photo into a 500
            log.exception('decode stage %s failed; going on with the next', name)
            continue
    if rejected is not None:
        rejected.extend(col.rejected.values())
    return col.result()


class _Stop(Exception):
    pass


# Escalation order after the fast pass: cheap and targeted first, whole-image work later.
# The region stages run on every photo, for the areas the codes found do not explain; the
# others only while fewer codes than expected were found. On the corpus the gains come from
# regions / regions_enhanced / enhanced; on 12 MP photos from regions / regions_enhanced
# (see docs/benchmarks.md, "where found").
_REGION_STAGES = ('regions', 'regions_enhanced')
_STAGES = _REGION_STAGES + ('enhanced', 'enhanced_more', 'midres', 'rotations', 'tiles')


class _Plan:
    """The escalation stages. Each stage reads one or more variants and stops when the
    time is out (region stages) or enough codes were found (whole-image stages)."""

    def __init__(self, data, max_pixels, col: _Collector, fast, fast_to_disp, full, W, H,
                 fast_decode_ms: float, expect: int):
        self.data, self.max_pixels, self.col = data, max_pixels, col
        self.fast_decode_ms = fast_decode_ms
        self.fast, self.fast_to_disp, self._full = fast, fast_to_disp, full
        self.W, self.H = W, H
        self.expect = expect
        self._regions: list[_Region] | None = None
        self._work = None
        self._whole = False    # in a whole-image stage: stop once enough codes are found

    def enough(self) -> bool:
        return len(self.col.codes) >= self.expect

    def read(self, img, to_disp, stage, **opts):
        if self.col.out_of_time() or (self._whole and self.enough()):
            raise _Stop
        self.col.read(img, to_disp, stage, **opts)

    @property
    def full(self) -> np.ndarray:
        if self._full is None:
            # Decoding everything costs about 1.3x the reduced decode (entropy decoding
            # dominates both); not worth starting if it cannot finish in time.
            if self.col.time_left_ms() < 1.3 * self.fast_decode_ms:
                raise _Stop
            self._full = _load_gray(_open(self.data, self.max_pixels))[0]
        return self._full

    @property
    def regions(self) -> list[_Region]:
        if self._regions is None:
            self._regions = _find_regions(self.fast)
        return self._regions

    @property
    def work(self) -> tuple[np.ndarray, np.ndarray]:
        """The image for whole-image enhancement: the fast image, upscaled when small."""
        if self._work is None:
            g, m = self.fast, self.fast_to_disp
            long_side = max(g.shape)
            if long_side < SMALL_SIDE:
                k = min(3.0, FAST_SIDE / long_side)
                g = _resize(g, k)
                m = _h(m) @ _scale(1 / k)
            self._work = (g, m)
        return self._work

    def confirm(self, code: Code) -> bool:
        """Whether a re-read of the spot where a heavier pass found ``code``, on a pixel
        grid of its own, gives the same text (why that confirms: see :class:`_Collector`).
        The reads are restricted to the code's format and its spot, so another code nearby
        cannot stand in for it."""
        cx, cy, theta, length, breadth = _code_box(code)
        if self._full is None and max(self.W, self.H) > 1.5 * max(self.fast.shape):
            try:
                self.full        # a reduced image's read is checked at full resolution
            except _Stop:
                pass             # no time left for that: re-read the reduced image's spot
        if self._full is not None:
            src, k = self._full, 1.0
        else:
            src, k = self.fast, self.fast.shape[1] / self.W
        region = _Region(cx * k, cy * k, length * k, breadth * k, theta, 1.0, 0.0, 0.0)
        fmt = getattr(zxingcpp.BarcodeFormat, code.format, None)
        if fmt is None:
            return False
        natural = max(length, breadth) * k * 1.3 + 16     # the cut's long side at scale 1
        for factor, enhance, binarizer in _CONFIRM_READS:
            side = min(natural * factor, 2000)
            crop, _ = _cut(src, np.eye(3)[:2], region, 1.0, deskew=True, target=(side, side))
            if crop.size < 64:
                continue
            if enhance:
                crop = _sharpen(_clahe(crop))
            try:
                found = zxingcpp.read_barcodes(np.ascontiguousarray(crop), formats=fmt,
                                               text_mode=_PLAIN, binarizer=binarizer,
                                               try_downscale=False)
            except Exception:
                found = []
            if any(r.valid and r.text == code.text for r in found):
                return True
        return False

    def _uncovered(self) -> list[_Region]:
        boxes = [_code_box(c) for c in self.col.codes.values()]
        k = self.W / self.fast.shape[1]
        return [r for r in self.regions if not _covered(r, k, boxes)]

    def _crops(self):
        big = max(self.W, self.H) > 1.5 * max(self.fast.shape)
        for r in self.regions:
            # Codes found meanwhile (by an earlier cut) may explain this area now.
            if r not in self._uncovered():
                continue
            if big:
                src, to_disp = self.full, np.eye(3)
                scale = self.W / self.fast.shape[1]
            else:
                src, to_disp, scale = self.fast, self.fast_to_disp, 1.0
            yield _cut(src, to_disp, r, scale, deskew=r.coherence > 0.3)

    def stage_regions(self):
        for crop, m in self._crops():
            self.read(crop, m, 'region')    # inverted too: light-on-dark marks on parts

    def stage_regions_enhanced(self):
        # Once enough codes are found, only areas that look like a 1D code (edges strongly
        # oriented) are worth an enhanced read: on a 12 MP photo of one code the plain and
        # enhanced cuts of every busy area of the background took the whole budget.
        if self.enough():
            self._regions = [r for r in self.regions if r.coherence > 0.5]
        for crop, m in self._crops():
            self.read(_sharpen(_clahe(crop)), m, 'region+', binarizer=_GLOBAL, try_invert=False)

    def stage_enhanced(self):
        self._whole = True
        g, m = self.work
        self.read(_sharpen(_clahe(g)), m, 'clahe+sharpen/global', binarizer=_GLOBAL, try_invert=False)

    def stage_enhanced_more(self):
        self._whole = True
        g, m = self.work
        e = _clahe(g)
        self.read(e, m, 'clahe', try_invert=False)
        self.read(_sharpen(e), m, 'clahe+sharpen', try_invert=False)

    def stage_tiles(self):
        """Small codes anywhere: the full-resolution image in overlapping ~1 MP tiles,
        centre first (where people aim), each read at its own scale only."""
        self._whole = True
        if max(self.W, self.H) < 1.5 * max(self.fast.shape):
            return                              # the fast pass already saw full resolution
        g = self.full
        h, w = g.shape
        size, step = TILE_SIDE, TILE_SIDE * 3 // 4
        xs = sorted({*range(0, max(1, w - size), step), max(0, w - size)})
        ys = sorted({*range(0, max(1, h - size), step), max(0, h - size)})
        tiles = sorted(((x, y) for x in xs for y in ys),
                       key=lambda t: (t[0] + size / 2 - w / 2) ** 2 + (t[1] + size / 2 - h / 2) ** 2)
        for x, y in tiles:
            tile = g[y:y + size, x:x + size]
            self.read(tile, np.array([[1.0, 0, x], [0, 1.0, y]]), 'tile',
                      try_invert=False, try_downscale=False)

    def stage_midres(self):
        self._whole = True
        long_side = max(self.W, self.H)
        if long_side < 1.5 * max(self.fast.shape):
            return
        k = min(1.0, 2 * FAST_SIDE / long_side)
        g = self.full if k == 1.0 else _resize(self.full, k)
        self.read(g, _scale(1 / k), 'midres', try_invert=False, try_downscale=False)

    def stage_rotations(self):
        self._whole = True
        g, m = self.work
        for deg in (20, -20, 40, -40):
            r, back = _rotate(g, deg)
            self.read(r, (_h(m) @ _h(back))[:2], f'rot{deg}', try_invert=False)
