"""What the driver does between the stages of a sweep: stop when a signal came
(`sweep.signals`), refuse a stage the disk clearly cannot hold (`sweep.disk`), and record
the failure of every pretraining trial that failed, so that its probes are skipped with that
error (`trainables.probe`) instead of failing as a missing input."""

from __future__ import annotations

from sweep import disk, signals
from sweep.store import files as store
from sweep.store import layout

NEVER_RAN = "no result (trial never ran)"


def before_stage(stage: str, configs: list[dict], context) -> None:
    signals.check()
    disk.check_stage(stage, configs, context)


def after_pretraining(outcome, sweep: layout.SweepLayout) -> None:
    """A failure record for each failed pretraining trial (the trainable already wrote one for
    a repeatable error such as a NaN loss; a crash or an I/O error gets its line here)."""
    signals.check()
    for key, error in outcome.failed.items():
        if error == NEVER_RAN or store.read_json(sweep.failed(layout.PRETRAIN, key)) is not None:
            continue
        store.write_json(sweep.failed(layout.PRETRAIN, key), {"error": disk.explain(error, sweep.root)})
