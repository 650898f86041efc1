"""The two entry points, decode_image (photos) and decode_frame (live frames), and the
plan that escalates from cheap to heavy passes within the time budget."""
from __future__ import annotations

import math
import time

import numpy as np
import zxingcpp

from .confirm import _CONFIRM_READS, _code_box, _covered
from .images import (FAST_SIDE, MAX_PIXELS, SMALL_SIDE, TILE_SIDE, Code, ImageError,
                     _displayed_size, _load_gray, _open, log)
from .reading import _GLOBAL, _PLAIN, _Collector, _h, _scale
from .regions import _Region, _clahe, _cut, _find_regions, _resize, _rotate, _sharpen


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
