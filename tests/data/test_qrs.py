"""The QRS track: annotations (LUDB convention), resampling, windowing, the cache, the detector."""

from pathlib import Path

import numpy as np
import pytest

from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache
from ecgmask.data import qrs as Q
from ecgmask.data.corpora.synthetic import qrs_complexes, sample_params, synthesize_record, write_synthetic_tree


def test_intervals_from_annotation_keeps_whole_qrs_only():
    samples = [5, 10, 20, 30, 40, 50, 60, 70, 80, 95]
    symbols = ["N", ")", "(", "p", ")", "(", "N", ")", "(", "N"]  # cut QRS at both edges
    assert Q.intervals_from_annotation(samples, symbols).tolist() == [[50, 70]]


def test_merge_intervals_is_the_union():
    got = Q.merge_intervals(np.array([[10, 20], [0, 5], [15, 30], [31, 33], [40, 41]]))
    assert got.tolist() == [[0, 5], [10, 33], [40, 41]]


def test_annotation_round_trip(tmp_path):
    intervals = np.array([[100, 140], [600, 650]])
    Q.write_annotation(tmp_path / "R1", 500, intervals, np.array([120, 620]))
    (tmp_path / "R1.hea").write_text("R1 12 500 1000\n")
    got, span = Q.read_annotations(tmp_path / "R1.hea")
    assert got.tolist() == intervals.tolist() and span is None  # a generator's .qrs: the whole record
    assert Q.read_annotations(tmp_path / "R1.hea", extensions=("ii",)) is None


def test_lead_annotations_are_united_over_leads_with_their_span(tmp_path):
    (tmp_path / "R2.hea").write_text("R2 12 500 5000\n")
    Q.write_annotation(tmp_path / "R2", 500, np.array([[700, 740], [1500, 1540]]), np.array([720, 1520]), "ii")
    Q.write_annotation(tmp_path / "R2", 500, np.array([[690, 735], [3000, 3040]]), np.array([710, 3020]), "avf")
    got, span = Q.read_annotations(tmp_path / "R2.hea")
    assert got.tolist() == [[690, 740], [1500, 1540], [3000, 3040]]
    assert span == (690, 3040)


def test_track_through_resampling_and_windowing():
    # 1000 Hz record of 3000 samples -> 500 Hz (1500) -> windows of 1000, stride 400 -> 2
    intervals = np.array([[200, 298], [2200, 2298]])
    windows = Q.window_track(intervals, 1000, 3000, 500, 1000, 400, span=(100, 2999))
    assert windows.shape == (2, 2, 1000)
    assert np.flatnonzero(windows[0, 0]).tolist() == list(range(100, 150))
    # the second QRS lies at 1100..1149 at 500 Hz: sample 700.. of window 2 (start 400)
    assert np.flatnonzero(windows[1, 0]).tolist() == list(range(700, 750))
    # annotated from 100 at 1000 Hz = 50 at 500 Hz to the end
    assert np.flatnonzero(~windows[0, 1]).tolist() == list(range(50)) and windows[1, 1].all()


def test_track_centre_padded_like_the_signal():
    windows = Q.window_track(np.array([[0, 9]]), 500, 100, 500, 200, 100)
    assert windows.shape == (1, 2, 200)
    assert np.flatnonzero(windows[0, 0]).tolist() == list(range(50, 60))
    assert np.flatnonzero(windows[0, 1]).tolist() == list(range(50, 150))  # the padding is not annotated


def test_pack_round_trip():
    rng = np.random.default_rng(0)
    tracks = rng.random((3, 21)) > 0.5
    assert np.array_equal(Q.unpack(Q.pack(tracks), 21), tracks)


def test_synthetic_qrs_matches_its_duration_and_lies_on_the_signal():
    p = sample_params(3, 7, rhythm="SR")
    intervals, peaks = qrs_complexes(p, 500, 10.0)
    widths = (intervals[:, 1] - intervals[:, 0]) / 500
    inner = widths[1:-1]
    assert np.allclose(inner, p.qrs_duration, atol=0.01)
    assert np.all((peaks >= intervals[:, 0]) & (peaks <= intervals[:, 1]))
    # the QRS carries the signal's steepest slopes: most of the top-1% |dx/dt| lies inside it
    x = synthesize_record(p, 500, 10.0, noise=False)
    slope = np.abs(np.diff(x, axis=1)).sum(axis=0)
    track = Q.track_from_intervals(intervals, x.shape[1])
    top = slope > np.quantile(slope, 0.99)
    assert track[1:][top].mean() > 0.9


def test_synthetic_tree_to_cache_carries_the_track(tmp_path):
    tree = write_synthetic_tree(tmp_path / "tree", 2, seed=5, progress=False, workers=1)
    hea = sorted(Path(tree).rglob("*.hea"))[0]
    assert hea.with_suffix(".qrs").is_file()
    params = PreprocessParams(fs=250, length=1000, stride=500)
    path = build_cache(WfdbSource(tree), tmp_path / "cache", params, progress=False, workers=1)
    cache = EcgCache.open(path)
    assert list(cache.records["qrs_source"]) == ["annotation"] * len(cache)
    tracks, known = cache.qrs_track(np.arange(len(cache)))
    assert tracks.shape == known.shape == (len(cache), 1000) and known.all()
    number = int(cache.records["record"][0][3:])
    intervals, _ = qrs_complexes(sample_params(5, number), 500, 10.0)
    expected = Q.window_track(intervals, 500, 5000, 250, 1000, 500)[:, 0]
    assert np.array_equal(tracks[: len(expected)], expected)
    assert 0.05 < tracks.mean() < 0.35  # QRS is a minority of the time


def test_cache_without_annotations_has_an_all_false_track(tmp_path):
    from .conftest import write_record

    root = tmp_path / "tree"
    root.mkdir()
    write_record(root, "A0001", seed=1)
    cache = EcgCache.open(build_cache(WfdbSource(root), tmp_path / "c", progress=False, workers=1))
    assert cache.records["qrs_source"].isna().all()
    qrs, known = cache.qrs_track([0])
    assert not qrs.any() and not known.any()


def test_detector_finds_the_synthetic_qrs():
    p = sample_params(3, 11, rhythm="SR")
    x = synthesize_record(p, 500, 10.0)
    intervals, peaks = qrs_complexes(p, 500, 10.0)
    detected = Q.detect_qrs(x[1], 500)
    truth = Q.track_from_intervals(intervals, x.shape[1])
    # most detected QRS time is true QRS time, and most true complexes are hit
    assert (detected & truth).sum() / detected.sum() > 0.6
    assert np.mean([detected[a : b + 1].any() for a, b in intervals]) > 0.8


def test_unreadable_annotation_names_the_file(tmp_path):
    (tmp_path / "R1.hea").write_text("R1 12 500 1000\n")
    (tmp_path / "R1.qrs").write_bytes(b"\xff\x01garbage")
    with pytest.raises(ValueError, match="R1.qrs"):
        Q.read_annotations(tmp_path / "R1.hea")


def test_a_downstream_synthetic_tree_carries_the_track_too(tmp_path):
    from ecgmask.data import ChapmanSource

    tree = write_synthetic_tree(tmp_path / "tree", 3, seed=6, progress=False, workers=1)
    params = PreprocessParams(fs=100, length=1000, stride=400)
    cache = EcgCache.open(build_cache(ChapmanSource(tree), tmp_path / "c", params, progress=False, workers=1))
    assert cache.records["qrs_source"].notna().all()
    qrs, known = cache.qrs_track(np.arange(len(cache)))
    assert known.all() and 0.05 < qrs.mean() < 0.35
