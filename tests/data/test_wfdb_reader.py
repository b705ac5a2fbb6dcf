"""Reading one WFDB/Challenge record (`ecgmask.data.wfdb_reader`): the fast path against wfdb's,
8-lead records, real records, and every kind of bad input in words."""

import shutil

import numpy as np
import pytest
import wfdb

from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache, format_summary
from ecgmask.data.leads import INDEPENDENT_LEADS, LEADS, complete_leads
from ecgmask.data.record import RecordError
from ecgmask.data.wfdb_reader import read_wfdb_record

from .conftest import ecg_like, write_record


@pytest.mark.parametrize("layout", ["mat", "dat"])
def test_eight_lead_record_is_completed_to_twelve(tmp_path, layout):
    rng = np.random.default_rng(4)
    x = ecg_like(rng, 1000, 500, leads=8)
    if layout == "mat":
        hea = write_record(tmp_path, "E8", signal=x, leads=INDEPENDENT_LEADS)
    else:
        wfdb.wrsamp("E8", fs=500, units=["mV"] * 8, sig_name=list(INDEPENDENT_LEADS), p_signal=x.T.astype(np.float64),
                    fmt=["16"] * 8, adc_gain=[1000.0] * 8, baseline=[0] * 8, comments=["Age: 63", "Sex: Male"],
                    write_dir=str(tmp_path))  # fmt: skip
        hea = tmp_path / "E8.hea"
    rec = read_wfdb_record(hea)
    assert rec.derived_leads and rec.signal.shape == (12, 1000) and (rec.age, rec.sex) == (63.0, "M")
    stored = np.round(x * 1000) / 1000
    np.testing.assert_allclose(rec.signal[[0, 1, 6, 7, 8, 9, 10, 11]], stored, atol=1e-6)
    np.testing.assert_array_equal(rec.signal, complete_leads(rec.signal[[0, 1, 6, 7, 8, 9, 10, 11]]))
    assert not read_wfdb_record(write_record(tmp_path, "T12")).derived_leads


def test_ingest_counts_derived_records_and_rejects_a_missing_independent_lead(tmp_path, capsys):
    rng = np.random.default_rng(5)
    write_record(tmp_path / "in", "FULL")
    write_record(tmp_path / "in", "EIGHT", signal=ecg_like(rng, 1000, 500, leads=8), leads=INDEPENDENT_LEADS)
    seven = [lead for lead in INDEPENDENT_LEADS if lead != "V4"]
    write_record(tmp_path / "in", "SEVEN", signal=ecg_like(rng, 1000, 500, leads=7), leads=seven)
    params = PreprocessParams(fs=250, length=400, stride=200)
    path = build_cache(WfdbSource([tmp_path / "in"]), tmp_path / "cache", params, workers=1, progress=True)
    meta = EcgCache.open(path).meta
    assert meta["summary"]["derived"] == 1 and meta["summary"]["kept_records"] == 2
    assert meta["summary"]["rejected"] == {"fewer than 12 leads": 1}
    reasons = (path / "rejected.csv").read_text()
    assert "SEVEN.hea" in reasons and "independent leads missing: V4" in reasons
    text = format_summary(meta, path)
    assert "derived: 1 kept records had only I, II, V1-V6" in text and "derived: 1" in capsys.readouterr().out


def test_fast_path_equals_wfdb(tmp_path):
    rng = np.random.default_rng(1)
    x = ecg_like(rng, 1000, 500) * 3
    x[4, 10:13] = np.nan  # written as WFDB's invalid value
    hea = write_record(tmp_path, "A0001", signal=x)
    fast = read_wfdb_record(hea)
    slow = read_wfdb_record(hea, use_fast_path=False)
    ref = wfdb.rdrecord(str(tmp_path / "A0001")).p_signal.T
    # the fast path computes in float32, wfdb in float64: equal to float32 precision
    np.testing.assert_allclose(fast.signal, slow.signal, rtol=1e-6, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(fast.signal, ref, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert np.isnan(fast.signal[4, 10:13]).all()
    np.testing.assert_allclose(fast.signal, np.round(x * 1000) / 1000, atol=1e-6, equal_nan=True)
    assert (fast.age, fast.sex, fast.dx, fast.fs, fast.patient_id) == (63.0, "M", ("426783006",), 500.0, "A0001")


def test_leads_reordered_and_extra_signals_in_a_mat_record(tmp_path):
    rng = np.random.default_rng(2)
    order = list(reversed(LEADS)) + ["PLETH"]
    x = ecg_like(rng, 500, 500, leads=13)
    hea = write_record(tmp_path, "B1", signal=x, leads=order)
    rec = read_wfdb_record(hea)
    want = np.round(x[[order.index(lead) for lead in LEADS]] * 1000) / 1000
    np.testing.assert_allclose(rec.signal, want, atol=1e-6)
    np.testing.assert_allclose(rec.signal, read_wfdb_record(hea, use_fast_path=False).signal, rtol=1e-6, atol=1e-7)


def test_header_with_comment_before_record_line_and_dat_file(tmp_path):
    rng = np.random.default_rng(3)
    x = ecg_like(rng, 600, 250).T.astype(np.float64)
    wfdb.wrsamp("C1", fs=250, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x,
                fmt=["16"] * 12, adc_gain=[200.0] * 12, baseline=[0] * 12,
                comments=["age: 40", "sex: female"], write_dir=str(tmp_path))  # fmt: skip
    hea = tmp_path / "C1.hea"
    hea.write_text("# a comment before the record line\n" + hea.read_text())
    rec = read_wfdb_record(hea)
    assert rec.signal.shape == (12, 600) and rec.fs == 250.0
    assert (rec.age, rec.sex) == (40.0, "F")
    np.testing.assert_allclose(rec.signal, wfdb.rdrecord(str(tmp_path / "C1")).p_signal.T, atol=1e-6)


def test_real_ptb_record_gives_12_leads(real_records):
    rec = read_wfdb_record(real_records / "s0010_re.hea")
    assert rec.signal.shape == (12, 38400) and rec.fs == 1000.0
    assert (rec.age, rec.sex) == (81.0, "F")
    ref = wfdb.rdrecord(str(real_records / "s0010_re"), channels=list(range(12))).p_signal.T
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)


@pytest.mark.parametrize("name, has", [("a103l", "II, V, PLETH"), ("100", "MLII, V5")])
def test_real_records_with_few_signals_are_rejected(real_records, name, has):
    with pytest.raises(RecordError, match=rf"fewer than 12 leads: has {has}; missing I, "):
        read_wfdb_record(real_records / f"{name}.hea")


# ------------------------------------------------------------------ bad input


def test_missing_signal_file(tmp_path):
    hea = write_record(tmp_path, "M1")
    (tmp_path / "M1.mat").unlink()
    with pytest.raises(RecordError, match=r"missing signal file: M1\.mat"):
        read_wfdb_record(hea)


def test_truncated_mat_file(tmp_path):
    hea = write_record(tmp_path, "T1")
    mat = tmp_path / "T1.mat"
    mat.write_bytes(mat.read_bytes()[:5000])
    with pytest.raises(RecordError, match=r"truncated signal file: T1\.mat has 5000 bytes"):
        read_wfdb_record(hea)


def test_truncated_dat_file(tmp_path):
    x = ecg_like(np.random.default_rng(0), 1000, 500).T.astype(np.float64)
    wfdb.wrsamp("D1", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))  # fmt: skip
    dat = tmp_path / "D1.dat"
    dat.write_bytes(dat.read_bytes()[:9000])
    with pytest.raises(RecordError, match=r"truncated signal file: D1\.dat has 9000 bytes, expected 24000"):
        read_wfdb_record(tmp_path / "D1.hea")


def test_unparseable_header(tmp_path):
    hea = write_record(tmp_path, "U1")
    hea.write_text("U1 twelve 500 abc\nnonsense\n")
    with pytest.raises(RecordError, match=r"^unparseable header"):
        read_wfdb_record(hea)


def test_wrong_sample_count(tmp_path):
    hea = write_record(tmp_path, "W1", seconds=2.0)  # 1000 samples in the .mat
    text = hea.read_text().replace("W1 12 500 1000", "W1 12 500 1200", 1)
    hea.write_text(text)
    with pytest.raises(RecordError, match=r"wrong sample count: header says 1200 samples, W1\.mat holds 1000"):
        read_wfdb_record(hea)


def test_all_nan_lead(tmp_path):
    x = ecg_like(np.random.default_rng(0), 1000, 500)
    x[7] = np.nan
    hea = write_record(tmp_path, "N1", signal=x)
    with pytest.raises(RecordError, match=r"all-NaN lead: V2"):
        read_wfdb_record(hea)


def test_flat_lead(tmp_path):
    x = ecg_like(np.random.default_rng(0), 1000, 500)
    x[0] = 0.25
    x[11] = 0.0
    hea = write_record(tmp_path, "F1", signal=x)
    with pytest.raises(RecordError, match=r"flat lead \(constant signal\): I, V6"):
        read_wfdb_record(hea)


def test_unknown_age_sex_dx_are_kept_as_none(tmp_path):
    hea = write_record(tmp_path, "K1", age="Unknown", sex=None, dx=None)
    rec = read_wfdb_record(hea)
    assert (rec.age, rec.sex, rec.dx) == (None, None, ())


def test_ptb_patient_folder_is_the_patient_id(tmp_path, real_records):
    folder = tmp_path / "patient001"
    folder.mkdir()
    for suffix in (".hea", ".dat", ".xyz"):
        shutil.copy(real_records / f"s0010_re{suffix}", folder)
    assert read_wfdb_record(folder / "s0010_re.hea").patient_id == "patient001"
