"""The dataset-size figure: the best augmentations of the paper (advmask+3kg, advmask, 3kg)
against scratch and a random encoder, probed at eight label fractions."""

from __future__ import annotations

from ecgmask.tasks import PAPER_TASKS
from search_spaces.plan import DEFAULT_SEEDS, Row, SweepPlan, grid_plan

FRACTIONS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
BEST = ("advmask+3kg", "advmask", "3kg")
ROWS = (Row("scratch", mode="scratch"), *(Row(a, augmentation=a) for a in BEST), Row("random", mode="random"))


def describe() -> str:
    return (
        f"{', '.join(BEST)} vs scratch and random, probed on {', '.join(PAPER_TASKS)} at fractions "
        f"{', '.join(f'{f:g}' for f in FRACTIONS)}."
    )


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    return grid_plan(
        space="fractions",
        profile=profile,
        rows=list(ROWS),
        seeds=tuple(seeds or DEFAULT_SEEDS),
        fractions=FRACTIONS,
        description=describe(),
    )
