"""Stand-ins the transfer tests share: in-memory caches with learnable classes, an encoder that
counts its calls, separable features, splits by patient, and a small synthetic downstream cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ecgmask.models import ResNet1d18
from ecgmask.transfer import ProbeConfig


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


def superclass_splits(cache):
    """By patient as manual_splits (0..55 train, 56..67 val, 68..79 test), labelled windows only."""
    from ecgmask.tasks import labelled_rows, task_labels

    labelled = labelled_rows(cache.records, "superdiagnostic")
    y = np.full((len(cache), 5), np.nan, dtype=np.float32)
    y[labelled] = task_labels(cache.records[labelled], "superdiagnostic")[0]
    pid = cache.records["patient_id"].str[1:].astype(int).to_numpy()
    bounds = {"train": (0, 56), "val": (56, 68), "test": (68, 80)}
    return y, {k: np.flatnonzero((pid >= lo) & (pid < hi) & labelled) for k, (lo, hi) in bounds.items()}


def separable_features(n=120, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, d)) * 4
    x = centres[y] + rng.standard_normal((n, d))
    splits = {"train": np.arange(0, 80), "val": np.arange(80, 100), "test": np.arange(100, 120)}
    return x.astype(np.float32), y, splits


def separable_multilabel_features(n=160, d=8, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, classes)) < 0.4).astype(np.float32)
    x = y @ (rng.standard_normal((classes, d)) * 3) + rng.standard_normal((n, d))
    splits = {"train": np.arange(0, 100), "val": np.arange(100, 130), "test": np.arange(130, 160)}
    return x.astype(np.float32), y, splits


def probe_config(mode, **kw):
    base = dict(task="arrhythmia", fraction=1.0, seed=0, mode=mode, patience=3, width=4,
                batch_size=16, device="cpu", steps=6, eval_every=2)
    return ProbeConfig(**{**base, **kw})


KEYS = {"test_accuracy", "test_balanced_accuracy", "test_auc", "val_accuracy", "n_train", "n_test", "epochs_run"}


MULTILABEL_KEYS = (KEYS - {"val_accuracy"}) | {"val_auc", "test_auc_skipped"}


def synthetic_downstream_cache(root, n_records, seed):
    from ecgmask.data import ChapmanSource, PreprocessParams, build_cache
    from ecgmask.data.corpora.synthetic import write_synthetic_tree

    tree = write_synthetic_tree(root / f"down-{seed}", n_records, seed=seed, fs=100, progress=False, workers=1)
    params = PreprocessParams(fs=100, length=1000, stride=400)
    return build_cache(ChapmanSource(tree), root / "caches", params, workers=1, progress=False)
