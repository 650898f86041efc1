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
# Re-exported: callers import from serialapp.scanning; tests and bench/ reach the stages.
from .images import (ACCEPTED_FORMATS, MAX_DECODE_BYTES, MAX_PIXELS, _COST, Code,  # noqa: F401
                     ImageError)
from .pipeline import _STAGES, _decode_photo, decode_frame, decode_image  # noqa: F401

__all__ = ['ImageError', 'Code', 'decode_image', 'decode_frame', 'ACCEPTED_FORMATS']
