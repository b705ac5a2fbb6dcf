"""Search trainable (the `tune` space): pretrain, and after every epoch probe the encoder.

Each epoch reports the pretraining metrics plus the probe's `val_accuracy` (a linear probe
on the configured task and label fraction), so a scheduler such as ASHA can stop a weak
trial between epochs. Resumes from its last checkpoint like the pretraining trainable.
"""

from __future__ import annotations

import ray

from ecgmask.device import check_gpus_visible
from ecgmask.pretrain import PretrainConfig, Pretrainer
from ecgmask.transfer import ProbeConfig, run_probe
from search_spaces.plan import PRETRAIN, pretrain_fields, probe_fields
from sweep.store import provenance
from trainables.context import TrialContext, open_cache
from trainables.loop import plain, resume_or_start, run_epochs
from trainables.pretrain import planned


def search_trainable(config: dict, *, context: TrialContext) -> None:
    config = {"mode": "linear", **planned(config)}  # the probe after each epoch is linear unless the space says otherwise
    check_gpus_visible(ray.get_gpu_ids() if ray.is_initialized() else [], config.get(PRETRAIN, {}).get("device", "auto"))  # given a GPU it cannot see: fail now, naming the node
    context.set_threads()
    pretrain_config = PretrainConfig.from_profile(context.profile, **pretrain_fields(config, PretrainConfig))
    probe_config = ProbeConfig.from_profile(context.profile, **probe_fields(config, ProbeConfig))
    cache = open_cache(context.data["pretrain"])
    downstream = open_cache(context.data["downstream"])
    trainer, _ = resume_or_start(Pretrainer, lambda: pretrain_config, cache)
    # ASHA may stop a sample after any epoch: every result carries the record
    record = {provenance.KEY: provenance.trial_provenance(context.provenance)}

    def result_of(metrics: dict, staging: str, last: bool) -> dict:
        probe = run_probe(probe_config, downstream, staging)  # reads the epoch's encoder.pt
        return {**metrics, **plain(probe), **record}

    run_epochs(trainer, context, "search", result_of, stage_every_epoch=True)
