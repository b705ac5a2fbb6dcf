"""Pretraining trainable: one SimCLR / advmask run of the plan, resumable.

Per epoch it reports the epoch's metrics; every `checkpoint_every` epochs and at the last one
it also reports a checkpoint (the Pretrainer's full state). A restarted trial (worker died,
`tune.FailureConfig`) resumes from `ray.tune.get_checkpoint()` at the epoch it had reached.
At the end it publishes the final encoder (`SweepLayout.encoder(key)`, what the probes read)
and its final result (`SweepLayout.done`); a trial started again after that (a driver killed
before Tune saved its state) reports the stored result and does no work.
"""

from __future__ import annotations

import dataclasses
import math
import shutil

from ray import tune

from ecgmask.pretrain import PretrainConfig, Pretrainer
from search_spaces.plan import PRETRAIN_LABELS
from sweep.store import layout, provenance
from sweep.store.staging import new_staging_dir
from sweep.store import files as store
from trainables.context import TrialContext, open_cache

STAGE = layout.PRETRAIN


def pretrain_fields(config: dict) -> dict:
    """The PretrainConfig overrides in a trial config; anything that is neither a field nor a
    label is a bad config."""
    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    # probe_<field> keys are the probes' own settings, carried by the row
    unknown = sorted(k for k in set(config) - names - set(PRETRAIN_LABELS) if not k.startswith("probe_"))
    if unknown:
        raise ValueError(f"pretraining trial {config.get('key')!r}: unknown config key(s) {unknown} (PretrainConfig fields: {sorted(names)})")
    return {k: v for k, v in config.items() if k in names}


def build_pretrainer(config: dict, context: TrialContext, cache) -> tuple[Pretrainer, bool]:
    """A fresh Pretrainer, or the one restored from the trial's last Tune checkpoint."""
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            return Pretrainer.from_checkpoint(directory, cache), True
    cfg = PretrainConfig.from_profile(context.profile, **pretrain_fields(config))
    return Pretrainer(cfg, cache), False


def check_finite(key: str, metrics: dict, names=("nt_xent",)) -> None:
    for name in names:
        value = metrics.get(name)
        if value is not None and not math.isfinite(float(value)):
            raise FloatingPointError(f"trial {key}: {name} is {value} at epoch {metrics.get('epoch')}")


def clean_metrics(metrics: dict) -> dict:
    """Plain Python numbers (Tune refuses tensors)."""
    out = {}
    for k, v in metrics.items():
        if hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def planned(config: dict) -> dict:
    """The trial's own config: a key set to None is one its row does not use."""
    return {k: v for k, v in config.items() if v is not None}


def pretrain_trainable(config: dict, *, context: TrialContext) -> None:
    config = planned(config)
    store.run_recording_failures(context.layout, STAGE, config["key"], _pretrain, config, context)


def _pretrain(config: dict, context: TrialContext) -> None:
    key = config["key"]
    labels = {k: config[k] for k in ("key", "row", "augmentation", "seed") if k in config}
    done = store.read_json(context.layout.done(STAGE, key))
    if done is not None:
        tune.report(done["result"])
        return
    context.set_threads()
    cache = open_cache(context.data["pretrain"])
    trainer, resumed = build_pretrainer(config, context, cache)
    store.record_start(context.layout, STAGE, key, resumed=resumed)
    every = max(1, int(context.checkpoint_every))
    while True:
        metrics = clean_metrics(trainer.run_epoch())
        check_finite(key, metrics)
        last = bool(metrics.get("stop"))
        result = {**metrics, **labels}
        if not last and int(metrics["epoch"]) % every != 0:
            tune.report(result)
            continue
        staging = new_staging_dir(context.sweep_dir, key)  # under the sweep: a kill leaves nothing in /tmp
        try:
            trainer.save_checkpoint(staging)
            if last:
                result[provenance.KEY] = provenance.trial_provenance(context.provenance)
                encoder = context.layout.encoder(key)
                store.publish_dir(staging, encoder)
                store.write_json(context.layout.done(STAGE, key), {"result": result, "encoder": encoder})
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(staging))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if last:
            return
