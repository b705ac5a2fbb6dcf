"""Search trainable (the `tune` space): pretrain, and after every epoch probe the encoder.

Each epoch reports the pretraining metrics plus the probe's `val_accuracy` (a linear probe
on the configured task and label fraction), so a scheduler such as ASHA can stop a weak
trial between epochs. Resumes from its last checkpoint like the pretraining trainable.
"""

from __future__ import annotations

import dataclasses
import shutil

from ray import tune

from ecgmask.pretrain import PretrainConfig, Pretrainer
from ecgmask.transfer import ProbeConfig, run_probe
from sweep.store import provenance
from sweep.store.staging import new_staging_dir
from trainables.context import TrialContext, open_cache
from trainables.pretrain import check_finite, clean_metrics
from trainables.probe import probe_fields

PROBE_KEYS = ("task", "fraction", "mode", "row", "key")


def search_trainable(config: dict, *, context: TrialContext) -> None:
    context.set_threads()
    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    unknown = sorted(set(config) - names - set(PROBE_KEYS) - {k for k in config if k.startswith("probe_")})
    if unknown:
        raise ValueError(f"search trial: unknown config key(s) {unknown}")
    cache = open_cache(context.data["pretrain"])
    downstream = open_cache(context.data["downstream"])
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            trainer = Pretrainer.from_checkpoint(directory, cache)
    else:
        cfg = PretrainConfig.from_profile(context.profile, **{k: v for k, v in config.items() if k in names})
        trainer = Pretrainer(cfg, cache)
    probe_config = ProbeConfig.from_profile(
        context.profile, **probe_fields({"mode": "linear", "key": config.get("key"), **config})
    )
    every = max(1, int(context.checkpoint_every))
    # ASHA may stop a sample after any epoch: every result carries the record
    record = {provenance.KEY: provenance.trial_provenance(context.provenance)}
    while True:
        metrics = clean_metrics(trainer.run_epoch())
        check_finite("search", metrics)
        staging = new_staging_dir(context.sweep_dir, "search")  # under the sweep: a kill leaves nothing in /tmp
        try:
            trainer.save_checkpoint(staging)  # the probe reads encoder.pt from here
            probe = run_probe(probe_config, downstream, staging)
            result = {**metrics, **{k: (v.item() if hasattr(v, "item") else v) for k, v in probe.items()}, **record}
            last = bool(metrics.get("stop"))
            if last or int(metrics["epoch"]) % every == 0:
                tune.report(result, checkpoint=tune.Checkpoint.from_directory(staging))
            else:
                tune.report(result)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if last:
            return
