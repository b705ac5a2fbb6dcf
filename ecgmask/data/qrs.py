"""Where the QRS complexes are: intervals from annotations, a track per sample, a detector.

A record's QRS complexes are `(K, 2)` int arrays of inclusive sample intervals `[onset,
offset]` at the record's rate, taken from WFDB annotations in LUDB's convention (each wave
`(` onset, peak symbol, `)` offset; `N` the QRS), with the span the annotations cover
(LUDB's cardiologists delineate the middle of each record, about 1.3 s to 8 s, not its
edges: outside the span "not QRS" is unknown, and the shares are taken inside it). The cache
turns both into boolean tracks per window (`window_track`, through the same resampling and
windowing as the signal). Records
without annotations get theirs from a maintained detector (`detect_qrs`: wfdb.processing's
XQRS on lead II, a fixed width around each R peak), and every printed share names which.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

QRS_SYMBOL = "N"
# annotation file extensions read for one record: the synthetic tree's `.qrs`, LUDB's leads
ANNOTATION_EXTENSIONS = ("qrs", "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
ANNOTATED = "annotation"  # qrs_source of a track from expert or generator annotations
DETECTOR_BEFORE_S = 0.05  # detector's QRS: R peak - 50 ms ...
DETECTOR_AFTER_S = 0.05  # ... to R peak + 50 ms (a 100 ms QRS, the upper end of normal)
DETECTOR = "xqrs-lead-ii"  # qrs_source of a detector track
DETECTOR_WORDS = "XQRS (wfdb.processing) R peaks on lead II, QRS = R peak -50 ms to +50 ms"
SOURCE_WORDS = {ANNOTATED: "annotated QRS (generator or cardiologists)", DETECTOR: DETECTOR_WORDS}


def intervals_from_annotation(samples, symbols) -> np.ndarray:
    """`(`, `N`, `)` triples (LUDB convention) -> (K, 2) [onset, offset]; other waves skipped.
    A QRS peak without its onset or offset (cut by the record's edge) is left out."""
    out = []
    samples = list(samples)
    symbols = list(symbols)
    for i, s in enumerate(symbols):
        if s != QRS_SYMBOL:
            continue
        if 0 < i < len(symbols) - 1 and symbols[i - 1] == "(" and symbols[i + 1] == ")":
            out.append((int(samples[i - 1]), int(samples[i + 1])))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def write_annotation(record_base: str | os.PathLike, fs: float, intervals: np.ndarray,
                     peaks: np.ndarray, extension: str = "qrs") -> Path:
    """Writes `record_base.<extension>`: `(` onset, `N` peak, `)` offset for each QRS."""
    import wfdb

    base = Path(record_base)
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    samples = np.stack([intervals[:, 0], np.asarray(peaks, dtype=np.int64), intervals[:, 1]], axis=1).reshape(-1)
    symbols = ["(", QRS_SYMBOL, ")"] * len(intervals)
    wfdb.wrann(base.name, extension, samples, symbol=symbols, fs=fs, write_dir=str(base.parent))
    return base.with_name(f"{base.name}.{extension}")


def read_annotations(hea_path: str | os.PathLike, extensions=ANNOTATION_EXTENSIONS):
    """(intervals, span) or None when the record has no annotation file (`NAME.<ext>` beside
    its header): the union over the files of their QRS intervals, merged where they overlap,
    and the inclusive [first, last] annotated sample over all files, or None for the whole
    record when a generator's `.qrs` file is among them (it marks every QRS)."""
    import wfdb

    hea_path = Path(hea_path)
    found = []
    edges = []
    whole = False
    for ext in extensions:
        path = hea_path.with_name(f"{hea_path.stem}.{ext}")
        if not path.is_file():
            continue
        try:
            ann = wfdb.rdann(str(hea_path.with_suffix("")), ext)
        except Exception as err:  # wfdb raises bare errors on a damaged file
            raise ValueError(f"{path}: unreadable annotation file ({type(err).__name__}: {err})") from None
        found.append(intervals_from_annotation(ann.sample, ann.symbol))
        whole = whole or ext == "qrs"
        if len(ann.sample):
            edges += [int(np.min(ann.sample)), int(np.max(ann.sample))]
    if not found:
        return None
    span = None if whole or not edges else (min(edges), max(edges))
    return merge_intervals(np.concatenate(found)), span


def merge_intervals(intervals: np.ndarray) -> np.ndarray:
    """Sorted, overlapping or touching intervals merged: the union as disjoint intervals."""
    intervals = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    if len(intervals) == 0:
        return intervals
    intervals = intervals[np.argsort(intervals[:, 0], kind="stable")]
    merged = [list(intervals[0])]
    for on, off in intervals[1:]:
        if on <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], off)
        else:
            merged.append([on, off])
    return np.asarray(merged, dtype=np.int64)


def track_from_intervals(intervals: np.ndarray, n: int, fs_in: float = 1.0, fs_out: float = 1.0) -> np.ndarray:
    """(n,) bool at fs_out, True inside the intervals given at fs_in (an interval's ends map to
    the nearest output sample, so resampling moves a boundary by at most half an output sample)."""
    track = np.zeros(n, dtype=bool)
    scale = float(fs_out) / float(fs_in)
    for on, off in np.asarray(intervals, dtype=np.int64).reshape(-1, 2):
        a = max(int(round(on * scale)), 0)
        b = min(int(round(off * scale)), n - 1)
        if a <= b:
            track[a : b + 1] = True
    return track


def window_track(intervals: np.ndarray, fs_in: float, n_in: int, fs_out: float, length: int, stride: int,
                 span: tuple[int, int] | None = None) -> np.ndarray:
    """The tracks of each window `preprocess` cuts from a record of n_in samples at fs_in:
    (n_windows, 2, length) bool, [QRS, annotated] (the span; the whole record when None; the
    centre padding of a short record is never annotated), resampled and windowed like the signal."""
    from ecgmask.data.preprocess import make_windows, resample

    n_out = resample(np.zeros((1, n_in), dtype=np.float32), fs_in, fs_out).shape[1]
    track = track_from_intervals(intervals, n_out, fs_in, fs_out)
    known = track_from_intervals([(0, n_in - 1) if span is None else span], n_out, fs_in, fs_out)
    return make_windows(np.stack([track, known]).astype(np.uint8), length, stride).astype(bool)


def detect_qrs(lead_ii: np.ndarray, fs: float) -> np.ndarray:
    """(n,) bool QRS track of one lead from wfdb.processing's XQRS detector (R peaks), each
    QRS taken as R peak - DETECTOR_BEFORE_S to + DETECTOR_AFTER_S."""
    from wfdb import processing

    x = np.asarray(lead_ii, dtype=np.float64)
    n = len(x)
    if not np.any(x != x[0]):
        return np.zeros(n, dtype=bool)
    xqrs = processing.XQRS(sig=x, fs=float(fs))
    xqrs.detect(verbose=False)
    peaks = np.asarray(xqrs.qrs_inds, dtype=np.int64)
    before, after = int(round(DETECTOR_BEFORE_S * fs)), int(round(DETECTOR_AFTER_S * fs))
    return track_from_intervals(np.stack([peaks - before, peaks + after], axis=1), n)


def pack(tracks: np.ndarray) -> np.ndarray:
    """(B, L) bool -> (B, ceil(L / 8)) uint8, what the cache stores."""
    return np.packbits(np.asarray(tracks, dtype=bool), axis=-1)


def unpack(packed: np.ndarray, length: int) -> np.ndarray:
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=length).astype(bool)
