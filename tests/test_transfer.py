"""Transfer: embeddings stored once and reused, linear probe, end-to-end training, run_probe,
determinism on CPU, and (slow) the issue's proof that a short pretraining probes better than a
random encoder."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pandas as pd
import pytest
import torch

from ecgmask.checkpoint import save_encoder
from ecgmask.models import ResNet1d18
from ecgmask.profiles import LAPTOP
from ecgmask.transfer import (
    ProbeConfig,
    compute_embeddings,
    embeddings,
    embeddings_path,
    linear_probe,
    run_probe,
    train_end_to_end,
)

try:  # the data layer is written in parallel; run_probe's tests need its splits and labels
    from ecgmask.data import fraction_indices, split_indices, task_labels  # noqa: F401

    HAVE_DATA = True
except ImportError:
    HAVE_DATA = False
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="ecgmask.data (splits, labels) not written yet")

RHYTHMS = ["AFIB", "GSVT", "SB", "SR"]


class FakeCache:
    """In-memory stand-in for ecgmask.data.EcgCache with the documented attributes.

    Window i of a patient with rhythm r is a sinusoid whose frequency depends on r, plus noise,
    so the classes are learnable. Every 7th record has no rhythm label.
    """

    def __init__(self, n_patients: int = 40, windows: int = 2, length: int = 64, seed: int = 0, key: str = "fake0"):
        rng = np.random.default_rng(seed)
        rows, signals = [], []
        t = np.arange(length) / length
        for p in range(n_patients):
            label = RHYTHMS[p % 4]
            rhythm = None if p % 7 == 6 else label
            sex = "M" if p % 3 else "F"
            for w in range(windows):
                freq = 2 + 3 * RHYTHMS.index(label)
                x = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))[None, :] * rng.uniform(0.5, 1.5, (12, 1))
                signals.append(x + 0.3 * rng.standard_normal((12, length)))
                rows.append(dict(record=f"R{p:04d}", source="fake", patient_id=f"P{p:04d}", age=50.0, sex=sex,
                                 dx="", rhythm=rhythm, window=w))
        self.signals = np.stack(signals).astype(np.float16)
        self.records = pd.DataFrame(rows)
        self.meta = {"fs": 100, "length": length, "stride": length, "kind": "downstream", "key": key,
                     "n_windows": len(rows)}
        self.path = f"<fake cache {key}>"

    def __len__(self) -> int:
        return len(self.records)

    def batch(self, indices) -> torch.Tensor:
        return torch.from_numpy(self.signals[np.asarray(indices)].astype(np.float32))


class CountingEncoder(ResNet1d18):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return super().forward(x)


SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]


class FakeSuperclassCache(FakeCache):
    """A FakeCache with PTB-XL-style diagnostic superclass sets in `superclass`: each patient
    has each class with probability 0.4 (seeded), and class c adds an offset of 2 to leads 2c
    and 2c+1 of its windows, so the classes are linearly separable even in a random encoder's
    features. Patients with no class, and every 9th patient, have '' (no label): left out."""

    def __init__(self, n_patients: int = 80, **kwargs):
        super().__init__(n_patients=n_patients, **kwargs)
        rng = np.random.default_rng(99)
        present = rng.random((n_patients, len(SUPERCLASSES))) < 0.4
        present[8::9] = False
        signals = self.signals.astype(np.float32)
        labels = []
        for i, p in enumerate(self.records["patient_id"].str[1:].astype(int)):
            for c in np.flatnonzero(present[p]):
                signals[i, 2 * c : 2 * c + 2] += 2.0
            labels.append(",".join(SUPERCLASSES[c] for c in np.flatnonzero(present[p])))
        self.signals = signals.astype(np.float16)
        self.records["superclass"] = labels


def rhythm_labels(cache):
    y = np.array([RHYTHMS.index(r) if r in RHYTHMS else -1 for r in cache.records["rhythm"]], dtype=np.int64)
    return y


def manual_splits(cache):
    """By patient: patients 0..27 train, 28..33 val, 34..39 test; unlabelled windows dropped."""
    y = rhythm_labels(cache)
    pid = cache.records["patient_id"].str[1:].astype(int).to_numpy()
    out = {}
    for name, (lo, hi) in {"train": (0, 28), "val": (28, 34), "test": (34, 40)}.items():
        out[name] = np.flatnonzero((pid >= lo) & (pid < hi) & (y >= 0))
    return y, out


# ---------------------------------------------------------------- config


def test_probe_config_from_profile():
    lin = ProbeConfig.from_profile(LAPTOP, task="arrhythmia", fraction=0.1, seed=1, mode="linear")
    assert (lin.steps, lin.eval_every, lin.patience, lin.width, lin.lr, lin.batch_size) == (
        LAPTOP.probe_steps, LAPTOP.probe_eval_every, LAPTOP.probe_patience, LAPTOP.width, 0.01, 256)
    assert lin.subset_seed is None  # one labelled subset for every seed unless the profile says otherwise
    scratch = ProbeConfig.from_profile("laptop", task="sex", fraction=1.0, seed=0, mode="scratch", steps=3)
    assert scratch.steps == 3 and scratch.finetune_lr == 1e-4
    assert (scratch.eval_every, scratch.patience, scratch.scratch_lr) == (
        LAPTOP.scratch_eval_every, LAPTOP.scratch_patience, LAPTOP.scratch_lr)
    assert ProbeConfig.from_profile("paper", task="sex", fraction=1.0, seed=0, mode="finetune").steps == 3000
    with pytest.raises(ValueError, match="unknown mode"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=1.0, seed=0, mode="probe")
    with pytest.raises(ValueError, match="fraction"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=0.0, seed=0)
    with pytest.raises(TypeError, match="no field"):
        ProbeConfig.from_profile(LAPTOP, task="sex", fraction=1.0, seed=0, learning_rate=1)


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


def test_linear_probe_budget_is_optimiser_steps_whatever_the_fraction():
    # 8 labelled rows fit one batch: an epoch is one step, yet the budget runs in full
    x, y, splits = separable_features(seed=4)
    few = {**splits, "train": splits["train"][:8]}
    out = linear_probe(x, y, few, 3, seed=0, steps=30, eval_every=3, patience=100, device="cpu")
    assert (out["steps_run"], out["epochs_run"]) == (30, 10)
    assert out["best_step"] == 3 * out["best_epoch"]
    # a budget that is not a multiple of the interval ends with a short round
    out = linear_probe(x, y, few, 3, seed=0, steps=7, eval_every=3, patience=100, device="cpu")
    assert (out["steps_run"], out["epochs_run"]) == (7, 3)


# ---------------------------------------------------------------- embeddings


def test_embeddings_are_stored_once_and_reused(tmp_path):
    cache = FakeCache(n_patients=8)
    torch.manual_seed(0)
    encoder = CountingEncoder(width=4)
    save_encoder(tmp_path, encoder)
    first = embeddings(encoder, cache, tmp_path, batch_size=5)
    assert encoder.calls == math.ceil(len(cache) / 5)
    path = tmp_path / f"embeddings-{cache.meta['key']}.npy"
    assert embeddings_path(tmp_path, cache) == path and path.is_file()
    assert first.shape == (len(cache), encoder.out_dim) and first.dtype == np.float32
    mtime = path.stat().st_mtime_ns

    encoder.calls = 0
    second = embeddings(encoder, cache, tmp_path)
    assert encoder.calls == 0  # the stored file was read, the encoder never ran
    assert path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["encoder.pt", path.name])  # no temporary left

    # another downstream cache gets its own file
    other = FakeCache(n_patients=3, key="fake1")
    embeddings(encoder, other, tmp_path)
    assert (tmp_path / "embeddings-fake1.npy").is_file() and encoder.calls > 0


def test_embeddings_recomputed_when_encoder_is_newer_or_file_is_wrong(tmp_path):
    cache = FakeCache(n_patients=4)
    encoder = CountingEncoder(width=4)
    save_encoder(tmp_path, encoder)
    embeddings(encoder, cache, tmp_path)
    path = embeddings_path(tmp_path, cache)

    later = time.time() + 10  # a rewritten checkpoint (a resumed pretraining) makes the file stale
    os.utime(tmp_path / "encoder.pt", (later, later))
    encoder.calls = 0
    embeddings(encoder, cache, tmp_path)
    assert encoder.calls > 0

    np.save(path, np.zeros((3, encoder.out_dim), dtype=np.float32))  # wrong number of rows
    encoder.calls = 0
    out = embeddings(encoder, cache, tmp_path)
    assert encoder.calls > 0 and out.shape[0] == len(cache)


def test_embeddings_use_eval_mode_and_leave_the_encoder_untouched():
    cache = FakeCache(n_patients=4)
    torch.manual_seed(0)
    encoder = ResNet1d18(width=4)
    encoder.train()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    out = compute_embeddings(encoder, cache, batch_size=3)
    assert encoder.training  # mode restored
    for k, v in encoder.state_dict().items():  # BN running stats not updated
        assert torch.equal(v, before[k]), k
    encoder.eval()
    with torch.no_grad():
        expected = encoder(cache.batch(np.arange(len(cache)))).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- linear probe


def separable_features(n=120, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, d)) * 4
    x = centres[y] + rng.standard_normal((n, d))
    splits = {"train": np.arange(0, 80), "val": np.arange(80, 100), "test": np.arange(100, 120)}
    return x.astype(np.float32), y, splits


def test_linear_probe_learns_and_stops_early():
    x, y, splits = separable_features()
    out = linear_probe(x, y, splits, 3, seed=0, steps=1000, eval_every=5, patience=3, batch_size=16)
    assert out["test_accuracy"] >= 0.9 and out["test_auc"] >= 0.95 and out["val_accuracy"] >= 0.9
    # stopped `patience` validations after the best one, long before the cap of 1000 steps
    assert out["epochs_run"] == out["best_epoch"] + 3 < 200
    assert out["steps_run"] == 5 * out["epochs_run"] and out["best_step"] == 5 * out["best_epoch"]


def test_linear_probe_reports_best_validation_weights():
    # val accuracy of the kept head is the maximum seen, so more patience never lowers it
    x, y, splits = separable_features(seed=3)
    x = x + np.random.default_rng(1).standard_normal(x.shape).astype(np.float32) * 4  # hard task
    short = linear_probe(x, y, splits, 3, seed=0, steps=40, eval_every=1, patience=1)
    long = linear_probe(x, y, splits, 3, seed=0, steps=40, eval_every=1, patience=40)
    assert long["epochs_run"] == 40
    assert long["val_accuracy"] >= short["val_accuracy"]
    assert short["epochs_run"] == short["best_epoch"] + 1


def separable_multilabel_features(n=160, d=8, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, classes)) < 0.4).astype(np.float32)
    x = y @ (rng.standard_normal((classes, d)) * 3) + rng.standard_normal((n, d))
    splits = {"train": np.arange(0, 100), "val": np.arange(100, 130), "test": np.arange(130, 160)}
    return x.astype(np.float32), y, splits


def test_linear_probe_multilabel_learns_separable_labels():
    x, y, splits = separable_multilabel_features()
    out = linear_probe(x, y, splits, 5, seed=0, steps=1400, eval_every=7, patience=5, batch_size=16, device="cpu")
    # early stopping on the validation macro AUC, reported as val_auc (there is no val_accuracy)
    assert "val_accuracy" not in out and out["val_auc"] >= 0.95
    assert out["test_auc"] >= 0.95
    assert out["test_accuracy"] >= 0.5  # exact match: all five labels of a row right
    assert 0.8 <= out["test_balanced_accuracy"] <= 1.0
    assert out["epochs_run"] == out["best_epoch"] + 5 < 200
    assert linear_probe(x, y, splits, 5, seed=0, steps=1400, eval_every=7, patience=5, batch_size=16, device="cpu") == out


def test_multilabel_probe_trains_with_binary_cross_entropy(monkeypatch):
    from ecgmask.transfer import objective as objective_module

    calls = []
    real = objective_module.F.binary_cross_entropy_with_logits
    monkeypatch.setattr(objective_module.F, "binary_cross_entropy_with_logits",
                        lambda logits, target: calls.append(target.dtype) or real(logits, target))
    x, y, splits = separable_multilabel_features()
    linear_probe(x, y, splits, 5, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert calls and set(calls) == {torch.float32}
    calls.clear()
    xs, ys, s3 = separable_features()
    linear_probe(xs, ys, s3, 3, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert calls == []  # single-label: cross-entropy, as before


def test_objective_follows_the_shape_of_the_labels():
    from ecgmask.transfer import objective_for

    assert not objective_for(np.zeros(4, dtype=np.int64)).multilabel
    assert objective_for(np.zeros((4, 5), dtype=np.float32)).multilabel
    assert objective_for(np.zeros((4, 5))).val_key == "val_auc"
    with pytest.raises(ValueError, match="multi-hot"):
        objective_for(np.zeros((2, 3, 4)))


def test_linear_probe_is_deterministic_on_cpu():
    x, y, splits = separable_features(seed=1)
    a = linear_probe(x, y, splits, 3, seed=5, steps=50, eval_every=5, patience=10, batch_size=16, device="cpu")
    b = linear_probe(x, y, splits, 3, seed=5, steps=50, eval_every=5, patience=10, batch_size=16, device="cpu")
    assert a == b


# ---------------------------------------------------------------- end to end


def test_end_to_end_is_deterministic_and_computes_metrics_on_the_whole_test_set():
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)

    def run(seed):
        torch.manual_seed(123)
        encoder = ResNet1d18(width=4)
        return train_end_to_end(encoder, cache, y, splits, 4, seed=seed, steps=5, eval_every=2, patience=3,
                                lr=1e-3, batch_size=7, device="cpu")

    a, b = run(0), run(0)
    assert a == b
    # 5 steps validated after 2, 4 and 5: three evaluations, the last one a short round
    assert (a["epochs_run"], a["steps_run"]) == (3, 5)
    # batches of 7 over the test set, but accuracy is counted over all of it
    n_test = len(splits["test"])
    assert n_test % 7 != 0
    assert abs(a["test_accuracy"] * n_test - round(a["test_accuracy"] * n_test)) < 1e-9
    assert 0.0 <= a["test_auc"] <= 1.0


def test_end_to_end_trains_the_encoder():
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)
    torch.manual_seed(0)
    encoder = ResNet1d18(width=4)
    before = encoder.stem[0].weight.detach().clone()
    train_end_to_end(encoder, cache, y, splits, 4, seed=0, steps=1, eval_every=1, patience=1, device="cpu")
    assert not torch.equal(before, encoder.stem[0].weight.detach())


def test_end_to_end_gives_every_fraction_the_same_step_budget():
    """An epoch budget would give 1% of the labels a hundredth of the updates of 100%: the
    step budget gives both the same number of optimiser steps (until validation stops them)."""
    cache = FakeCache(n_patients=40)
    y, splits = manual_splits(cache)
    few = {**splits, "train": splits["train"][:5]}

    def steps_run(split, batch_size):
        torch.manual_seed(0)
        out = train_end_to_end(ResNet1d18(width=4), cache, y, split, 4, seed=0, steps=12, eval_every=4,
                               patience=10, batch_size=batch_size, device="cpu")
        return out["steps_run"]

    # the large split needs 2 batches of 16 a pass, the tiny one 1 batch of 5: 12 steps each
    assert len(splits["train"]) > 16
    assert steps_run(splits, 16) == steps_run(few, 16) == 12


# ---------------------------------------------------------------- run_probe (needs ecgmask.data)


def probe_config(mode, **kw):
    base = dict(task="arrhythmia", fraction=1.0, seed=0, mode=mode, patience=3, width=4,
                batch_size=16, device="cpu", steps=6, eval_every=2)
    return ProbeConfig(**{**base, **kw})


KEYS = {"test_accuracy", "test_balanced_accuracy", "test_auc", "val_accuracy", "n_train", "n_test", "epochs_run"}


@needs_data
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


@needs_data
def test_run_probe_fractions_are_nested_and_independent_of_the_trial_seed(tmp_path):
    cache = FakeCache(n_patients=40)
    save_encoder(tmp_path, ResNet1d18(width=4))
    small = run_probe(probe_config("linear", fraction=0.25, seed=0), cache, tmp_path)
    other_seed = run_probe(probe_config("linear", fraction=0.25, seed=1), cache, tmp_path)
    full = run_probe(probe_config("linear", fraction=1.0), cache, tmp_path)
    assert small["n_train"] == other_seed["n_train"] < full["n_train"]
    assert small["n_test"] == full["n_test"]


@needs_data
def test_run_probe_checkpoint_modes_need_a_checkpoint():
    with pytest.raises(ValueError, match="checkpoint_dir"):
        run_probe(probe_config("linear"), FakeCache(n_patients=8), None)


def superclass_splits(cache):
    """By patient as manual_splits (0..55 train, 56..67 val, 68..79 test), labelled windows only."""
    from ecgmask.tasks import labelled_rows, task_labels

    labelled = labelled_rows(cache.records, "superdiagnostic")
    y = np.full((len(cache), 5), np.nan, dtype=np.float32)
    y[labelled] = task_labels(cache.records[labelled], "superdiagnostic")[0]
    pid = cache.records["patient_id"].str[1:].astype(int).to_numpy()
    bounds = {"train": (0, 56), "val": (56, 68), "test": (68, 80)}
    return y, {k: np.flatnonzero((pid >= lo) & (pid < hi) & labelled) for k, (lo, hi) in bounds.items()}


def test_end_to_end_trains_a_multilabel_task():
    cache = FakeSuperclassCache()
    y, splits = superclass_splits(cache)

    def run():
        torch.manual_seed(0)
        return train_end_to_end(ResNet1d18(width=4), cache, y, splits, 5, seed=0, steps=30, eval_every=5,
                                patience=6, lr=1e-2, batch_size=16, device="cpu")

    a = run()
    assert a == run()
    assert {"val_auc", "test_auc", "test_accuracy", "steps_run"} <= set(a) and "val_accuracy" not in a
    assert a["test_auc"] > 0.6, a  # separable offsets: well above chance after 30 steps


MULTILABEL_KEYS = (KEYS - {"val_accuracy"}) | {"val_auc", "test_auc_skipped"}


@needs_data
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


@needs_data
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


def test_early_stopping_restores_the_best_validation_weights():
    from ecgmask.transfer.early_stopping import fit_early_stopping

    model = torch.nn.Linear(1, 1, bias=False)
    val_by_epoch = iter([0.2, 0.7, 0.5, 0.6, 0.7, 0.9])
    epoch = {"n": 0}

    def train_epoch():
        epoch["n"] += 1
        with torch.no_grad():
            model.weight.fill_(epoch["n"])  # the weights remember the epoch they come from
        return 0.0

    fit = fit_early_stopping(model, train_epoch=train_epoch, val_score=lambda: next(val_by_epoch),
                             epochs=6, patience=3)
    # epoch 2 is best (0.7; the tie at epoch 5 does not count), epochs 3-5 do not improve: stop at 5
    assert (fit.best_epoch, fit.epochs_run, fit.val_score) == (2, 5, 0.7)
    assert model.weight.item() == 2.0


# ---------------------------------------------------------------- on real (synthetic) caches


def synthetic_downstream_cache(root, n_records, seed):
    from ecgmask.data import ChapmanSource, PreprocessParams, build_cache
    from ecgmask.data.synthetic import write_synthetic_tree

    tree = write_synthetic_tree(root / f"down-{seed}", n_records, seed=seed, fs=100, progress=False, workers=1)
    params = PreprocessParams(fs=100, length=1000, stride=400)
    return build_cache(ChapmanSource(tree), root / "caches", params, workers=1, progress=False)


@needs_data
def test_cli_prints_the_metrics(tmp_path, capsys):
    from ecgmask.transfer.__main__ import main

    cache_dir = synthetic_downstream_cache(tmp_path, 40, seed=11)
    torch.manual_seed(0)
    save_encoder(tmp_path / "ckpt", ResNet1d18(width=4))
    argv = ["--cache", str(cache_dir), "--checkpoint", str(tmp_path / "ckpt"), "--task", "sex", "--fraction", "0.5",
            "--mode", "linear", "--seed", "0", "--profile", "laptop", "--steps", "2", "--eval-every", "1", "--device", "cpu", "--json"]
    assert main(argv) == 0
    import json

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(result) and result["epochs_run"] <= 2
    assert list((tmp_path / "ckpt").glob("embeddings-*.npy"))

    # a linear probe without a checkpoint is refused with a clear message, not a traceback
    assert main(["--cache", str(cache_dir), "--mode", "linear", "--steps", "1"]) == 2
    assert "checkpoint" in capsys.readouterr().err


@needs_data
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
    from ecgmask.data.synthetic import write_synthetic_tree
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


@needs_data
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


def test_linear_probe_never_looks_at_test_inputs_while_training():
    # standardisation uses training rows only: wild test features leave training untouched
    x, y, splits = separable_features(seed=2)
    a = linear_probe(x, y, splits, 3, seed=0, steps=15, eval_every=1, patience=15, device="cpu")
    x2 = x.copy()
    x2[splits["test"]] = x2[splits["test"]] * 1000 + 50
    b = linear_probe(x2, y, splits, 3, seed=0, steps=15, eval_every=1, patience=15, device="cpu")
    assert (a["val_accuracy"], a["best_epoch"], a["epochs_run"]) == (b["val_accuracy"], b["best_epoch"], b["epochs_run"])
