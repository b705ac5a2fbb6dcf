"""Pretraining trainable: one SimCLR / advmask run of the plan, resumable.

Per epoch it reports the epoch's metrics; every `checkpoint_every` epochs and at the last one
it also reports a checkpoint (the Pretrainer's full state). A restarted trial (worker died,
`tune.FailureConfig`) resumes from `ray.tune.get_checkpoint()` at the epoch it had reached.
At the end it publishes the final encoder (`SweepLayout.encoder(key)`, what the probes read)
and its final result (`SweepLayout.done`); a trial started again after that (a driver killed
before Tune saved its state) reports the stored result and does no work.
"""

from __future__ import annotations

import ray

from ecgmask.device import check_gpus_visible
from ecgmask.pretrain import PretrainConfig, Pretrainer
from search_spaces.plan import PRETRAIN, labels, pretrain_fields
from sweep.store import files as store
from sweep.store import layout, provenance, recoveries
from trainables.context import TrialContext, open_cache, ray_placement
from trainables.loop import report_done, resume_or_start, run_epochs

STAGE = layout.PRETRAIN


def planned(config: dict) -> dict:
    """The trial's own config: a key set to None (at the top or in its `pretrain` / `probe`
    mapping) is one the trial does not use (Tune gives every trial every key of its stage)."""
    return {k: planned(v) if isinstance(v, dict) else v for k, v in config.items() if v is not None}


def recorder(context: TrialContext, key: str):
    """Keeps a recovery's line in the sweep (sweep.store.recoveries), where the driver reads it."""
    return lambda line: recoveries.record(context.sweep_dir, STAGE, key, line)


def pretrain_trainable(config: dict, *, context: TrialContext) -> None:
    config = planned(config)
    check_gpus_visible(ray.get_gpu_ids() if ray.is_initialized() else [], config.get(PRETRAIN, {}).get("device", "auto"))  # given a GPU it cannot see: fail now, naming the node
    store.run_recording_failures(context.layout, STAGE, config["key"], _pretrain, config, context)


def _pretrain(config: dict, context: TrialContext) -> None:
    key = config["key"]
    if report_done(context, STAGE, key):
        return
    context.set_threads()
    cache = open_cache(context.data["pretrain"])
    trainer, resumed = resume_or_start(Pretrainer, lambda: PretrainConfig.from_profile(context.profile, **pretrain_fields(config, PretrainConfig)), cache,
                                       on_unreadable=recorder(context, key))
    store.record_start(context.layout, STAGE, key, resumed=resumed, **ray_placement())
    identity = labels(config)

    def result_of(metrics: dict, staging: str | None, last: bool) -> dict:
        result = {**metrics, **identity}
        if last:  # the encoder the probes read, and the result a restarted trial reports
            result[provenance.KEY] = provenance.trial_provenance(context.provenance)
            encoder = context.layout.encoder(key)
            store.publish_dir(staging, encoder)
            store.write_json(context.layout.done(STAGE, key), {"result": result, "encoder": encoder})
        return result

    run_epochs(trainer, context, key, result_of)
