"""Load a sweep's probe results into one tidy DataFrame through Ray Tune's own result API.

A sweep written by `sweep/run.py` lives in `<storage>/<sweep name>/` with a Tune experiment
in `probe/` (docs/architecture.md, "Sweep results"). We read it with
`ray.tune.ExperimentAnalysis`: the trial objects give each trial's config and status (and
the stored error of a failed trial), `.dataframe()` gives each trial's last reported
metrics. No log is parsed. Reading needs no running Ray cluster. A sweep under a URI
(`s3://bucket/prefix/<name>`, an `?endpoint_override=` query kept at the end) is read from there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from search_spaces import augmentations
from sweep.store import files as store
from sweep.store.layout import PRETRAIN, PROBE, SweepError, SweepLayout, is_uri, split

# --metric name -> the result key run_probe reports (a fraction in [0, 1])
METRICS = {
    "accuracy": "test_accuracy",
    "balanced_accuracy": "test_balanced_accuracy",
    "auc": "test_auc",
}
METRIC_LABELS = {
    "accuracy": "test accuracy",
    "balanced_accuracy": "test balanced accuracy",
    "auc": "test AUC (macro one-vs-rest)",
}
# The paper's Table 1 rows in its order, then `random` (a probe on random features): the rows
# of the `augmentations` space, the one list of them
PAPER_ROWS = augmentations.PAPER_ROWS
TABLE_ROWS = tuple(row.name for row in augmentations.ROWS)
CONFIG_KEYS = ("row", "task", "fraction", "seed")
# val_auc: the early-stopping score of a multi-label task (which reports no val_accuracy)
# steps_run / epochs_run: how long the probe trained before early stopping (Table 1's notes)
RESULT_KEYS = ("test_accuracy", "test_balanced_accuracy", "test_auc", "val_accuracy", "val_auc", "n_train", "n_test",
               "steps_run", "epochs_run")
# Columns of the tidy frame, one row per trial.
TIDY_COLUMNS = (
    "sweep", "trial_id", "row", "task", "fraction", "seed", "mode", "augmentation",
    "status", "tune_status", "error",
) + RESULT_KEYS

DEFAULT_RESULTS_ROOT = Path("results")


def _probe_experiment(sweep: Path) -> Path:
    return Path(SweepLayout(str(sweep)).experiment(PROBE))


def find_latest_sweep(root: str | os.PathLike = DEFAULT_RESULTS_ROOT) -> Path:
    """The most recently written sweep under `root` (a directory `root/<name>` with a probe experiment)."""
    root = Path(root)
    if not root.is_dir():
        raise SweepError(f"{root}: no such directory, so no sweep to read; run `make demo` or pass --sweep PATH")
    candidates = [p for p in root.glob("*") if _probe_experiment(p).is_dir()]
    if not candidates:
        raise SweepError(f"{root}: no sweep found (expected {_probe_experiment(root / '<sweep name>')}/); pass --sweep PATH")
    return max(candidates, key=_last_written)


def _last_written(sweep: Path) -> float:
    experiment = _probe_experiment(sweep)
    states = list(experiment.glob("experiment_state-*.json"))  # Tune's own file name
    return max((p.stat().st_mtime for p in states), default=experiment.stat().st_mtime)


def _uri_probe_dir(path: str) -> str:
    def is_experiment(where: str) -> bool:
        return any(n.startswith("experiment_state-") and n.endswith(".json") for n in store.list_names(where))

    try:
        for candidate in (SweepLayout(path).experiment(PROBE), path):
            if is_experiment(candidate):
                return candidate
        found = store.list_names(path)
    except OSError as exc:
        raise SweepError(f"{path}: cannot be read ({first_error_line(exc)})") from exc
    if not found:
        raise SweepError(f"{path}: no such sweep")
    raise SweepError(f"{path}: not a sweep (no {PROBE}/ experiment) and not a Tune experiment (no experiment_state-*.json)")


def probe_dir(path: str | os.PathLike) -> Path | str:
    """Accepts a sweep directory (holding its probe experiment) or the probe experiment directory
    itself; a local Path, or the URI of a sweep stored under one."""
    if is_uri(path):
        return _uri_probe_dir(str(path))
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise SweepError(f"{path}: no such sweep directory")
    if _probe_experiment(path).is_dir():
        return _probe_experiment(path)
    if any(path.glob("experiment_state-*.json")):
        return path
    raise SweepError(
        f"{path}: not a sweep (no {PROBE}/ subdirectory) and not a Tune experiment "
        "(no experiment_state-*.json); pass the directory that sweep/run.py printed"
    )


def first_error_line(error: object) -> str:
    """`Type: first line of the message` of a trial's stored error (exception or traceback text)."""
    if error is None:
        return "failed (no error stored)"
    if isinstance(error, BaseException):
        # RayTaskError wraps the trainable's own exception as .cause
        cause = getattr(error, "cause", None)
        exc = cause if isinstance(cause, BaseException) else error
        message = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    # a traceback text: the last unindented "SomethingError: message" line is the raised one
    lines = str(error).splitlines()
    pattern = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failure|Warning))(:.*)?$")
    for line in reversed(lines):
        if pattern.match(line):
            # a multi-line message: keep the line where the exception starts
            return line.strip()
    nonblank = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("Failure #")]
    return nonblank[-1] if nonblank else "failed (empty error text)"


def _trial_error(trial) -> str:
    try:
        pickled = trial.get_pickled_error()
    except Exception:  # unpicklable error class: fall back to the stored text
        pickled = None
    if pickled is not None:
        return first_error_line(pickled)
    try:
        return first_error_line(trial.get_error())
    except Exception as exc:  # the error file itself is unreadable
        return f"failed (error file unreadable: {exc})"


def load_probe_results(sweep: str | os.PathLike) -> pd.DataFrame:
    """One sweep's probe trials as a tidy DataFrame (columns `TIDY_COLUMNS`).

    `status` is `ok` (finished and reported its metrics), `failed` (errored, or finished
    without metrics; `error` says why) or `unfinished` (pending, running or paused when the
    sweep stopped). Metrics of a trial that is not `ok` are never used.
    """
    from ray.tune import ExperimentAnalysis  # only analysis needs Ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    path = probe_dir(sweep)
    try:
        analysis = ExperimentAnalysis(str(path))
    except Exception as exc:
        raise SweepError(f"{path}: cannot be read as a Ray Tune experiment: {exc}") from exc
    frame = analysis.dataframe()
    by_id = frame.set_index("trial_id") if "trial_id" in frame.columns else pd.DataFrame()
    records = []
    for trial in analysis.trials:
        config = trial.config or {}
        missing = [k for k in CONFIG_KEYS if k not in config]
        if missing:
            raise SweepError(
                f"{path}: trial {trial.trial_id} has no config {', '.join(missing)}; "
                "expected a probe experiment written by sweep/run.py (docs/architecture.md)"
            )
        metrics = by_id.loc[trial.trial_id] if trial.trial_id in by_id.index else None
        if isinstance(metrics, pd.DataFrame):  # one row per trial in .dataframe(); be safe
            metrics = metrics.iloc[-1]
        record = {
            "sweep": split(path)[0],
            "trial_id": trial.trial_id,
            "row": str(config["row"]),
            "task": str(config["task"]),
            "fraction": float(config["fraction"]),
            "seed": int(config["seed"]),
            "mode": config.get("mode"),
            "augmentation": config.get("augmentation"),
            "tune_status": trial.status,
            "error": None,
        }
        for key in RESULT_KEYS:
            value = metrics.get(key) if metrics is not None else None
            record[key] = float(value) if value is not None and pd.notna(value) else float("nan")
        if trial.status == "ERROR":
            record["status"] = "failed"
            record["error"] = _trial_error(trial)
        elif trial.status == "TERMINATED":
            if pd.isna(record["test_accuracy"]):
                record["status"] = "failed"
                record["error"] = "finished without reporting test_accuracy"
            else:
                record["status"] = "ok"
        else:
            record["status"] = "unfinished"
            record["error"] = f"trial {trial.status.lower()} when the sweep stopped"
        records.append(record)
    if not records:
        raise SweepError(f"{path}: the experiment holds no trials")
    return pd.DataFrame.from_records(records, columns=list(TIDY_COLUMNS))


def load_sweeps(sweeps: list[str | os.PathLike] | None = None, results_root: str | os.PathLike = DEFAULT_RESULTS_ROOT) -> pd.DataFrame:
    """The probe trials of several sweeps, concatenated (default: the latest under `results_root`)."""
    if not sweeps:
        sweeps = [find_latest_sweep(results_root)]
    return pd.concat([load_probe_results(s) for s in sweeps], ignore_index=True)


def load_pretrain_epochs(sweep: str | os.PathLike) -> pd.DataFrame:
    """Pretraining epochs actually run (early stopping) per trial of a sweep's pretraining
    experiment: columns sweep, row, seed, epochs_run (the last reported `epoch`; NaN for a trial
    that reported none), status (Tune's). Empty when the sweep has no pretraining experiment."""
    from ray.tune import ExperimentAnalysis

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    columns = ["sweep", "row", "seed", "epochs_run", "status"]
    root = split(probe_dir(sweep))[0]
    experiment = SweepLayout(root).experiment(PRETRAIN)
    try:
        names = store.list_names(experiment) if is_uri(experiment) else [p.name for p in Path(experiment).glob("*")]
    except OSError:
        names = []
    if not any(n.startswith("experiment_state-") and n.endswith(".json") for n in names):
        return pd.DataFrame(columns=columns)
    try:
        analysis = ExperimentAnalysis(str(experiment))
    except Exception as exc:
        raise SweepError(f"{experiment}: cannot be read as a Ray Tune experiment: {exc}") from exc
    frame = analysis.dataframe()
    last = frame.set_index("trial_id")["epoch"] if {"trial_id", "epoch"} <= set(frame.columns) else pd.Series(dtype=float)
    records = []
    for trial in analysis.trials:
        config = trial.config or {}
        if "row" not in config or "seed" not in config:
            continue
        epoch = last.get(trial.trial_id) if trial.trial_id in last.index else None
        records.append({"sweep": root, "row": str(config["row"]), "seed": int(config["seed"]),
                        "epochs_run": float(epoch) if epoch is not None and pd.notna(epoch) else float("nan"),
                        "status": trial.status})
    return pd.DataFrame.from_records(records, columns=columns)


def pretrain_trial_histories(sweep: str | Path):
    """(trial, its per-epoch result frame) of every pretraining trial of a local sweep that
    reported something: what the loss figure and the mask statistics read."""
    from ray.tune import ExperimentAnalysis

    path = Path(SweepLayout(str(sweep)).experiment(PRETRAIN)).resolve()  # Tune wants an absolute path
    if not path.is_dir():
        raise SweepError(f"{sweep}: no pretraining experiment at {path}")
    analysis = ExperimentAnalysis(str(path))
    for trial in analysis.trials:
        history = analysis.trial_dataframes.get(trial.trial_id)
        if history is not None and not history.empty:
            yield trial, history
