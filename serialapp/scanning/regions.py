"""Image work (resize, contrast, sharpen, rotate) and finding the busy areas of a photo
that may hold a code."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .reading import _h


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
