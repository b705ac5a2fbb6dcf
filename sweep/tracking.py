"""The logger callbacks of each stage: Tune's own JSON, CSV and TensorBoard files, and on
request MLflow or Weights & Biases through Ray's integrations.

- JSON and CSV (`result.json`, `progress.csv` per trial) are what analysis reads.
- TensorBoard event files (`events.out.tfevents.*` per trial, Tune's `TBXLoggerCallback`,
  tensorboardX comes with ray[tune]): `tensorboard --logdir <sweep>`.
- `--tracker mlflow`: `ray.air.integrations.mlflow.MLflowLoggerCallback`, one MLflow run per
  trial (named as the plan names the trial, tagged with its stage) with its config as params
  and every reported number as a metric, in one experiment named after the sweep. Works
  offline: the default tracking URI is a file store in the sweep (`SweepLayout.mlruns`);
  `--tracking-uri` names another (a server, `sqlite:///...`). MLflow 3 keeps its file store
  behind `MLFLOW_ALLOW_FILE_STORE=true` (set here for the driver; a reader sets it too:
  `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri <sweep>/mlruns`). A sqlite
  store needs no flag but costs ~10 s of schema set-up per new database.
- `--tracker wandb`: `ray.air.integrations.wandb.WandbLoggerCallback`, offline unless
  WANDB_MODE says otherwise, its runs under `SweepLayout.wandb` (`wandb sync` uploads them);
  the project and entity are `--wandb-project` / `--wandb-entity`, else WANDB_PROJECT /
  WANDB_ENTITY, else `ecgmask` and W&B's default entity.

Both trackers come with the optional extra `pip install -e '.[track]'`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sweep.store import layout

EXTRA = "pip install -e '.[track]'"
ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"  # MLflow 3 refuses its file store without it
DEFAULT_WANDB_PROJECT = "ecgmask"


class TrackingError(ValueError):
    """A tracker that cannot run here; the message is one line."""


@dataclass(frozen=True)
class Tracker:
    """One tracker of `--tracker`: its package, whether `--tracking-uri` names where it writes
    (otherwise it writes under the sweep, which must then be local), its line for the
    terminal and its Tune logger callback."""

    package: str
    takes_uri: bool
    describe: Callable  # (tracking, sweep_dir) -> str
    callback: Callable  # (tracking, stage, sweep_dir, name) -> a Tune logger callback


def _mlflow_describe(tracking: "Tracking", sweep_dir: str) -> str:
    return f"MLflow, {tracking.mlflow_uri(sweep_dir)}"


def _mlflow_callback(tracking: "Tracking", stage: str, sweep_dir: str, name: str):
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    uri = tracking.mlflow_uri(sweep_dir)
    if uri.startswith("file:"):
        os.environ.setdefault(ALLOW_FILE_STORE, "true")
    return MLflowLoggerCallback(tracking_uri=uri, experiment_name=name, tags={"stage": stage, "sweep": name}, save_artifact=False)


def _wandb_describe(tracking: "Tracking", sweep_dir: str) -> str:
    project, entity = tracking.wandb_target()
    where = f"{entity}/{project}" if entity else project
    return f"W&B ({os.environ.get('WANDB_MODE', 'offline')}), project {where}, {layout.SweepLayout(sweep_dir).wandb}"


def _wandb_callback(tracking: "Tracking", stage: str, sweep_dir: str, name: str):
    from ray.air.integrations.wandb import WandbLoggerCallback

    directory = layout.SweepLayout(sweep_dir).wandb
    os.makedirs(directory, exist_ok=True)
    # the callback's setup asks for an API key unless WANDB_MODE is offline in the driver
    os.environ.setdefault("WANDB_MODE", "offline")
    project, entity = tracking.wandb_target()
    return WandbLoggerCallback(
        project=project,
        entity=entity,  # passed on to wandb.init
        group=f"{name}/{stage}",
        # the logging actor does not inherit WANDB_MODE: wandb.init takes it as an argument
        mode=os.environ["WANDB_MODE"],
        dir=directory,
    )


# A new tracker is one entry here (and its package in the `track` extra).
TRACKERS: dict[str, Tracker] = {
    "mlflow": Tracker("mlflow", True, _mlflow_describe, _mlflow_callback),
    "wandb": Tracker("wandb", False, _wandb_describe, _wandb_callback),
}


@dataclass(frozen=True)
class Tracking:
    """Which tracker (None: files only) and where it writes."""

    tracker: str | None = None
    tracking_uri: str | None = None  # a tracker that takes one (MLflow); None: the sweep's own files
    wandb_project: str | None = None  # wandb only; None: $WANDB_PROJECT, else DEFAULT_WANDB_PROJECT
    wandb_entity: str | None = None  # wandb only; None: $WANDB_ENTITY, else W&B's default entity

    def check(self, sweep_dir: str) -> None:
        """Before Ray starts: the tracker is known, installed, and has somewhere to write."""
        if self.tracker != "wandb" and (self.wandb_project or self.wandb_entity):
            raise TrackingError(f"--wandb-{'project' if self.wandb_project else 'entity'} needs --tracker wandb")
        with_uri = [name for name, t in TRACKERS.items() if t.takes_uri]
        if self.tracker is None:
            if self.tracking_uri:
                raise TrackingError(f"--tracking-uri needs --tracker {' or '.join(with_uri)}")
            return
        if self.tracker not in TRACKERS:
            raise TrackingError(f"--tracker {self.tracker}: choose one of {list(TRACKERS)}")
        spec = TRACKERS[self.tracker]
        try:
            __import__(spec.package)
        except ImportError:
            raise TrackingError(f"--tracker {self.tracker}: the {spec.package} package is not installed ({EXTRA})") from None
        if self.tracking_uri and not spec.takes_uri:
            raise TrackingError(f"--tracking-uri is for {' or '.join(with_uri)}; {self.tracker}'s offline runs go under the sweep")
        if layout.is_uri(sweep_dir) and not (spec.takes_uri and self.tracking_uri):
            raise TrackingError(
                f"--tracker {self.tracker}: the sweep is under {sweep_dir}, where no local tracking files can go"
                + ("; pass --tracking-uri (an MLflow server or sqlite:///path)" if spec.takes_uri else "")
            )

    def mlflow_uri(self, sweep_dir: str) -> str:
        return self.tracking_uri or Path(layout.SweepLayout(sweep_dir).mlruns).resolve().as_uri()

    def wandb_target(self) -> tuple[str, str | None]:
        """(project, entity): the options, else the environment, else the defaults."""
        project = self.wandb_project or os.environ.get("WANDB_PROJECT") or DEFAULT_WANDB_PROJECT
        return project, self.wandb_entity or os.environ.get("WANDB_ENTITY") or None

    def describe(self, sweep_dir: str) -> str:
        return TRACKERS[self.tracker].describe(self, sweep_dir) if self.tracker else "files only"

    def callbacks(self, stage: str, sweep_dir: str) -> list:
        """The logger callbacks of one stage's `tune.RunConfig`."""
        from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

        out = [JsonLoggerCallback(), CSVLoggerCallback(), TBXLoggerCallback()]
        if self.tracker:
            out.append(TRACKERS[self.tracker].callback(self, stage, sweep_dir, layout.split(sweep_dir)[1]))
        return out
