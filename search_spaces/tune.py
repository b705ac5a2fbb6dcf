"""Hyperparameter search for advmask: Optuna (TPE) behind a concurrency limit, with ASHA
stopping weak trials early. Searches the encoder and masker learning rates, the sparsity
weight alpha and the soft-binarisation slope k, maximising the validation accuracy of a
linear probe on 1% of the arrhythmia labels. Each trial pretrains and, after every epoch,
probes, so ASHA can stop it between epochs."""

from __future__ import annotations

from ray import tune

from search_spaces.plan import SearchSpec, SweepPlan

SAMPLES = {"laptop": 8, "paper": 64}


def describe() -> str:
    return (
        "Optuna + ASHA over lr, masker_lr (1e-5..1e-3, log), alpha (0.05..2, log) and k (10..100) "
        "for advmask, maximising val_accuracy of a linear probe on 1% of the arrhythmia labels."
    )


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    spec = SearchSpec(
        param_space={
            "lr": tune.loguniform(1e-5, 1e-3),
            "masker_lr": tune.loguniform(1e-5, 1e-3),
            "alpha": tune.loguniform(0.05, 2.0),
            "k": tune.uniform(10.0, 100.0),
        },
        fixed={
            "row": "advmask(tuned)",
            "augmentation": "advmask",
            "task": "arrhythmia",
            "fraction": 0.01,
            "mode": "linear",
            "seed": int((seeds or (1,))[0]),
        },
        metric="val_accuracy",
        mode="max",
        num_samples=SAMPLES.get(profile, SAMPLES["laptop"]),
        max_concurrent=4,
        grace_period=1,
        reduction_factor=2,
    )
    return SweepPlan("tune", profile, search=spec, description=describe())
