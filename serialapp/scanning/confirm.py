"""Where a code is, whether a busy area is explained by codes already read, and the
re-reads that confirm a code only a heavier pass found."""
from __future__ import annotations

import math

import numpy as np
import zxingcpp

from .images import Code
from .regions import _Region

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
