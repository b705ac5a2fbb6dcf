import shutil

import numpy as np
import pytest
import wfdb

from ecgmask.data.records import (
    LEADS,
    RecordError,
    WfdbSource,
    list_wfdb_headers,
    parse_comments,
    read_wfdb_record,
    select_leads,
)

from .conftest import ecg_like, write_record


def test_parse_comments_both_forms():
    a = parse_comments(["Age: 63", "Sex: Male", "Dx: 426783006,164865005"])
    b = parse_comments(["# age: 63", "# sex: male", "# dx: 426783006, 164865005"])
    assert a == b == {"age": 63.0, "sex": "M", "dx": ("426783006", "164865005")}
    assert parse_comments(["Sex: Female", "Age: NaN"]) == {"age": None, "sex": "F", "dx": ()}
    assert parse_comments(["Sex: Unknown", "Age: Unknown", "Dx: "]) == {"age": None, "sex": None, "dx": ()}
    assert parse_comments([]) == {"age": None, "sex": None, "dx": ()}


def test_select_leads_by_name_case_insensitive_in_standard_order():
    names = ["vx", "v6", "V5", "v4", "v3", "v2", "V1", "AVF", "avl", "aVR", "iii", "II", "i", "vy"]
    idx = select_leads(names)
    assert [names[i].lower() for i in idx] == [lead.lower() for lead in LEADS]


def test_select_leads_names_missing_leads():
    with pytest.raises(RecordError, match=r"fewer than 12 leads: has II, V, PLETH; missing I, III, aVR"):
        select_leads(["II", "V", "PLETH"])


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


def test_source_lists_headers_recursively(tmp_path):
    write_record(tmp_path / "g1", "A1")
    write_record(tmp_path / "g2" / "deep", "A2")
    write_record(tmp_path / ".hidden", "A3")
    assert [p.name for p in list_wfdb_headers(tmp_path)] == ["A1.hea", "A2.hea"]
    items = WfdbSource([tmp_path]).work_items()
    assert [i["source"] for i in items] == [tmp_path.name] * 2
    with pytest.raises(FileNotFoundError, match="not a directory"):
        WfdbSource([tmp_path / "nope"]).work_items()


def test_ptb_patient_folder_is_the_patient_id(tmp_path, real_records):
    folder = tmp_path / "patient001"
    folder.mkdir()
    for suffix in (".hea", ".dat", ".xyz"):
        shutil.copy(real_records / f"s0010_re{suffix}", folder)
    assert read_wfdb_record(folder / "s0010_re.hea").patient_id == "patient001"
