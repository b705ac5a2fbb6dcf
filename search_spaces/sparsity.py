"""The sparsity penalty of the masker: alpha in {0.1, 0.5, 1.0} x R (ratio) in {0.8, 1.0}."""

from __future__ import annotations

from search_spaces.plan import DEFAULT_SEEDS, Row, SweepPlan, grid_plan

ALPHAS = (0.1, 0.5, 1.0)
RATIOS = (0.8, 1.0)
ROWS = tuple(
    Row(f"advmask(alpha={a:g},R={r:g})", augmentation="advmask", params={"alpha": a, "ratio": r})
    for a in ALPHAS
    for r in RATIOS
)


def describe() -> str:
    return "advmask sparsity penalty: alpha in {0.1, 0.5, 1} x R in {0.8, 1}; Table-1 probes."


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    return grid_plan(space="sparsity", profile=profile, rows=list(ROWS), seeds=tuple(seeds or DEFAULT_SEEDS), description=describe())
