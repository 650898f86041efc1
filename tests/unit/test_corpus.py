"""The decode pipeline over the real-photo corpus (../shared/corpus, see its README).

Per format folder, the pipeline must decode at least as many images as the plain
``zxingcpp.read_barcodes(PIL.Image.open(path))`` on the full-resolution image, more in
total, report no more codes that are not in the picture than plain zxing-cpp does, and
nothing in the falsepositives-* folders. All counts are computed in the run (the naive
ones once per process) and printed.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from serialapp.scanning import decode_image

CORPUS = Path(__file__).resolve().parents[2].parent / 'shared' / 'corpus'
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.webp', '.heic')
TARGET_TOTAL = 454   # of 468, where it stood before misreads were held back; naive: 420

# Images whose ground truth names a code the picture does not show: both photos show
# 9784872348880, printed under the bars (ean13-2/17, 22 and 25 are the same book, with that
# ground truth), while their .txt names 9780804816632. Reading the code that is there is not
# a misread, so it is not counted as a code "not in the picture".
SHOWN_BUT_NOT_IN_GROUND_TRUTH = {
    ('ean13-2', '23.webp'): {'9784872348880'},
    ('ean13-2', '28.webp'): {'9784872348880'},
}


def require_corpus():
    """Fail in CI (the corpus is part of the checkout there), skip elsewhere."""
    if not CORPUS.is_dir():
        message = f'barcode corpus not found at {CORPUS}'
        if os.environ.get('CI'):
            pytest.fail(message + ' (required in CI: check out shared/ beside the repo)')
        pytest.skip(message)


def norm(s: str) -> str:
    return s.replace('(', '').replace(')', '').replace('\x1d', '')


def correct(expected: str | None, texts: list[str]) -> bool:
    if expected is None:
        return not texts
    return norm(expected) in {norm(t) for t in texts}


@lru_cache(maxsize=1)
def corpus() -> list[tuple[str, Path, str | None]]:
    items = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            expected = None if folder.name.startswith('falsepositives') else \
                f.with_suffix('.txt').read_bytes().decode('utf-8')
            items.append((folder.name, f, expected))
    return items


@lru_cache(maxsize=1)
def naive_results() -> dict[Path, list[str]]:
    return {f: [r.text for r in zxingcpp.read_barcodes(Image.open(f))] for _, f, _ in corpus()}


@lru_cache(maxsize=1)
def plain_results() -> dict[Path, list[str]]:
    """Plain zxing-cpp in the text mode the pipeline uses (the data the symbol carries), so
    that the "not in the picture" counts compare like with like."""
    return {f: [r.text for r in zxingcpp.read_barcodes(Image.open(f), text_mode=zxingcpp.TextMode.Plain)]
            for _, f, _ in corpus()}


def not_in_picture(folder: str, f: Path, expected: str | None, texts: list[str]) -> list[str]:
    """Decoded texts that are not the image's expected one (every one on a falsepositives
    image): misreads, or codes really there that the ground truth does not name."""
    shown = SHOWN_BUT_NOT_IN_GROUND_TRUTH.get((folder, f.name), set())
    return [t for t in texts if (expected is None or norm(t) != norm(expected)) and t not in shown]


@lru_cache(maxsize=1)
def our_results() -> dict[Path, list[str]]:
    return {f: [c.text for c in decode_image(f.read_bytes())] for _, f, _ in corpus()}


def test_corpus_per_folder_at_least_naive_and_more_in_total(capsys):
    require_corpus()
    t0 = time.perf_counter()
    naive = naive_results()
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = our_results()
    t_ours = time.perf_counter() - t0

    rows, worse = [], []
    total_naive = total_ours = 0
    folders = sorted({d for d, _, _ in corpus()})
    for folder in folders:
        items = [(f, e) for d, f, e in corpus() if d == folder]
        n = sum(correct(e, naive[f]) for f, e in items)
        o = sum(correct(e, ours[f]) for f, e in items)
        total_naive += n
        total_ours += o
        rows.append(f'{folder:24s} {len(items):4d} {n:6d} {o:5d}{"  +" + str(o - n) if o > n else ""}')
        if o < n:
            worse.append(folder)
    report = '\n'.join(['', f'{"folder":24s} {"imgs":>4s} {"naive":>6s} {"ours":>5s}', *rows,
                        f'{"TOTAL":24s} {len(corpus()):4d} {total_naive:6d} {total_ours:5d}',
                        f'time: naive {t_naive:.1f} s, ours {t_ours:.1f} s'])
    with capsys.disabled():
        print(report)
    assert not worse, f'fewer images decoded than the naive way in {worse}' + report
    assert total_ours > total_naive, report
    assert total_ours >= TARGET_TOTAL, report


def test_no_code_reported_in_falsepositives():
    require_corpus()
    ours = our_results()
    reported = {f'{d}/{f.name}': ours[f] for d, f, e in corpus()
                if d.startswith('falsepositives') and ours[f]}
    assert any(d.startswith('falsepositives') for d, _, _ in corpus())
    assert not reported, reported


def test_no_more_codes_not_in_the_picture_than_plain_zxing_cpp_in_any_folder(capsys):
    """A misread costs an inventory more than a miss: per folder, the pipeline reports no
    more decoded texts that are not the expected one than plain zxing-cpp."""
    require_corpus()
    plain, ours = plain_results(), our_results()
    rows, worse = [], []
    totals = [0, 0]
    for folder in sorted({d for d, _, _ in corpus()}):
        items = [(f, e) for d, f, e in corpus() if d == folder]
        p = sum(len(not_in_picture(folder, f, e, plain[f])) for f, e in items)
        o = sum(len(not_in_picture(folder, f, e, ours[f])) for f, e in items)
        totals[0] += p
        totals[1] += o
        if p or o:
            rows.append(f'{folder:24s} {p:6d} {o:5d}')
        if o > p:
            worse.append({f'{folder}/{f.name}': not_in_picture(folder, f, e, ours[f]) for f, e in items
                          if not_in_picture(folder, f, e, ours[f])})
    report = '\n'.join(['', 'codes not in the picture', f'{"folder":24s} {"plain":>6s} {"ours":>5s}',
                        *rows, f'{"TOTAL":24s} {totals[0]:6d} {totals[1]:5d}'])
    with capsys.disabled():
        print(report)
    assert not worse, worse


def test_a_photo_heavier_passes_misread_reports_only_what_is_there():
    """upca-4/6.webp: the enhanced and turned variants read four different EAN-13s off
    this damaged UPC-A; none is reported, the true code (confirmed by two families) is."""
    require_corpus()
    from serialapp import scanning
    f = CORPUS / 'upca-4' / '6.webp'
    expected = f.with_suffix('.txt').read_text()
    rejected = []
    codes = scanning._decode_photo(f.read_bytes(), rejected=rejected)
    assert [c.text for c in codes] == [expected]
    assert [c.text for c in rejected if c.text != expected]     # misreads were there to hold back

