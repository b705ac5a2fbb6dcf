"""The number of adversarial masks: advmask with N in {1, 2, 3, 6, 12} (N = 12: one mask a lead)."""

from __future__ import annotations

from search_spaces.plan import DEFAULT_SEEDS, Row, SweepPlan, grid_plan

N_MASKS = (1, 2, 3, 6, 12)
ROWS = tuple(Row(f"advmask(N={n})", augmentation="advmask", params={"n_masks": n}) for n in N_MASKS)


def describe() -> str:
    return f"advmask with N in {{{', '.join(map(str, N_MASKS))}}} masks; Table-1 probes (both tasks, fractions 1, 0.1, 0.01)."


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    return grid_plan(space="masks", profile=profile, rows=list(ROWS), seeds=tuple(seeds or DEFAULT_SEEDS), description=describe())
