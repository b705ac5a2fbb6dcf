"""The epoch loop the pretraining trainables share, shaped like Ray Tune's examples.

    trainer, resumed = resume_or_start(Pretrainer, new_config, cache)   # tune.get_checkpoint(), or new
    run_epochs(trainer, context, key, result_of)              # epoch, check, stage, tune.report

Each trainable gives only what is its own: the config of a fresh Pretrainer and what to add to
an epoch's metrics (`result_of(metrics, staging, last)`, where `staging` is the folder holding
the epoch's checkpoint, or None in an epoch without one).
"""

from __future__ import annotations

import math
import pickle
import shutil
import zipfile
from pathlib import PurePosixPath

from ray import tune

from ecgmask.pretrain import Pretrainer  # the type; each trainable passes its own class
from sweep.store import files as store
from sweep.store.staging import new_staging_dir
from trainables.context import TrialContext


def plain(metrics: dict) -> dict:
    """Plain Python numbers (Tune refuses tensors)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in metrics.items()}


def check_finite(key: str, metrics: dict, names=("nt_xent",)) -> None:
    for name in names:
        value = metrics.get(name)
        if value is not None and not math.isfinite(float(value)):
            raise FloatingPointError(f"trial {key}: {name} is {value} at epoch {metrics.get('epoch')}")


def report_done(context: TrialContext, stage: str, key: str) -> bool:
    """Reports the stored final result of a trial that finished before (a driver killed before
    Tune saved that); True when there was one."""
    done = store.read_json(context.layout.done(stage, key))
    if done is not None:
        tune.report(done["result"])
    return done is not None


# what torch.load / unpickling make of a truncated or damaged checkpoint file (a RuntimeError
# only with torch's words for it: not, say, a CUDA out-of-memory while restoring)
UNREADABLE = (EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile)
UNREADABLE_SIGNS = ("PytorchStreamReader", "zip archive", "corrupted", "unexpected EOF", "invalid load key")


def unreadable(err: BaseException) -> bool:
    return isinstance(err, UNREADABLE) or (isinstance(err, RuntimeError) and any(s in str(err) for s in UNREADABLE_SIGNS))


def resume_or_start(trainer_class, new_config, cache, *, on_unreadable=None) -> tuple[Pretrainer, bool]:
    """(the trainer restored from this trial's last Tune checkpoint, True), or
    (`trainer_class(new_config(), cache)`, False). With `on_unreadable`, a checkpoint that
    cannot be read (truncated, damaged) starts the trial again from epoch 0 and
    `on_unreadable(line)` is told why; without it, the error is raised."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        try:
            with checkpoint.as_directory() as directory:
                return trainer_class.from_checkpoint(directory, cache), True
        except (RuntimeError, *UNREADABLE) as err:
            if on_unreadable is None or not unreadable(err):
                raise
            reason = (str(err).strip().splitlines() or [""])[0].split(". ")[0]  # torch's first sentence names it
            name = PurePosixPath(str(checkpoint.path)).name
            on_unreadable(f"{name} unreadable ({type(err).__name__}: {reason}), restarted from epoch 0")
    return trainer_class(new_config(), cache), False


def run_epochs(trainer: Pretrainer, context: TrialContext, key: str, result_of, *, stage_every_epoch: bool = False) -> None:
    """Epochs until the trainer stops: each one's metrics checked finite and reported; every
    `context.checkpoint_every` epochs and the last with a checkpoint. `stage_every_epoch`
    saves the trainer in every epoch (for a `result_of` that reads it), reporting it as a
    checkpoint on the same schedule."""
    every = max(1, int(context.checkpoint_every))
    while True:
        metrics = plain(trainer.run_epoch())
        check_finite(key, metrics)
        last = bool(metrics.get("stop"))
        checkpoint = last or int(metrics["epoch"]) % every == 0
        if not (checkpoint or stage_every_epoch):
            tune.report(result_of(metrics, None, last))
            continue
        staging = new_staging_dir(context.sweep_dir, key)  # under the sweep: a kill leaves nothing in /tmp
        try:
            trainer.save_checkpoint(staging)
            result = result_of(metrics, staging, last)
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(staging) if checkpoint else None)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if last:
            return
