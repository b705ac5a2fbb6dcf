"""Run profiles: the sizes that differ between a laptop run and the paper's.

`laptop` shrinks signals (100 Hz, 10 s = 1000 samples) and the encoder width so that the
whole augmentation sweep runs in under half an hour on 2 cores; its pretraining budget (30
epochs of 1,000 records) comes from measured learning curves (`benchmarks/learning.py`,
README "Sizing the laptop study"), and its downstream corpus (5,000 records) gives a test
split of 500 windows and 40 labelled ECGs at 1%. `paper` keeps the method's own constants
(method.md). `smoke` checks the pipeline in minutes and measures nothing. Everything else
(loss, temperature, k, the probes' lr...) is the same in all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    # preprocessing
    fs: int  # target sampling rate, Hz
    length: int  # window length, samples
    stride: int  # window stride for longer records, samples
    # encoder
    width: int  # ResNet1d18 stem width (64 in the paper)
    masker_width: int  # UNet1d base width
    # pretraining
    batch_size: int
    accumulation: int
    epochs: int
    patience: int
    max_steps_per_epoch: int | None  # cap on optimiser steps per epoch (None: full pass)
    # linear probe (linear, random): a budget of optimiser steps, the same for every fraction
    probe_steps: int
    probe_eval_every: int  # steps between validations
    probe_patience: int  # validations without improvement before stopping
    # end-to-end (scratch, finetune): a budget of optimiser steps, the same for every fraction
    scratch_steps: int
    scratch_eval_every: int  # steps between validations
    scratch_patience: int  # validations without improvement before stopping
    scratch_lr: float  # Adam lr for random weights (finetune keeps ProbeConfig.finetune_lr)
    # synthetic corpus sizes (records) for the default study
    pretrain_records: int
    downstream_records: int
    # True: each trial seed draws its own labelled subset (ProbeConfig.subset_seed = seed), so the
    # spread over seeds includes which patients are labelled; the validation and test sets stay
    # those of the one patient split. False: one labelled subset for every seed.
    split_seed_per_seed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, **changes) -> "Profile":
        return replace(self, **changes)


LAPTOP = Profile(
    name="laptop",
    fs=100,
    length=1000,
    stride=400,
    width=16,
    masker_width=8,
    batch_size=32,
    accumulation=1,
    epochs=30,
    patience=5,
    max_steps_per_epoch=None,
    # the best held-out validation accuracy whose cap no probe reached (benchmarks/probe_budget.py, README)
    probe_steps=1000,
    probe_eval_every=10,
    probe_patience=10,
    scratch_steps=200,
    scratch_eval_every=20,
    scratch_patience=3,
    scratch_lr=1e-2,  # best mean validation accuracy at 1% and 10% among 1e-4..1e-2 (README)
    pretrain_records=1000,
    downstream_records=5000,
)

PAPER = Profile(
    name="paper",
    fs=500,
    length=5000,
    stride=2000,
    width=64,
    masker_width=32,
    batch_size=32,
    accumulation=4,
    epochs=100,
    patience=5,
    max_steps_per_epoch=None,
    probe_steps=3000,  # not measured at this size
    probe_eval_every=20,
    probe_patience=10,
    scratch_steps=3000,
    scratch_eval_every=100,
    scratch_patience=5,
    scratch_lr=1e-3,
    pretrain_records=20000,
    downstream_records=10646,
)

# checks the whole pipeline in a few minutes; its numbers measure nothing
SMOKE = LAPTOP.with_overrides(
    name="smoke",
    width=8,
    masker_width=4,
    epochs=2,
    probe_steps=100,
    probe_eval_every=10,
    probe_patience=3,
    scratch_steps=40,
    scratch_eval_every=10,
    scratch_patience=2,
    pretrain_records=300,
    downstream_records=600,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (LAPTOP, PAPER, SMOKE)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
