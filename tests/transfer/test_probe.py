"""`run_probe` and `task_splits` (`ecgmask.transfer.probe`): every mode, nested fractions, the
labelled subset per seed, multi-label tasks, refusals, and (slow) the issue's proof that a short
pretraining probes better than a random encoder, and the multi-label task on a PTB-XL cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ecgmask.checkpoint import save_encoder
from ecgmask.models import ResNet1d18
from ecgmask.profiles import LAPTOP
from ecgmask.transfer import ProbeConfig, run_probe

from .fakes import (
    KEYS,
    MULTILABEL_KEYS,
    SUPERCLASSES,
    FakeCache,
    FakeSuperclassCache,
    probe_config,
    rhythm_labels,
    synthetic_downstream_cache,
)


def test_split_seed_per_seed_draws_the_labelled_subset_with_the_trial_seed():
    cache = FakeCache(n_patients=80)

    from ecgmask.transfer.probe import task_splits

    def splits(profile, seed, fraction=0.25):
        config = ProbeConfig.from_profile(profile, task="arrhythmia", fraction=fraction, seed=seed, mode="linear")
        return config, task_splits(cache, config)[2]

    per_seed = LAPTOP.with_overrides(split_seed_per_seed=True)
    (c1, a), (c2, b) = splits(per_seed, 1), splits(per_seed, 2)
    assert (c1.subset_seed, c2.subset_seed, c1.split_seed) == (1, 2, 0)
    assert not np.array_equal(a["train"], b["train"])  # another labelled subset per seed
    for name in ("val", "test"):  # one patient split: the same validation and test sets
        assert np.array_equal(a[name], b[name])
    assert set(a["train"]) <= set(splits(per_seed, 1, fraction=0.5)[1]["train"])  # nested per seed
    # off (the default): every seed has the subset of the split seed
    (_, one), (_, other) = splits(LAPTOP, 1), splits(LAPTOP, 2)
    assert np.array_equal(one["train"], other["train"])
    explicit = ProbeConfig.from_profile(per_seed, task="sex", fraction=1.0, seed=3, subset_seed=7)
    assert explicit.subset_seed == 7


@pytest.mark.parametrize("mode", ["linear", "random", "scratch", "finetune"])
def test_run_probe_modes(tmp_path, mode):
    cache = FakeCache(n_patients=40)
    torch.manual_seed(0)
    save_encoder(tmp_path, ResNet1d18(width=4))
    ckpt = tmp_path if mode in ("linear", "finetune") else None
    a = run_probe(probe_config(mode), cache, ckpt)
    assert KEYS <= set(a)
    labelled = int((rhythm_labels(cache) >= 0).sum())
    assert a["n_train"] + a["n_val"] + a["n_test"] == labelled  # unlabelled windows dropped everywhere
    assert 0 <= a["test_accuracy"] <= 1 and 1 <= a["epochs_run"] <= 3 and 1 <= a["steps_run"] <= 6
    assert run_probe(probe_config(mode), cache, ckpt) == a  # determinism on CPU
    stored = list(tmp_path.glob("embeddings-*.npy"))
    assert len(stored) == (1 if mode == "linear" else 0)


def test_run_probe_fractions_are_nested_and_independent_of_the_trial_seed(tmp_path):
    cache = FakeCache(n_patients=40)
    save_encoder(tmp_path, ResNet1d18(width=4))
    small = run_probe(probe_config("linear", fraction=0.25, seed=0), cache, tmp_path)
    other_seed = run_probe(probe_config("linear", fraction=0.25, seed=1), cache, tmp_path)
    full = run_probe(probe_config("linear", fraction=1.0), cache, tmp_path)
    assert small["n_train"] == other_seed["n_train"] < full["n_train"]
    assert small["n_test"] == full["n_test"]


def test_run_probe_checkpoint_modes_need_a_checkpoint():
    with pytest.raises(ValueError, match="checkpoint_dir"):
        run_probe(probe_config("linear"), FakeCache(n_patients=8), None)


@pytest.mark.parametrize("mode", ["linear", "scratch"])
def test_run_probe_multilabel_task(tmp_path, mode):
    from ecgmask.tasks import labelled_rows

    cache = FakeSuperclassCache()
    torch.manual_seed(0)
    save_encoder(tmp_path, ResNet1d18(width=4))
    # the linear head gets a budget of its own size (cheap steps on stored features)
    budget = dict(steps=6, eval_every=2) if mode == "scratch" else dict(steps=600, eval_every=6)
    config = probe_config(mode, task="superdiagnostic", patience=10, **budget)
    out = run_probe(config, cache, tmp_path if mode == "linear" else None)
    assert MULTILABEL_KEYS <= set(out)
    labelled = labelled_rows(cache.records, "superdiagnostic")
    assert 0 < labelled.sum() < len(cache)
    assert out["n_train"] + out["n_val"] + out["n_test"] == labelled.sum()  # '' windows left out everywhere
    assert isinstance(out["test_auc_skipped"], str)
    assert 0.0 <= out["test_auc"] <= 1.0 and 0.0 <= out["test_accuracy"] <= 1.0
    if mode == "linear":  # a random encoder's features of separable inputs: far above chance
        assert out["test_auc"] >= 0.8, out
    assert run_probe(config, cache, tmp_path if mode == "linear" else None) == out


def test_run_probe_refuses_a_cache_without_the_tasks_labels(tmp_path):
    save_encoder(tmp_path, ResNet1d18(width=4))
    chapman_like = FakeCache(n_patients=8)  # no superclass column
    with pytest.raises(ValueError, match=r"cache <fake cache fake0> has no labels for task 'superdiagnostic'"):
        run_probe(probe_config("linear", task="superdiagnostic"), chapman_like, tmp_path)
    empty = FakeCache(n_patients=8)
    empty.records["superclass"] = ""
    with pytest.raises(ValueError, match="has no labels for task 'superdiagnostic'.*empty on every window"):
        run_probe(probe_config("linear", task="superdiagnostic"), empty, tmp_path)


def test_classes_without_a_test_auc_are_named():
    from ecgmask.transfer.probe import classes_without_auc

    y_test = np.array([[1, 0, 1, 0, 0], [0, 0, 1, 1, 0], [1, 0, 1, 0, 0]], dtype=np.float32)
    assert classes_without_auc(y_test, SUPERCLASSES) == ["MI", "STTC", "HYP"]


@pytest.mark.slow
def test_pretrained_encoder_probes_better_than_random_encoder(tmp_path):
    """The issue's proof: a short CPU pretraining on the synthetic corpus gives an encoder whose
    linear probe beats the `random` encoder's on a small labelled fraction of the synthetic
    downstream arrhythmia task.

    The downstream cache has 1,500 records (1,200 training patients, 150 test windows); 5% of
    the labels is 60 ECGs. Pretraining: 3KG, 600 records from another seed and other patients,
    10 epochs (where the laptop learning curve of 3KG has flattened), width 16, lr 1e-3 (10x
    the method's, to learn something in seconds). Accuracy is the mean over 3 trial seeds (same
    labelled patients, different head init and batch order). Margins seen with (downstream,
    pretraining, pretraining-seed) = (1, 2, 0), (3, 4, 1), (5, 6, 2), under the probe's budget
    of optimiser steps (laptop: 1000, every 10, patience 10): +0.007, +0.233, +0.082 at 5%
    (-0.038, +0.176, +0.171 at 10%); under the earlier budget of epochs (at most 100 steps at
    5%) they were +0.064, +0.171, +0.044, and the random encoder's probe gained most from the
    longer budget. The test uses the median of the three, (5, 6, 2), and asks for +0.03, i.e.
    4.5 of 150 test windows.
    """
    from ecgmask.data import PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.corpora.synthetic import write_synthetic_tree
    from ecgmask.pretrain import PretrainConfig, pretrain

    down = synthetic_downstream_cache(tmp_path, 1500, seed=5)
    pre_tree = write_synthetic_tree(tmp_path / "pre", 600, seed=6, patient_offset=100000, fs=100, progress=False,
                                    workers=1)
    pre = build_cache(WfdbSource([pre_tree]), tmp_path / "caches", PreprocessParams(fs=100, length=1000, stride=400),
                      workers=1, progress=False)
    config = PretrainConfig(augmentation="3kg", seed=2, epochs=10, batch_size=32, accumulation=1, lr=1e-3, width=16,
                            device="cpu", amp=False)
    checkpoint = pretrain(config, pre, tmp_path / "ckpt", progress=False)["checkpoint"]

    def mean_accuracy(mode):
        results = []
        for seed in range(3):
            probe = ProbeConfig.from_profile("laptop", task="arrhythmia", fraction=0.05, seed=seed, mode=mode,
                                             width=16, device="cpu")
            results.append(run_probe(probe, down, checkpoint if mode == "linear" else None))
        assert all(r["n_train"] >= 50 and r["n_test"] == 150 for r in results)
        return float(np.mean([r["test_accuracy"] for r in results]))

    pretrained, random_encoder = mean_accuracy("linear"), mean_accuracy("random")
    assert pretrained >= random_encoder + 0.03, (pretrained, random_encoder)


PTBXL_STATEMENTS = {"NORM": "NORM", "IMI": "MI", "NDT": "STTC", "CLBBB": "CD", "LVH": "HYP"}


def write_ptbxl_tree(root, n_records, seed=0):
    """A PTB-XL release in miniature: the two tables and 10 s WFDB records at 100 Hz. Each record
    has each diagnostic statement with probability 0.4 (every 10th record none: superclass ''),
    and a statement of class c adds a sinusoid of its own frequency to every lead; folds 1-10
    in turn (fold 10: test, 9: validation)."""
    import wfdb

    from ecgmask.data import LEADS

    freq = dict(zip(PTBXL_STATEMENTS, (3.0, 5.0, 8.0, 12.0, 17.0)))
    rng = np.random.default_rng(seed)
    (root / "records100" / "00000").mkdir(parents=True)
    pd.DataFrame({"diagnostic": [1.0] * 5 + [np.nan], "diagnostic_class": [*PTBXL_STATEMENTS.values(), np.nan],
                  "rhythm": [np.nan] * 5 + [1.0]}, index=[*PTBXL_STATEMENTS, "SR"]).to_csv(root / "scp_statements.csv")
    t = np.arange(1000) / 100.0
    rows = []
    for i in range(1, n_records + 1):
        codes = [c for c in PTBXL_STATEMENTS if rng.random() < 0.4] if i % 10 else []
        signal = 0.1 * rng.standard_normal((1000, 12))
        for code in codes:
            signal += np.sin(2 * np.pi * freq[code] * t + rng.uniform(0, 2 * np.pi))[:, None] * rng.uniform(0.5, 1, 12)
        wfdb.wrsamp(f"{i:05d}_lr", fs=100, units=["mV"] * 12, sig_name=list(LEADS), p_signal=signal, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(root / "records100" / "00000"))
        rows.append({"ecg_id": i, "patient_id": float(i), "age": 60, "sex": i % 2,
                     "scp_codes": repr({**{c: 100.0 for c in codes}, "SR": 0.0}), "strat_fold": i % 10 + 1,
                     "filename_lr": f"records100/00000/{i:05d}_lr", "filename_hr": f"records500/00000/{i:05d}_hr"})
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    return root


@pytest.mark.slow
def test_superdiagnostic_probe_on_a_ptbxl_cache(tmp_path):
    """The multi-label task end to end on a cache built by the PTB-XL source: records without a
    superclass are left out, PTB-XL's folds split the rest, and a linear probe on a random
    encoder's features of separable inputs scores a macro AUC far above chance."""
    from ecgmask.data import EcgCache, PreprocessParams, build_cache
    from ecgmask.data.ptbxl import PtbxlSource
    from ecgmask.tasks import labelled_rows
    from ecgmask.transfer.probe import classes_without_auc, task_splits

    root = write_ptbxl_tree(tmp_path / "ptbxl", 200)
    cache = EcgCache.open(build_cache(PtbxlSource(root, fs=100), tmp_path / "caches",
                                      PreprocessParams(fs=100, length=1000, stride=1000), workers=1, progress=False))
    torch.manual_seed(0)
    save_encoder(tmp_path / "ckpt", ResNet1d18(width=8))
    config = ProbeConfig.from_profile("laptop", task="superdiagnostic", fraction=1.0, seed=0, mode="linear", width=8,
                                      batch_size=32, device="cpu")
    out = run_probe(config, cache, tmp_path / "ckpt")
    labelled = labelled_rows(cache.records, "superdiagnostic")
    assert 150 < labelled.sum() < 200  # every 10th record, and those that drew no statement, have ''
    assert out["n_train"] + out["n_val"] + out["n_test"] == labelled.sum()
    y, classes, splits = task_splits(cache, config)
    assert set(cache.records["fold"].to_numpy()[splits["test"]]) == {10}
    assert out["test_auc_skipped"] == ",".join(classes_without_auc(y[splits["test"]], classes))
    assert out["test_auc"] >= 0.8, out
