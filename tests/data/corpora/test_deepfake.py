import filecmp
import json

import numpy as np
import pytest
import torch

pytest.importorskip("deepfakeecg", reason="the deepfake extra is not installed (pip install '.[deepfake]')")

from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache  # noqa: E402
from ecgmask.data.corpora import deepfake  # noqa: E402
from ecgmask.data.leads import INDEPENDENT_LEADS, LEADS  # noqa: E402
from ecgmask.data.wfdb_reader import read_wfdb_record  # noqa: E402

@pytest.fixture(scope="module")
def net():
    return deepfake.load_generator("cpu")


def test_generator_is_the_packaged_pulse2pulse(net):
    assert sum(p.numel() for p in net.parameters()) == 10_590_997
    assert not net.training


def test_loading_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    deepfake.load_generator("cpu")
    assert torch.equal(torch.rand(3), want)


def test_generation_is_seeded_per_record_with_ecg_shape_and_units(net):
    a = deepfake.generate(net, 0, [1, 2, 3])
    assert a.shape == (3, 8, 5000) and a.dtype == np.float32
    np.testing.assert_array_equal(a, deepfake.generate(net, 0, [1, 2, 3]))
    # a record does not depend on its batch (up to float rounding in the convolutions)
    np.testing.assert_allclose(deepfake.generate(net, 0, [2])[0], a[1], atol=1e-4)
    assert np.abs(deepfake.generate(net, 1, [1])[0] - a[0]).max() > 0.1  # another seed, another ECG
    # millivolts: resting ECG leads have an rms of tens to hundreds of uV and R waves under 6 mV
    lead_rms = np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=-1))
    assert np.all((lead_rms > 0.02) & (lead_rms < 1.0)), lead_rms
    assert np.abs(a).max() < deepfake.OUTPUT_UV / 1000 and a.max(axis=-1).max() > 0.3


def test_tree_is_wfdb_with_eight_leads_and_ingests_to_twelve(net, tmp_path):
    tree = deepfake.write_deepfake_tree(tmp_path / "tree", 3, 7, patient_offset=10, progress=False)
    assert (tree / "g1" / "RECORDS").read_text().split() == ["DFK000011", "DFK000012", "DFK000013"]
    manifest = json.loads((tree / deepfake.MANIFEST).read_text())
    assert manifest["n_records"] == 3 and manifest["package_version"] == "1.1.2"
    assert not list(tmp_path.glob(".tree.tmp-*"))  # built under a temporary name, renamed

    hea = tree / "g1" / "DFK000012.hea"
    header = hea.read_text()
    assert header.splitlines()[0] == "DFK000012 8 500 5000"
    assert [line.split()[-1] for line in header.splitlines()[1:9]] == list(INDEPENDENT_LEADS)
    assert "/mV" in header and "Sex: Unknown" in header and "Age: Unknown" in header
    rec = read_wfdb_record(hea)
    assert rec.derived_leads and rec.signal.shape == (12, 5000) and rec.fs == 500.0
    assert (rec.age, rec.sex, rec.dx) == (None, None, ())
    want = deepfake.generate(net, 7, [11, 12, 13])[1]  # as generated: one batch of three
    independent = rec.signal[[LEADS.index(lead) for lead in INDEPENDENT_LEADS]]
    np.testing.assert_allclose(independent, want, atol=0.5e-3 + 1e-6)  # stored in 1 uV steps

    mtime = hea.stat().st_mtime_ns
    assert deepfake.write_deepfake_tree(tmp_path / "tree", 3, 7, patient_offset=10, progress=False) == tree
    assert hea.stat().st_mtime_ns == mtime  # a complete tree with the same manifest is reused

    params = PreprocessParams(fs=500, length=5000, stride=2000)
    cache = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path / "cache", params, workers=1, progress=False))
    summary = cache.meta["summary"]
    assert summary["derived"] == 3 and summary["kept_records"] == 3 and cache.signals.shape == (3, 12, 5000)
    x = np.asarray(cache.signals, dtype=np.float64)
    lead_i, lead_ii = x[:, 0], x[:, 1]
    # III = II - I survives the record z-score and float16 storage (half an ulp of each term)
    assert np.all(np.abs(x[:, 2] - (lead_ii - lead_i)) <= 2.0**-11 * (np.abs(x[:, 2]) + np.abs(lead_i) + np.abs(lead_ii)) + 1e-5)


@pytest.mark.slow
def test_writer_processes_write_the_same_tree(tmp_path):
    inline = deepfake.write_deepfake_tree(tmp_path / "a", 6, 3, batch_size=4, workers=1, progress=False)
    pooled = deepfake.write_deepfake_tree(tmp_path / "b", 6, 3, batch_size=4, workers=2, progress=False)
    cmp = filecmp.dircmp(inline / "g1", pooled / "g1")
    assert sorted(cmp.same_files) == sorted(p.name for p in (inline / "g1").iterdir()) and len(cmp.same_files) == 13
    assert not cmp.diff_files
