"""LUDB as a source: labels from the header, the cardiologists' QRS track, the whole ingest."""

import shutil

import numpy as np
import pytest

from ecgmask.data import EcgCache, LudbSource, PreprocessParams, RecordError, build_cache
from ecgmask.data.ludb import parse_header_labels, rhythm_from_comment
from ecgmask.data.qrs import read_annotations


@pytest.mark.parametrize("text,rhythm", [
    ("Sinus rhythm.", "SR"), ("Sinus arrhythmia.", "SR"), ("Irregular sinus rhythm.", "SR"),
    ("Sinus bradycardia.", "SB"), ("Sinus tachycardia.", "GSVT"), ("Atrial fibrillation.", "AFIB"),
    ("Atrial flutter, typical.", "AFIB"), ("Pacemaker rhythm.", None),
])
def test_rhythm_mapping(text, rhythm):
    assert rhythm_from_comment(text) == rhythm


def test_header_labels():
    got = parse_header_labels(["<age>: 51", "<sex>: F", "<diagnoses>:", "Rhythm: Sinus bradycardia.",
                               "Electric axis of the heart: left axis deviation."])
    assert got == {"age": 51.0, "sex": "F", "rhythm_text": "Sinus bradycardia."}


@pytest.fixture
def ludb(real_records):
    root = real_records / "ludb"
    if not (root / "RECORDS").is_file():
        pytest.skip(f"LUDB not found at {root}")
    return root


def small_copy(ludb, tmp_path, numbers):
    """An LUDB folder with the records `numbers` only."""
    root = tmp_path / "ludb"
    (root / "data").mkdir(parents=True)
    for n in numbers:
        for f in (ludb / "data").glob(f"{n}.*"):
            shutil.copy(f, root / "data" / f.name)
    (root / "RECORDS").write_text("".join(f"data/{n}\n" for n in numbers))
    return root


def test_record_one_read_with_its_labels_and_qrs(ludb):
    source = LudbSource(ludb)
    item = next(i for i in source.items() if i.name == "ludb1")
    rec = source.read(item)
    assert (rec.fs, rec.signal.shape, rec.sex, rec.age, rec.rhythm) == (500.0, (12, 5000), "F", 51.0, "SB")
    intervals, span = rec.extra["qrs"], rec.extra["qrs_span"]
    # lead ii's first QRS is 644..682 (its annotation file): inside the union's first interval
    assert intervals[0, 0] <= 644 and intervals[0, 1] >= 682
    assert span[0] <= 644 and 3900 < span[1] < 5000
    widths = (intervals[:, 1] - intervals[:, 0]) / 500
    assert 0.06 < np.median(widths) < 0.16  # QRS durations in seconds


def test_missing_annotations_and_unknown_rhythm_are_rejected(ludb, tmp_path):
    root = small_copy(ludb, tmp_path, [1, 2])
    for f in (root / "data").glob("2.*"):
        if f.suffix not in (".hea", ".dat"):
            f.unlink()
    hea = root / "data" / "1.hea"
    hea.write_text(hea.read_text().replace("Rhythm: Sinus bradycardia.", "Rhythm: Pacemaker rhythm."))
    source = LudbSource(root)
    items = {i.name: i for i in source.items()}
    with pytest.raises(RecordError, match="rhythm outside"):
        source.read(items["ludb1"])
    with pytest.raises(RecordError, match="no QRS annotations"):
        source.read(items["ludb2"])


def test_small_ingest_carries_the_track_resampled(ludb, tmp_path):
    root = small_copy(ludb, tmp_path, [1, 2, 3])
    params = PreprocessParams(fs=100, length=1000, stride=400)
    cache = EcgCache.open(build_cache(LudbSource(root), tmp_path / "c", params, workers=1, progress=False))
    assert len(cache) == 3 and list(cache.records["qrs_source"]) == ["annotation"] * 3
    qrs, known = cache.qrs_track(np.arange(3))
    intervals, span = read_annotations(root / "data" / "1.hea")
    row = int(np.flatnonzero(cache.records["record"] == "ludb1")[0])
    assert qrs[row, int(round(intervals[0, 0] / 5))] and not known[row, :10].any()
    assert 0.08 < (qrs & known).sum() / known.sum() < 0.3


@pytest.mark.slow
def test_prepare_ingests_all_of_ludb(ludb, tmp_path):
    from ecgmask.data.cache import format_summary

    params = PreprocessParams(fs=100, length=1000, stride=400)
    path = build_cache(LudbSource(ludb), tmp_path, params, progress=False)
    meta = EcgCache.open(path).meta
    s = meta["summary"]
    assert s["kept_records"] == 200 and s["qrs_annotated"] == 200
    assert s["rhythm"] == {"AFIB": 18, "GSVT": 4, "SB": 25, "SR": 153}
    assert s["sex"] == {"F": 85, "M": 115}
    assert "QRS track: 200" in format_summary(meta, path)


def test_prepare_ludb_subcommand(ludb, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    prepare = Path(__file__).resolve().parents[2] / "sweep" / "prepare.py"
    spec = importlib.util.spec_from_file_location("prepare_cli_ludb", prepare)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = small_copy(ludb, tmp_path, [1, 2])
    assert module.main(["ludb", "--root", str(root), "--out", str(tmp_path / "out"), "--fs", "100",
                        "--length", "1000", "--stride", "400", "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 kept" in out and "QRS track: 2" in out and "SB 1" in out
