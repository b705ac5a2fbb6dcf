"""What the pipeline hands each stage's Tuner so that the sweep can be followed: trial names
from the plan (`TuneConfig`), the logger callbacks of `sweep.tracking`, the stage lines and
the progress table of `sweep.progress` (`RunConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from sweep.progress import StageLines, StageTable, legacy_output, trial_dirname, trial_name
from sweep.tracking import Tracking


@dataclass(frozen=True)
class Observers:
    tracking: Tracking = field(default_factory=Tracking)
    table_period_s: float = 30.0  # how often the progress table is printed (to the log)
    lines_every_s: float = 10.0  # at most one stage line this often (failures and the end always)

    def tune_config(self, stage: str) -> dict:
        """Keyword arguments of `tune.TuneConfig`."""
        return {
            "trial_name_creator": partial(trial_name, stage),
            "trial_dirname_creator": partial(trial_dirname, stage),
        }

    def run_config(self, stage: str, sweep_dir: str, total: int) -> dict:
        """Keyword arguments of `tune.RunConfig` (`total`: the trials the stage will run)."""
        legacy_output()  # the output engine that shows `progress_reporter`
        return {
            "callbacks": [*self.tracking.callbacks(stage, sweep_dir), StageLines(stage, total, every_s=self.lines_every_s)],
            "progress_reporter": StageTable(stage, period_s=self.table_period_s),
        }
