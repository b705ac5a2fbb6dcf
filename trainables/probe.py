"""Probe trainable: one transfer run (task, labelled fraction, seed, mode) of one encoder.

The encoder is the final one a pretraining trial published (`SweepLayout.encoder(key)`;
`scratch` and `random` need none). The probes of one encoder share its embeddings:
`ecgmask.transfer` stores them once, on disk, next to the encoder. Reports the final metrics
once, with the config's labels; the result is also kept as a done record (`SweepLayout.done`)
so that a trial started again after a driver crash does not redo the work.
"""

from __future__ import annotations

import math

import ray
from ray import tune

from ecgmask.device import check_gpus_visible
from ecgmask.transfer import ProbeConfig, run_probe
from search_spaces.plan import NO_PRETRAINING_MODES, PROBE, labels, probe_fields
from sweep.store import layout, provenance
from sweep.store import files as store
from trainables.context import TrialContext, open_cache, ray_placement
from trainables.loop import plain, report_done
from trainables.pretrain import planned

STAGE = layout.PROBE


class SkippedInput(store.MissingInput):
    """The probe's encoder failed to pretrain: the probe is skipped, naming that failure."""


def encoder_for(config: dict, context: TrialContext) -> str | None:
    """The local encoder directory a probe reads (None for scratch / random); a clear error
    when its pretraining did not finish."""
    key = config["key"]
    if config["mode"] in NO_PRETRAINING_MODES:
        return None
    pretrain_key = config.get("pretrain_key")
    if not pretrain_key:
        raise ValueError(f"probe trial {key!r}: mode {config['mode']!r} needs a pretrain_key")
    path = context.layout.encoder(pretrain_key)  # the one place a probe's encoder is named
    failed = store.read_json(context.layout.failed(layout.PRETRAIN, pretrain_key))
    if failed is not None:  # no work on an encoder that does not exist: its error is the cause
        raise SkippedInput(f"probe trial {key!r} skipped: pretraining trial {pretrain_key!r} failed: {failed['error']}")
    if store.read_json(context.layout.done(layout.PRETRAIN, pretrain_key)) is None:
        raise store.MissingInput(f"probe trial {key!r}: pretraining trial {pretrain_key!r} did not finish (no encoder at {path})")
    return store.localize_dir(path)


def probe_trainable(config: dict, *, context: TrialContext) -> None:
    config = planned(config)
    check_gpus_visible(ray.get_gpu_ids() if ray.is_initialized() else [], config.get(PROBE, {}).get("device", "auto"))  # given a GPU it cannot see: fail now, naming the node
    store.run_recording_failures(context.layout, STAGE, config["key"], _probe, config, context)


def _probe(config: dict, context: TrialContext) -> None:
    key = config["key"]
    if report_done(context, STAGE, key):
        return
    context.set_threads()
    probe_config = ProbeConfig.from_profile(context.profile, **probe_fields(config, ProbeConfig))
    checkpoint = encoder_for(config, context)
    store.record_start(context.layout, STAGE, key, **ray_placement())
    cache = open_cache(context.data["downstream"])
    metrics = run_probe(probe_config, cache, checkpoint)
    metrics = plain(metrics)
    for name in ("test_accuracy", "val_accuracy"):
        if name in metrics and not math.isfinite(float(metrics[name])):
            raise FloatingPointError(f"probe trial {key}: {name} is {metrics[name]}")
    result = {**metrics, **labels(config)}
    result[provenance.KEY] = provenance.trial_provenance(context.provenance)
    store.write_json(context.layout.done(STAGE, key), {"result": result})
    tune.report(result)
