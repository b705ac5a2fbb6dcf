"""Search trainable (the `tune` space): pretrain, and after every epoch probe the encoder.

Each epoch reports the pretraining metrics plus the probe's `val_accuracy` (a linear probe
on the configured task and label fraction), so a scheduler such as ASHA can stop a weak
trial between epochs. Resumes from its last checkpoint like the pretraining trainable.
"""

from __future__ import annotations

import dataclasses

import ray

from ecgmask.device import check_gpus_visible
from ecgmask.pretrain import PretrainConfig, Pretrainer
from ecgmask.transfer import ProbeConfig, run_probe
from search_spaces.plan import PROBE_PREFIX
from sweep.store import provenance
from trainables.context import TrialContext, open_cache
from trainables.loop import plain, resume_or_start, run_epochs
from trainables.probe import probe_fields

PROBE_KEYS = ("task", "fraction", "mode", "row", "key")


def search_trainable(config: dict, *, context: TrialContext) -> None:
    check_gpus_visible(ray.get_gpu_ids() if ray.is_initialized() else [], config.get("device", "auto"))  # given a GPU it cannot see: fail now, naming the node
    context.set_threads()
    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    unknown = sorted(set(config) - names - set(PROBE_KEYS) - {k for k in config if k.startswith(PROBE_PREFIX)})
    if unknown:
        raise ValueError(f"search trial: unknown config key(s) {unknown}")
    cache = open_cache(context.data["pretrain"])
    downstream = open_cache(context.data["downstream"])
    fields = {k: v for k, v in config.items() if k in names}
    trainer, _ = resume_or_start(Pretrainer, lambda: PretrainConfig.from_profile(context.profile, **fields), cache)
    probe_config = ProbeConfig.from_profile(context.profile, **probe_fields({"mode": "linear", "key": config.get("key"), **config}))
    # ASHA may stop a sample after any epoch: every result carries the record
    record = {provenance.KEY: provenance.trial_provenance(context.provenance)}

    def result_of(metrics: dict, staging: str, last: bool) -> dict:
        probe = run_probe(probe_config, downstream, staging)  # reads the epoch's encoder.pt
        return {**metrics, **plain(probe), **record}

    run_epochs(trainer, context, "search", result_of, stage_every_epoch=True)
