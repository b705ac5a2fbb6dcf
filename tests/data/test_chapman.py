import csv
import os

import numpy as np
import pytest

from ecgmask.data import LEADS, ChapmanSource, EcgCache, PreprocessParams, build_cache, task_labels
from ecgmask.data.chapman import read_chapman_csv
from ecgmask.data.record import RecordError

from .conftest import ecg_like, write_record

SMALL = PreprocessParams(fs=500, length=400, stride=400)
ROWS = [
    # FileName, Rhythm, Gender, PatientAge
    ("MUSE_1", "AFIB", "MALE", "70"),
    ("MUSE_2", "AF", "FEMALE", "64"),
    ("MUSE_3", "ST", "MALE", "35"),
    ("MUSE_4", "SVT", "FEMALE", "52"),
    ("MUSE_5", "SB", "MALE", "48"),
    ("MUSE_6", "SR", "FEMALE", "29"),
    ("MUSE_7", "SI", "MALE", "33"),
]


def write_csv_ecg(path, signal_mv, header=True):
    uv = np.round(signal_mv.T * 1000).astype(np.int64)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(LEADS)
        w.writerows(uv.tolist())


def chapman_csv_tree(root, rows=ROWS, n=800):
    (root / "ECGDataDenoised").mkdir(parents=True)
    with open(root / "Diagnostics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["FileName", "Rhythm", "Beat", "PatientAge", "Gender", "VentricularRate"])
        for i, (name, rhythm, sex, age) in enumerate(rows):
            w.writerow([name, rhythm, "NONE", age, sex, "80"])
            x = ecg_like(np.random.default_rng(i), n, 500)
            write_csv_ecg(root / "ECGDataDenoised" / f"{name}.csv", x, header=i % 2 == 0)
    return root


def test_read_csv_with_and_without_header(tmp_path):
    x = ecg_like(np.random.default_rng(0), 300, 500)
    write_csv_ecg(tmp_path / "h.csv", x, header=True)
    write_csv_ecg(tmp_path / "n.csv", x, header=False)
    a = read_chapman_csv(tmp_path / "h.csv", expected_samples=300)
    b = read_chapman_csv(tmp_path / "n.csv", expected_samples=300)
    np.testing.assert_allclose(a, np.round(x * 1000) / 1000, atol=1e-6)  # microvolts -> mV
    np.testing.assert_array_equal(a, b)


def test_csv_header_columns_are_picked_by_name(tmp_path):
    x = ecg_like(np.random.default_rng(0), 300, 500)
    order = list(reversed(LEADS))
    uv = np.round(x.T * 1000).astype(np.int64)
    with open(tmp_path / "r.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(order)
        w.writerows(uv.tolist())
    got = read_chapman_csv(tmp_path / "r.csv", expected_samples=300)
    np.testing.assert_allclose(got, np.round(x[::-1] * 1000) / 1000, atol=1e-6)


def test_csv_bad_files(tmp_path):
    x = ecg_like(np.random.default_rng(0), 300, 500)
    with pytest.raises(RecordError, match=r"missing signal file: gone\.csv"):
        read_chapman_csv(tmp_path / "gone.csv", expected_samples=300)
    write_csv_ecg(tmp_path / "short.csv", x[:, :250], header=False)
    with pytest.raises(RecordError, match=r"truncated signal file: short\.csv has 250 of 300 samples"):
        read_chapman_csv(tmp_path / "short.csv", expected_samples=300)
    write_csv_ecg(tmp_path / "long.csv", x, header=False)
    with pytest.raises(RecordError, match=r"wrong sample count: long\.csv has 300 samples, expected 200"):
        read_chapman_csv(tmp_path / "long.csv", expected_samples=200)
    text = (tmp_path / "long.csv").read_text()
    (tmp_path / "cut.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 4])
    with pytest.raises(RecordError, match=r"truncated signal file: cut\.csv"):
        read_chapman_csv(tmp_path / "cut.csv", expected_samples=300)
    write_csv_ecg(tmp_path / "narrow.csv", x[:3], header=False)
    with pytest.raises(RecordError, match="fewer than 12 leads"):
        read_chapman_csv(tmp_path / "narrow.csv", expected_samples=300)


def test_csv_form_cache_labels_and_exclusions(tmp_path):
    rows = ROWS + [("MUSE_8", "SR", "UNKNOWN", "40"), ("MUSE_9", "AVB", "MALE", "60"), ("MUSE_10", "SR", "MALE", "41")]
    root = chapman_csv_tree(tmp_path / "chapman", rows=rows)
    os.remove(root / "ECGDataDenoised" / "MUSE_10.csv")
    source = ChapmanSource(root, expected_samples=800)
    assert source.form == "csv"
    path = build_cache(source, tmp_path / "c", SMALL, workers=1, progress=False)
    cache = EcgCache.open(path)
    assert cache.meta["kind"] == "downstream"
    recs = cache.records[cache.records.window == 0].set_index("record")  # 2 windows a record
    assert list(recs.loc[[r[0] for r in ROWS], "rhythm"]) == ["AFIB", "AFIB", "GSVT", "GSVT", "SB", "SR", "SR"]
    assert recs.loc["MUSE_2", "dx"] == "164890007" and recs.loc["MUSE_7", "dx"] == "427393009"
    assert recs.loc["MUSE_1", "sex"] == "M" and recs.loc["MUSE_1", "age"] == 70.0
    assert recs.loc["MUSE_3", "patient_id"] == "MUSE_3"
    with open(path / "rejected.csv") as f:
        reasons = {os.path.basename(r["path"]): r["reason"] for r in csv.DictReader(f)}
    assert reasons == {
        "MUSE_8.csv": "unknown sex: 'UNKNOWN'",
        "MUSE_9.csv": "rhythm outside AFIB/GSVT/SB/SR: 'AVB'",
        "MUSE_10.csv": "missing signal file: MUSE_10.csv",
    }
    y, classes = task_labels(cache.records, "arrhythmia")
    assert classes == ["AFIB", "GSVT", "SB", "SR"] and list(y[:2]) == [0, 0]


def test_wfdb_form_is_detected(tmp_path):
    write_record(tmp_path / "WFDB", "JS00001", dx="426177001", sex="Female")
    source = ChapmanSource(tmp_path / "WFDB")
    assert source.form == "wfdb"
    cache = EcgCache.open(build_cache(source, tmp_path / "c", SMALL, workers=1, progress=False))
    assert list(cache.records.rhythm.unique()) == ["SB"] and list(cache.records.sex.unique()) == ["F"]


def test_diagnostics_missing_columns(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "Diagnostics.csv").write_text("FileName,Rhythm\nA,SR\n")
    with pytest.raises(ValueError, match="missing column"):
        ChapmanSource(root).items()
