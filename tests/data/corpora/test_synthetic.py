"""The synthetic Challenge-layout corpus: file format, physiology, rhythms, balance, determinism."""

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import wfdb

from ecgmask.data.corpora import synthetic as syn
from ecgmask.data.corpora.synthetic import LEADS, sample_params, synthesize_record, write_synthetic_tree

FS = 500


def r_peaks(signal: np.ndarray, fs: int = FS) -> np.ndarray:
    """R-peak sample indices of a noise-free 12-lead signal: QRS slopes dominate the energy."""
    energy = (np.diff(signal, axis=1) ** 2).sum(0)
    width = int(0.04 * fs)
    energy = np.convolve(energy, np.ones(width) / width, mode="same")
    peaks, _ = scipy.signal.find_peaks(energy, height=0.2 * energy.max(), distance=int(0.2 * fs))
    return peaks


def detected_rate(p) -> float:
    x = synthesize_record(p, FS, 10, noise=False)
    return 60.0 / np.median(np.diff(r_peaks(x)) / FS)


def hea_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.hea"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return write_synthetic_tree(tmp_path_factory.mktemp("syn") / "tree", 12, seed=7, progress=False, workers=1)


def test_tree_layout_and_header(tree):
    heas = hea_files(tree)
    assert [h.stem for h in heas] == [f"SYN{i:06d}" for i in range(1, 13)]
    assert all(h.with_suffix(".mat").is_file() for h in heas)
    assert (tree / "g1" / "RECORDS").read_text().split() == [h.stem for h in heas]
    lines = heas[0].read_text().splitlines()
    assert lines[0] == "SYN000001 12 500 5000"
    fields = lines[1].split()
    assert fields[:5] == ["SYN000001.mat", "16+24", "1000/mV", "16", "0"] and fields[-1] == "I"
    assert [ln.split()[-1] for ln in lines[1:13]] == list(LEADS)
    comments = [ln for ln in lines if ln.startswith("#")]
    assert [c.split(":")[0] for c in comments] == ["#Age", "#Sex", "#Dx", "#Rx", "#Hx", "#Sx"]
    p = sample_params(7, 1)
    assert comments[:3] == [f"#Age: {p.age}", f"#Sex: {p.sex}", f"#Dx: {p.dx}"]


def test_wfdb_reads_physical_values(tree):
    hea = hea_files(tree)[3]
    rec = wfdb.rdrecord(str(hea.with_suffix("")))
    assert rec.sig_name == list(LEADS) and rec.fs == FS and rec.p_signal.shape == (5000, 12)
    assert rec.fmt == ["16"] * 12 and rec.adc_gain == [1000.0] * 12 and rec.units == ["mV"] * 12
    expected = synthesize_record(sample_params(7, 4), FS, 10)
    np.testing.assert_allclose(rec.p_signal.T, expected, atol=0.5e-3 + 1e-9)
    assert np.abs(expected).max() > 0.3  # a real ECG, not a flat line
    # the MATLAB v4 matrix holds the same integers
    import scipy.io

    val = scipy.io.loadmat(hea.with_suffix(".mat"))["val"]
    assert val.dtype == np.int16 and val.shape == (12, 5000)
    np.testing.assert_array_equal(val, np.round(rec.p_signal.T * 1000))
    # header checksums and initial values match the samples (wfdb would warn otherwise)
    head = wfdb.rdheader(str(hea.with_suffix("")))
    assert head.init_value == [int(v) for v in val[:, 0]]
    assert head.checksum == [int((s + 2**15) % 2**16 - 2**15) for s in val.astype(np.int64).sum(1)]


def test_limb_lead_identities_in_written_signals(tree):
    for hea in hea_files(tree)[:4]:
        v = wfdb.rdrecord(str(hea.with_suffix("")), physical=False).d_signal.T.astype(float)
        lead = {name: v[i] for i, name in enumerate(LEADS)}
        assert np.abs(lead["III"] - (lead["II"] - lead["I"])).max() <= 1
        assert np.abs(lead["aVR"] + (lead["I"] + lead["II"]) / 2).max() <= 1.5
        assert np.abs(lead["aVL"] - (lead["I"] - lead["II"] / 2)).max() <= 1.5
        assert np.abs(lead["aVF"] - (lead["II"] - lead["I"] / 2)).max() <= 1.5


def test_same_seed_same_bytes_and_reuse(tree, tmp_path):
    again = write_synthetic_tree(tmp_path / "again", 12, seed=7, progress=False, workers=1)
    for a, b in zip(sorted(tree.rglob("*.*")), sorted(again.rglob("*.*"))):
        assert a.relative_to(tree) == b.relative_to(again)
        assert a.read_bytes() == b.read_bytes(), a.name
    # a complete tree is reused untouched; other parameters replace it
    stamp = (again / "g1" / "SYN000001.mat").stat().st_mtime_ns
    assert write_synthetic_tree(again, 12, seed=7, progress=False) == again
    assert (again / "g1" / "SYN000001.mat").stat().st_mtime_ns == stamp
    write_synthetic_tree(again, 3, seed=8, progress=False, workers=1)
    assert len(hea_files(again)) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_worker_processes_write_the_same_bytes(tmp_path):
    one = write_synthetic_tree(tmp_path / "one", 30, seed=3, progress=False, workers=1)
    two = write_synthetic_tree(tmp_path / "two", 30, seed=3, progress=False, workers=2)
    files = sorted(p.relative_to(one) for p in one.rglob("*.*"))
    assert files == sorted(p.relative_to(two) for p in two.rglob("*.*")) and len(files) == 91  # .hea .mat .qrs + RECORDS
    assert all((one / f).read_bytes() == (two / f).read_bytes() for f in files)


def test_incomplete_tree_is_not_reused(tmp_path):
    out = tmp_path / "t"
    (out / "g1").mkdir(parents=True)
    (out / "g1" / "SYN000001.hea").write_text("truncated")
    assert not syn.tree_is_complete(out)
    write_synthetic_tree(out, 2, seed=1, progress=False, workers=1)
    assert syn.tree_is_complete(out) and len(hea_files(out)) == 2
    wfdb.rdrecord(str(out / "g1" / "SYN000001"))


def test_different_seeds_and_offsets_give_different_patients(tmp_path):
    a = write_synthetic_tree(tmp_path / "a", 3, seed=1, patient_offset=0, progress=False, workers=1)
    b = write_synthetic_tree(tmp_path / "b", 3, seed=2, patient_offset=500_000, progress=False, workers=1)
    names_a = {h.stem for h in hea_files(a)}
    names_b = {h.stem for h in hea_files(b)}
    assert not names_a & names_b
    assert (a / "g1" / "SYN000001.mat").read_bytes() != (b / "g1" / "SYN500001.mat").read_bytes()
    assert sample_params(1, 5) != sample_params(2, 5)


@pytest.mark.parametrize(
    "rhythm, lo, hi",
    [("SR", 60, 100), ("SB", 40, 59.5), ("GSVT", 100, 220), ("AFIB", 40, 200)],
)
def test_heart_rate_from_r_peaks_in_class_range(rhythm, lo, hi):
    for number in range(1, 7):
        p = sample_params(11, number, rhythm=rhythm)
        rate = detected_rate(p)
        assert lo - 2 <= rate <= hi + 2, (p.dx, p.heart_rate, rate)
        if rhythm != "AFIB":  # AF's median RR need not match its mean rate
            assert abs(rate - p.heart_rate) < 0.06 * p.heart_rate, (p.dx, p.heart_rate, rate)


def test_afib_rr_irregular_sinus_regular():
    def rr_cv(rhythm, atrial):
        cvs = []
        number = 0
        while len(cvs) < 5:
            number += 1
            p = sample_params(12, number, rhythm=rhythm)
            if p.atrial != atrial:
                continue
            rr = np.diff(r_peaks(synthesize_record(p, FS, 10, noise=False))) / FS
            # successive differences: irregularly irregular vs slowly modulated sinus
            cvs.append(np.abs(np.diff(rr)).mean() / rr.mean())
        return np.array(cvs)

    sr, afib = rr_cv("SR", "sinus"), rr_cv("AFIB", "fibrillation")
    assert sr.max() < 0.05
    assert afib.min() > 0.08
    assert afib.min() > 2 * sr.max()


def test_p_waves_before_qrs_in_sinus_not_in_afib():
    def p_wave_height(p):
        x = synthesize_record(p, FS, 10, noise=False)
        lead_ii = x[LEADS.index("II")]
        heights = []
        for r in r_peaks(x)[1:-1]:
            qrs_on = r - int(0.05 * FS)
            window = lead_ii[qrs_on - int(0.22 * FS) : qrs_on - int(0.03 * FS)]
            heights.append(np.abs(window - lead_ii[qrs_on - int(0.25 * FS)]).max())
        return np.median(heights)

    sr = [p_wave_height(sample_params(13, n, rhythm="SR")) for n in range(1, 5)]
    afib_params = [sample_params(13, n, rhythm="AFIB") for n in range(1, 30)]
    afib = [p_wave_height(p) for p in afib_params if p.atrial == "fibrillation"][:4]
    assert min(sr) > 0.05
    assert np.median(afib) < np.median(sr)


def test_qrs_is_narrow_and_avr_negative():
    for number in range(1, 5):
        p = sample_params(14, number, rhythm="SR")
        assert 0.07 <= p.qrs_duration <= 0.12
        x = synthesize_record(p, FS, 10, noise=False)
        avr, lead_ii = x[LEADS.index("aVR")], x[LEADS.index("II")]
        # normal frontal axis: the dominant QRS deflection is negative in aVR
        assert -avr.min() > avr.max()
        assert np.abs(lead_ii).max() > 0.2


def test_class_balance_and_sex_ratio_as_in_method():
    params = [sample_params(3, n) for n in range(1, 2001)]
    rhythms = np.array([p.rhythm for p in params])
    for rhythm, share in syn.CLASS_PROBS.items():
        assert abs((rhythms == rhythm).mean() - share) < 0.03, rhythm
    male = np.mean([p.sex == "Male" for p in params])
    assert abs(male - 0.56) < 0.03
    age = {r: np.mean([p.age for p in params if p.rhythm == r]) for r in syn.CLASS_PROBS}
    assert age["AFIB"] > max(age["SR"], age["GSVT"]) + 10
    assert all(18 <= p.age <= 95 for p in params)
    codes = {p.dx for p in params}
    assert {"164889003", "164890007", "427084000", "426761007", "426177001", "426783006"} <= codes


def test_sex_differences_are_population_level_only():
    params = [sample_params(4, n) for n in range(1, 2001)]
    qtc = {s: np.array([p.qtc for p in params if p.sex == s]) for s in ("Male", "Female")}
    gap_ms = 1000 * (qtc["Female"].mean() - qtc["Male"].mean())
    assert 8 < gap_ms < 25
    # distributions overlap widely: a fifth or more of women have a QTc below the male median
    assert (qtc["Female"] < np.median(qtc["Male"])).mean() > 0.2
    volt = {s: np.array([p.qrs_scale for p in params if p.sex == s]) for s in ("Male", "Female")}
    assert volt["Male"].mean() > volt["Female"].mean()
    assert (volt["Female"] > np.median(volt["Male"])).mean() > 0.25


def test_noise_is_per_record_and_optional():
    p = sample_params(5, 1, rhythm="SR")
    clean = synthesize_record(p, FS, 10, noise=False)
    noisy = synthesize_record(p, FS, 10)
    resid = noisy - clean
    assert 0.001 < resid.std() < 0.5
    spec = np.abs(np.fft.rfft(resid[LEADS.index("II")]))
    freq = np.fft.rfftfreq(resid.shape[1], 1 / FS)
    assert spec[freq < 0.5].sum() > 0  # baseline wander
    assert np.array_equal(synthesize_record(p, FS, 10), noisy)  # deterministic
    # another sampling rate gives the same heart, resampled
    low = synthesize_record(p, 100, 10, noise=False)
    assert low.shape == (12, 1000)
    np.testing.assert_allclose(low, clean[:, ::5], atol=1e-4)


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="n_records"):
        write_synthetic_tree(tmp_path / "x", 0, seed=1, progress=False)
    with pytest.raises(ValueError, match="unknown rhythm"):
        sample_params(1, 1, rhythm="VT")


def test_default_study_builds_two_disjoint_caches_once(tmp_path):
    from ecgmask.data import EcgCache, task_labels
    from ecgmask.data.corpora.synthetic import default_study
    from ecgmask.profiles import LAPTOP

    profile = LAPTOP.with_overrides(pretrain_records=6, downstream_records=8)
    paths = default_study(tmp_path, profile, progress=False, workers=1)
    pre, down = EcgCache.open(paths["pretrain"]), EcgCache.open(paths["downstream"])
    assert pre.meta["kind"] == "pretrain" and down.meta["kind"] == "downstream"
    for cache in (pre, down):
        assert (cache.meta["fs"], cache.meta["length"], cache.meta["stride"]) == (100, 1000, 400)
        assert cache.signals.shape[1:] == (12, 1000)
    assert len(pre.records) == 6 and len(down.records) == 8  # 10 s at 100 Hz: one window each
    assert not set(pre.records["patient_id"]) & set(down.records["patient_id"])
    # downstream labels come from the SNOMED #Dx and #Sex of the headers
    for row in down.records.itertuples():
        p = sample_params(syn.DOWNSTREAM_SEED, int(row.record[3:]))
        assert (row.rhythm, row.sex, row.dx) == (p.rhythm, p.sex[0], p.dx)
    y, classes = task_labels(down.records, "arrhythmia")
    assert classes == ["AFIB", "GSVT", "SB", "SR"] and len(y) == 8
    assert (tmp_path / "synthetic-pretrain-seed1-n6" / "g1" / "SYN000001.mat").is_file()
    # a second call reuses the trees and the caches
    stamp = (paths["pretrain"] / "meta.json").stat().st_mtime_ns
    assert default_study(tmp_path, profile, progress=False, workers=1) == paths
    assert (paths["pretrain"] / "meta.json").stat().st_mtime_ns == stamp
