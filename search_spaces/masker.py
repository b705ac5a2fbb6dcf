"""What shapes the adversarial masks: advmask as the paper writes it, with the reference's
effective objective (the masker trained by the sparsity penalty alone: `sparsity_only`), with
the penalty on the binarised masks it applies, and with a fixed 30-epoch budget (early
stopping off); 3kg and a random encoder for reference. Table 1 of this space shows each
advmask row's mask statistics (occupancy, QRS shares) in its notes."""

from __future__ import annotations

from search_spaces.plan import DEFAULT_SEEDS, Row, SweepPlan, grid_plan

FIXED_EPOCHS = 30
ROWS = (
    Row("advmask", augmentation="advmask"),
    Row("advmask(sparsity_only)", augmentation="advmask", params={"masker_objective": "sparsity_only"}),
    Row("advmask(binarised)", augmentation="advmask", params={"sparsity_on": "binarised"}),
    # patience = epochs: the loss never goes FIXED_EPOCHS epochs without improving before the end
    Row(f"advmask({FIXED_EPOCHS} epochs)", augmentation="advmask",
        params={"epochs": FIXED_EPOCHS, "patience": FIXED_EPOCHS}),
    Row("3kg", augmentation="3kg"),
    Row("random", mode="random"),
)


def describe() -> str:
    return ("What shapes the masks: advmask, advmask(sparsity_only) (masker trained by the sparsity "
            "penalty alone), advmask(binarised) (penalty on the applied masks), advmask("
            f"{FIXED_EPOCHS} epochs) (early stopping off); 3kg and random for reference; "
            "Table-1 probes (both tasks, fractions 1, 0.1, 0.01) with mask statistics in the notes.")


def plan(profile: str, seeds: tuple[int, ...] | None = None) -> SweepPlan:
    return grid_plan(space="masker", profile=profile, rows=list(ROWS), seeds=tuple(seeds or DEFAULT_SEEDS),
                     description=describe())
