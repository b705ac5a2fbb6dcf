import csv

import numpy as np
import pytest
import wfdb

from ecgmask.data import EcgCache, PreprocessParams, PtbxlSource, build_cache, format_summary, split_indices
from ecgmask.data.ptbxl import parse_scp_codes, rhythm_from_scp, superclass_from_scp

from .conftest import ecg_like

PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]  # as PTB-XL spells them
ROWS = [
    # ecg_id, patient_id, sex, age, scp_codes, strat_fold
    (1, 101.0, 0, 56.0, "{'NORM': 100.0, 'SR': 0.0}", 1),
    (2, 101.0, 0, 57.0, "{'IMI': 35.0, 'ABQRS': 0.0, 'AFIB': 0.0}", 1),
    (3, 102.0, 1, 300.0, "{'STACH': 0.0, 'LVH': 50.0, 'NDT': 100.0}", 9),
    (4, 103.0, 1, 71.0, "{'PACE': 100.0, 'CLBBB': 100.0}", 10),
    (5, 104.0, 0, 64.0, "{'SBRAD': 0.0, 'AFLT': 0.0}", 2),
    (6, 105.0, 1, 40.0, "{'SARRH': 0.0, 'NORM': 100.0}", 3),
    (7, 106.0, 0, 33.0, "{'NORM': 100.0, 'SR': 0.0}", 4),  # its .dat files are missing
    (8, 107.0, 1, 45.0, "NORM and SR", 5),  # not a dict
]
STATEMENTS = [
    # code, diagnostic, rhythm, diagnostic_class
    ("NORM", 1.0, "", "NORM"),
    ("IMI", 1.0, "", "MI"),
    ("NDT", 1.0, "", "STTC"),
    ("LVH", 1.0, "", "HYP"),
    ("CLBBB", 1.0, "", "CD"),
    ("ABQRS", "", "", ""),
    ("SR", "", 1.0, ""),
    ("AFIB", "", 1.0, ""),
    ("STACH", "", 1.0, ""),
    ("SBRAD", "", 1.0, ""),
    ("AFLT", "", 1.0, ""),
    ("PACE", "", 1.0, ""),
    ("SARRH", "", 1.0, ""),
]
SECONDS = 2.0


def ptbxl_tree(root):
    """A PTB-XL-layout release: the two tables and each record at 100 and 500 Hz."""
    root.mkdir(parents=True)
    with open(root / "ptbxl_database.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ecg_id", "patient_id", "age", "sex", "height", "weight", "scp_codes", "strat_fold",
                    "filename_lr", "filename_hr"])  # fmt: skip
        for ecg_id, patient, sex, age, codes, fold in ROWS:
            lr, hr = f"records100/00000/{ecg_id:05d}_lr", f"records500/00000/{ecg_id:05d}_hr"
            w.writerow([ecg_id, patient, age, sex, "", "", codes, fold, lr, hr])
            for name, fs in ((lr, 100), (hr, 500)):
                folder = (root / name).parent
                folder.mkdir(parents=True, exist_ok=True)
                x = ecg_like(np.random.default_rng(ecg_id), int(SECONDS * fs), fs).T.astype(np.float64)
                wfdb.wrsamp(root.joinpath(name).name, fs=fs, units=["mV"] * 12, sig_name=PTBXL_LEADS,
                            p_signal=x, fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                            write_dir=str(folder))  # fmt: skip
                if ecg_id == 7:
                    (folder / f"{root.joinpath(name).name}.dat").unlink()
    with open(root / "scp_statements.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "description", "diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"])
        for code, diagnostic, rhythm, cls in STATEMENTS:
            w.writerow([code, code.lower(), diagnostic, "", rhythm, cls, ""])
    return root


@pytest.fixture
def ptbxl(tmp_path):
    return ptbxl_tree(tmp_path / "ptbxl")


def test_rate_prefers_the_stored_rate_at_or_above_the_target(tmp_path):
    assert [PtbxlSource(tmp_path, fs=f).rate for f in (50, 100, 101, 250, 500, 1000)] == [100, 100, 500, 500, 500, 500]


def test_labels_from_the_statements():
    assert parse_scp_codes("{'NORM': 100.0, 'SR': 0.0}") == {"NORM": 100.0, "SR": 0.0}
    with pytest.raises(ValueError, match="not a dict"):
        parse_scp_codes("NORM")
    assert rhythm_from_scp({"AFLT": 0.0}) == ("AFIB", None)
    assert rhythm_from_scp({"PSVT": 100.0, "NORM": 100.0}) == ("GSVT", None)
    assert rhythm_from_scp({"NORM": 100.0}) == (None, "rhythm outside AFIB/GSVT/SB/SR: SCP NORM")
    assert rhythm_from_scp({"SR": 0.0, "AFIB": 0.0})[1] == "conflicting rhythm labels: AFIB/SR (SCP AFIB,SR)"
    classes = {"NORM": "NORM", "IMI": "MI", "LVH": "HYP", "NDT": "STTC"}
    assert superclass_from_scp({"LVH": 0.0, "IMI": 0.0, "NDT": 15.0}, classes) == "MI,STTC,HYP"
    assert superclass_from_scp({"SR": 0.0}, classes) == ""


@pytest.mark.parametrize("fs, folder, length", [(100, "records100", 200), (250, "records500", 500)])
def test_cache_labels_folds_and_rate(ptbxl, tmp_path, fs, folder, length):
    source = PtbxlSource(ptbxl, fs=fs)
    path = build_cache(source, tmp_path / "c", PreprocessParams(fs=fs, length=length, stride=length),
                       workers=1, progress=False)  # fmt: skip
    cache = EcgCache.open(path)
    assert cache.meta["kind"] == "downstream" and cache.meta["sources"][0]["records"] == folder
    recs = cache.records.set_index("record")
    suffix = "lr" if fs == 100 else "hr"
    assert list(recs.index) == [f"{i:05d}_{suffix}" for i in range(1, 7)]  # one window each
    rows = {int(name[:5]): row for name, row in recs.iterrows()}
    assert [rows[i].rhythm for i in range(1, 7)] == ["SR", "AFIB", "GSVT", None, None, "SR"]
    assert [rows[i].superclass for i in range(1, 7)] == ["NORM", "MI", "STTC,HYP", "CD", "", "NORM"]
    assert [rows[i].fold for i in range(1, 7)] == [1, 1, 9, 10, 2, 3]
    assert [rows[i].sex for i in range(1, 7)] == ["M", "M", "F", "F", "M", "F"]
    assert rows[1].patient_id == rows[2].patient_id == "101" and np.isnan(rows[3].age) and rows[4].age == 71.0
    assert rows[2].dx == "ABQRS,AFIB,IMI" and rows[2].source == "ptbxl"
    with open(path / "rejected.csv") as f:
        reasons = {r["path"]: r["reason"] for r in csv.DictReader(f)}
    assert reasons == {
        str(ptbxl / folder / "00000" / f"00007_{suffix}.hea"): f"missing signal file: 00007_{suffix}.dat",
        str(ptbxl / folder / "00000" / f"00008_{suffix}.hea"):
            "unparseable scp_codes: scp_codes 'NORM and SR' is not a dict of statements",
    }  # fmt: skip
    summary = cache.meta["summary"]
    assert summary["kept_without_label"] == {"rhythm outside AFIB/GSVT/SB/SR": 1, "conflicting rhythm labels": 1}
    assert summary["superclass"] == {"CD": 1, "HYP": 1, "MI": 1, "NORM": 2, "STTC": 1, "none": 1}
    text = format_summary(cache.meta, path)
    assert "kept without a label: 1 conflicting rhythm labels" in text and "superclass: CD 1" in text
    split = split_indices(cache.records, seed=3)  # the dataset's folds, not ours
    assert set(cache.records.fold.iloc[split["test"]]) == {10} and set(cache.records.fold.iloc[split["val"]]) == {9}


def test_read_gives_millivolts_of_the_chosen_rate(ptbxl):
    source = PtbxlSource(ptbxl, fs=500)
    item = next(i for i in source.items() if i.name == "00003_hr")
    rec = source.read(item)
    ref = wfdb.rdrecord(str(ptbxl / "records500" / "00000" / "00003_hr")).p_signal.T
    assert rec.fs == 500.0 and rec.signal.shape == (12, 1000)
    np.testing.assert_allclose(rec.signal, ref, atol=1e-6)
    assert (rec.rhythm, rec.superclass, rec.fold, rec.sex, rec.age) == ("GSVT", "STTC,HYP", 9, "F", None)


def test_missing_tables_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="scp_statements.csv: missing"):
        PtbxlSource(tmp_path / "empty").items()
    (tmp_path / "empty" / "scp_statements.csv").write_text(",diagnostic,diagnostic_class\nNORM,1.0,NORM\n")
    with pytest.raises(FileNotFoundError, match="ptbxl_database.csv: missing; is .* a PTB-XL release folder"):
        PtbxlSource(tmp_path / "empty").items()
