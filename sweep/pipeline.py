"""The sweep pipeline: pretraining trials, then the probes of their encoders (or a search).

The pretraining and probe stages are ordinary Tune experiments (one trial per plan entry,
given as `points_to_evaluate` so every trial's config is the plan's, nested mappings
included); a searched space
runs as one more (where each lives: `sweep.store.layout`). `resume=True` restores each experiment with
`tune.Tuner.restore(..., resume_errored=True)`: finished trials are kept, interrupted and
failed ones run again (from their last checkpoint). The trainables' done records cover the
window in which a trial finished but Tune had not yet saved that: such a trial reports its
stored result instead of working again.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from dataclasses import dataclass, field

from ray import tune
from ray.tune.search.basic_variant import BasicVariantGenerator

from search_spaces.plan import PRETRAIN, PROBE, SweepPlan
from sweep.between_stages import after_pretraining, before_stage
from sweep.store import layout
from sweep.store.layout import SweepError, SweepLayout
from sweep.observe import Observers
from sweep.store import files as store
from trainables.context import TrialContext
from trainables.pretrain import pretrain_trainable
from trainables.probe import probe_trainable
from sweep.resources import StageResources, TrialResources
from trainables.search import search_trainable

# a snapshot of the experiment after every pretraining checkpoint is what we want (resume
# sees the newest checkpoints), not a problem to warn about
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

# the logger callbacks are given explicitly (sweep.tracking: JSON, CSV, TensorBoard, a tracker)
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")

MAX_FAILURES = 2  # a trial whose worker dies is restarted (from its checkpoint) twice
SEARCH_CHECKPOINTS_TO_KEEP = 2  # a searched trial keeps its best checkpoint (by the metric) and its latest


@dataclass
class StageOutcome:
    stage: str
    path: str
    total: int = 0
    finished: int = 0
    failed: dict = field(default_factory=dict)  # key -> first line of the error
    best: dict | None = None  # searched stage: best config and metric
    seconds: float = 0.0  # wall time of the stage in this driver (Tune's start-up included)


@dataclass
class SweepOutcome:
    sweep_dir: str
    stages: list[StageOutcome] = field(default_factory=list)

    @property
    def failed(self) -> dict:
        return {f"{s.stage}/{k}": v for s in self.stages for k, v in s.failed.items()}


def write_plan(plan: SweepPlan, sweep: SweepLayout, info: dict, *, resume: bool) -> None:
    """The plan file: the space, profile, data paths and every trial. On resume the stored plan
    must list the same trials."""
    path = sweep.plan
    body = {**plan.to_json(), **info}
    old = store.read_json(path)
    if old is not None:
        if not resume:
            raise SweepError(f"{sweep.root}: a sweep already exists here; pass --resume to continue it or choose another --name")
        for stage, section in ((layout.PRETRAIN, PRETRAIN), (layout.PROBE, PROBE)):
            if any(section not in t for t in old.get(stage, [])):
                raise SweepError(f"{path}: planned by an older version (flat trial configs, before `{section}: {{...}}`); finish it with that version or start a new sweep")
            if [t["key"] for t in old.get(stage, [])] != [t["key"] for t in body[stage]]:
                raise SweepError(f"{path}: the stored plan's {stage} trials differ from this command's; resume with the same options")
        if old.get("data") != body.get("data"):
            raise SweepError(f"{path}: the stored sweep used data {old.get('data')}, this command {body.get('data')}")
    store.write_json(path, body)


def _run_config(stage: str, sweep: SweepLayout, *, checkpoint_config: tune.CheckpointConfig | None, verbose: int, observers: Observers, total: int) -> tune.RunConfig:
    # Tune writes the experiment to <storage_path>/<name>, which is sweep.experiment(stage)
    return tune.RunConfig(
        name=stage,
        **observers.run_config(stage, sweep.root, total),
        storage_path=sweep.root,
        failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
        checkpoint_config=checkpoint_config,
        verbose=verbose,
    )


def _leaves(config: dict, path: tuple = ()) -> dict:
    """path -> value of every value of a nested config that is not a mapping (an empty
    mapping has none: the trial reads it as absent)."""
    out = {}
    for name, value in config.items():
        if isinstance(value, dict):
            out.update(_leaves(value, path + (name,)))
        else:
            out[path + (name,)] = value
    return out


def _nest(leaves: dict) -> dict:
    out: dict = {}
    for path, value in leaves.items():
        node = out
        for name in path[:-1]:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise ValueError(f"trial configs disagree: {'/'.join(path[:-1])} is a mapping in one and a value in another")
        if path[-1] in node and isinstance(node[path[-1]], dict):
            raise ValueError(f"trial configs disagree: {'/'.join(path)} is a mapping in one and a value in another")
        node[path[-1]] = value
    return out


def _points(configs: list[dict]) -> tuple[dict, list[dict]]:
    """Each plan entry becomes exactly one trial with exactly its config: the entries are
    Tune's `points_to_evaluate`, over a space with one `tune.choice` of the planned values per
    leaf (Tune checks a point against the space path by path, so the space nests like the
    configs: `pretrain/lr`). A leaf a trial lacks is None there (`trainables.pretrain.planned`
    drops it)."""
    per_config = [_leaves(c) for c in configs]
    paths = sorted({p for leaves in per_config for p in leaves})
    points = [_nest({p: leaves.get(p) for p in paths}) for leaves in per_config]
    choices: dict = {}
    for path in paths:
        values = []
        for leaves in per_config:
            if leaves.get(path) not in values:
                values.append(leaves.get(path))
        choices[path] = tune.choice(values)
    return _nest(choices), points


def _tuner(trainable, configs: list[dict], *, stage: str, sweep: SweepLayout, max_concurrent: int, resume: bool, checkpoints: bool, verbose: int, observers: Observers):
    path = sweep.experiment(stage)
    if resume and tune.Tuner.can_restore(path):
        return tune.Tuner.restore(path, trainable=trainable, resume_errored=True)
    # first run, or a driver killed before Tune first saved this experiment: start it afresh
    # (trials that had finished report their done records without working again)
    param_space, points = _points(configs)
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=BasicVariantGenerator(points_to_evaluate=points, max_concurrent=max_concurrent),
            num_samples=len(points),
            reuse_actors=True,
            **observers.tune_config(stage),
        ),
        run_config=_run_config(
            stage,
            sweep,
            # keeps the best checkpoint by training NT-Xent; Tune always keeps the latest too
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="nt_xent", checkpoint_score_order="min") if checkpoints else None,
            verbose=verbose,
            observers=observers,
            total=len(points),
        ),
    )


def _error_line(result) -> str:
    err = result.error
    if err is None:
        return ""
    text = str(getattr(err, "cause", None) or err)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    # the last line of a remote traceback names the exception and its message
    return lines[-1] if lines else type(err).__name__


def _outcome(stage: str, path: str, results, expected: list[str] | None) -> StageOutcome:
    out = StageOutcome(stage=stage, path=path, total=len(results))
    seen = set()
    for result in results:
        key = (result.config or {}).get("key") or result.path
        seen.add(key)
        if result.error is not None:
            out.failed[key] = _error_line(result)
        else:
            out.finished += 1
    for key in expected or []:
        if key not in seen:
            out.failed[key] = "no result (trial never ran)"
    return out


def run_stage(stage: str, fn, configs: list[dict], *, context: TrialContext, resources: TrialResources | StageResources, max_concurrent: int, resume: bool, verbose: int = 1, observers: Observers | None = None) -> StageOutcome:
    resources = resources.for_stage(stage)  # probes ask for less of a GPU than pretraining
    context = dataclasses.replace(context, cpus=resources.cpus)  # torch threads = the stage's CPUs
    trainable = tune.with_resources(tune.with_parameters(fn, context=context), resources.as_tune())
    tuner = _tuner(
        trainable,
        configs,
        stage=stage,
        sweep=context.layout,
        max_concurrent=max_concurrent,
        resume=resume,
        checkpoints=stage == layout.PRETRAIN,
        verbose=verbose,
        observers=observers or Observers(),
    )
    start = time.monotonic()
    results = tuner.fit()
    out = _outcome(stage, context.layout.experiment(stage), results, [c["key"] for c in configs])
    out.seconds = time.monotonic() - start
    return out


def run_search(plan: SweepPlan, *, context: TrialContext, resources: TrialResources | StageResources, max_concurrent: int, resume: bool, verbose: int = 1, observers: Observers | None = None) -> StageOutcome:
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    resources = resources.for_stage(layout.SEARCH)  # a searched trial pretrains: the pretraining request
    spec = plan.search
    trainable = tune.with_resources(tune.with_parameters(search_trainable, context=context), resources.as_tune())
    path = context.layout.experiment(layout.SEARCH)
    if resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, trainable=trainable, resume_errored=True)
    else:
        seed = int(spec.fixed.get("seed", 0))
        tuner = tune.Tuner(
            trainable,
            # the searched PretrainConfig fields sit in the trial's `pretrain` mapping (Tune nests them)
            param_space={**spec.fixed, PRETRAIN: {**spec.fixed.get(PRETRAIN, {}), **spec.param_space}, "key": "search"},
            tune_config=tune.TuneConfig(
                metric=spec.metric,
                mode=spec.mode,
                search_alg=ConcurrencyLimiter(OptunaSearch(seed=seed), max_concurrent=min(spec.max_concurrent, max_concurrent)),
                scheduler=ASHAScheduler(
                    max_t=context.profile.epochs,
                    grace_period=spec.grace_period,
                    reduction_factor=spec.reduction_factor,
                ),
                num_samples=spec.num_samples,
                reuse_actors=True,
                **(observers or Observers()).tune_config(layout.SEARCH),
            ),
            run_config=_run_config(
                layout.SEARCH,
                context.layout,
                # every epoch reports a checkpoint: keep the best by the searched metric and the latest
                checkpoint_config=tune.CheckpointConfig(
                    num_to_keep=SEARCH_CHECKPOINTS_TO_KEEP, checkpoint_score_attribute=spec.metric, checkpoint_score_order=spec.mode
                ),
                verbose=verbose,
                observers=observers or Observers(),
                total=spec.num_samples,
            ),
        )
    start = time.monotonic()
    results = tuner.fit()
    out = _outcome(layout.SEARCH, path, results, None)
    out.seconds = time.monotonic() - start
    try:
        best = results.get_best_result(metric=spec.metric, mode=spec.mode, scope="all")
        out.best = {"config": {k: best.config[PRETRAIN][k] for k in spec.param_space}, spec.metric: best.metrics.get(spec.metric)}
    except (RuntimeError, KeyError):
        traceback.print_exc()
    return out


def run_sweep(plan: SweepPlan, *, context: TrialContext, resources: TrialResources | StageResources, max_concurrent: int, resume: bool = False, info: dict | None = None, verbose: int = 1, observers: Observers | None = None) -> SweepOutcome:
    """Runs every stage of the plan; returns what finished and what failed (never raises for a
    failed trial). `info` adds entries to the plan file (the CLI's name, overrides, seeds...).
    `resources`: one request for every stage, or a `StageResources` (pretraining and probes apart)."""
    write_plan(plan, context.layout, {"data": context.data, **(info or {})}, resume=resume)
    if resume:
        store.clear_failures(context.layout)
    outcome = SweepOutcome(context.sweep_dir)
    common = dict(context=context, resources=resources, max_concurrent=max_concurrent, resume=resume, verbose=verbose, observers=observers)
    if plan.search is not None:
        before_stage(layout.SEARCH, [], context)
        outcome.stages.append(run_search(plan, **common))
        return outcome
    if plan.pretrain:
        before_stage(layout.PRETRAIN, plan.pretrain, context)
        outcome.stages.append(run_stage(layout.PRETRAIN, pretrain_trainable, plan.pretrain, **common))
        after_pretraining(outcome.stages[-1], context.layout)  # the probes of a failed encoder are skipped
    if plan.probe:
        before_stage(layout.PROBE, plan.probe, context)
        outcome.stages.append(run_stage(layout.PROBE, probe_trainable, plan.probe, **common))
    return outcome
