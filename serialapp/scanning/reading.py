"""zxing-cpp reads, and the collector that keeps each distinct code once, with its
position mapped back to the displayed image."""
from __future__ import annotations

import time

import numpy as np
import zxingcpp

from .images import Code


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
