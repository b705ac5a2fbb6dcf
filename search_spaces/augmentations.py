"""Table 1: every augmentation pretrained with SimCLR, probed on both tasks at 100%, 10% and 1%
of the labels, next to training from scratch and a probe on a random encoder."""

from __future__ import annotations

from ecgmask.tasks import PAPER_TASKS
from search_spaces.plan import DEFAULT_SEEDS, TABLE1_FRACTIONS, Row, SweepPlan, grid_plan

AUGMENTATIONS = (
    "gaussian",
    "powerline",
    "stft",
    "wander",
    "shift",
    "mask",
    "blockmask",
    "peakmask",
    "advmask",
    "3kg",
    "advmask+3kg",
)

# Table 1's rows in the paper's order (analysis/ reads them from here); `random` follows them
PAPER_ROWS = ("scratch", *AUGMENTATIONS)
ROWS = (
    Row("scratch", mode="scratch"),
    *(Row(name, augmentation=name) for name in AUGMENTATIONS),
    Row("random", mode="random"),
)


def describe() -> str:
    return (
        "Table 1: scratch, 11 SimCLR augmentations (gaussian ... advmask+3kg) and a random encoder; "
        f"{len(DEFAULT_SEEDS)} seeds; linear probes on {', '.join(PAPER_TASKS)} at fractions "
        f"{', '.join(f'{f:g}' for f in TABLE1_FRACTIONS)}."
    )


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    return grid_plan(
        space="augmentations",
        profile=profile,
        rows=list(ROWS),
        seeds=tuple(seeds or DEFAULT_SEEDS),
        description=describe(),
    )
