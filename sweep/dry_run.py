"""What `sweep/run.py --dry-run` prints: every pretraining trial, a rows x tasks x fractions
table of probe counts, the resources per trial and how many run at once, and an estimate of
the wall time from steps measured here (`sweep.estimate`)."""

from __future__ import annotations

import dataclasses
import os

from sweep.estimate import Estimate, StepTimes, estimate, estimate_search, measure
from sweep.progress import duration


def pretraining_lines(plan) -> list[str]:
    """One line per pretraining trial: key, row, augmentation, seed and its `pretrain` fields."""
    if not plan.pretrain:
        return ["pretraining trials: none"]
    width = max(len(t["key"]) for t in plan.pretrain)
    lines = [f"pretraining trials ({len(plan.pretrain)}):"]
    for t in plan.pretrain:
        extra = ", ".join(f"{k}={v}" for k, v in t.get("pretrain", {}).items() if v is not None)  # its PretrainConfig fields
        lines.append(f"  {t['key']:<{width}}  row {t['row']:<14} augmentation {t['augmentation']:<12} seed {t['seed']}" + (f"  ({extra})" if extra else ""))
    return lines


def probe_table(plan) -> list[str]:
    """Probe trials per row (rows down) and task x fraction (across); each cell counts seeds."""
    if not plan.probe:
        return ["probe trials: none"]
    rows = list(dict.fromkeys(t["row"] for t in plan.probe))
    tasks = list(dict.fromkeys(t["task"] for t in plan.probe))
    fractions = sorted({float(t["fraction"]) for t in plan.probe}, reverse=True)
    columns = [(task, f) for task in tasks for f in fractions]
    counts: dict[tuple, int] = {}
    for t in plan.probe:
        key = (t["row"], t["task"], float(t["fraction"]))
        counts[key] = counts.get(key, 0) + 1
    heads = [f"{task} {f:g}" for task, f in columns]
    width = max(len("row"), *(len(r) for r in rows))
    cell = max(len(h) for h in heads)
    lines = [f"probe trials ({len(plan.probe)}; each cell: trials, one per seed):",
             f"  {'row':<{width}}" + "".join(f"  {h:>{cell}}" for h in heads) + f"  {'total':>5}"]
    for r in rows:
        per = [counts.get((r, task, f), 0) for task, f in columns]
        lines.append(f"  {r:<{width}}" + "".join(f"  {n if n else '-':>{cell}}" for n in per) + f"  {sum(per):>5}")
    return lines


def search_lines(plan) -> list[str]:
    spec = plan.search
    space = ", ".join(f"{k} ~ {v}" for k, v in spec.param_space.items())
    fixed = ", ".join(f"{k}={v}" for k, v in spec.fixed.items())
    return [
        f"searched trials: {spec.num_samples} samples, at most {spec.max_concurrent} at once, "
        f"maximising {spec.metric} ({spec.mode}) with ASHA (grace {spec.grace_period} epoch, reduction {spec.reduction_factor})",
        f"  searched: {space}",
        f"  fixed:    {fixed}",
    ]


def estimate_lines(result: Estimate, times: StepTimes, *, search: bool) -> list[str]:
    measured = (f"SimCLR step {times.simclr_step_s:.3g} s"
                + (f", advmask step {times.adversarial_step_s:.3g} s" if times.adversarial_step_s else "")
                + f", embedding {1000 * times.embed_s_per_sample:.3g} ms/ECG, end-to-end step {times.end_to_end_s_per_sample * times.probe_batch:.3g} s at batch {times.probe_batch}")
    lines = [f"estimated wall time: {duration(result.total_s)}"
             + ("" if search else f" (pretraining {duration(result.pretrain_s)}, probes {duration(result.probe_s)})")
             + f" with {result.at_once} trials at once",
             f"  an estimate: steps measured here on {times.device} with {times.threads} thread(s) per trial ({measured}),",
             "  times each trial's epochs and steps; early stopping ends trials sooner, Tune adds seconds per stage,"
             " and trials sharing a machine slow each other down"]
    return lines


def render(plan, profile, *, resources: str, at_once: int, threads: int, n_pretrain: int, n_downstream: int, device: str = "auto") -> str:
    """The whole --dry-run printout (measures a few steps: seconds)."""
    lines = []
    if plan.search is None:
        lines += pretraining_lines(plan) + [""] + probe_table(plan)
    else:
        lines += search_lines(plan)
    lines += ["", f"resources per trial: {resources}; {at_once} trials at once"]
    adversarial = any("advmask" in str(t.get("augmentation")).split("+") for t in plan.pretrain) or (
        plan.search is not None and "advmask" in str(plan.search.fixed.get("augmentation")).split("+"))
    times = measure(profile, adversarial=adversarial, threads=threads, device=device)
    how = estimate_search if plan.search is not None else estimate
    result = how(plan, profile, times, at_once=at_once, n_pretrain=n_pretrain, n_downstream=n_downstream)
    lines += estimate_lines(result, times, search=plan.search is not None)
    return "\n".join(lines)


def windows(data: dict | None, profile) -> tuple[int, int]:
    """(pretraining windows, downstream windows): the caches' counts, or for the synthetic
    study the profile's record counts (one 10 s record is one window)."""
    if not data:
        return int(profile.pretrain_records), int(profile.downstream_records)
    from ecgmask.data import EcgCache

    return len(EcgCache.open(data["pretrain"])), len(EcgCache.open(data["downstream"]))


def machine_resources(num_cpus: int | None) -> dict:
    """What a local cluster started here would have (`--num-cpus`, else every CPU; the GPUs
    torch sees), for a dry run that starts no Ray."""
    import torch

    return {"CPU": float(num_cpus or os.cpu_count() or 1), "GPU": float(torch.cuda.device_count() if torch.cuda.is_available() else 0)}


def _fields(config) -> str:
    return ", ".join(f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config))


def settings_lines(plan, profile) -> str:
    """The settings in force: the resolved profile, then the PretrainConfig and ProbeConfig of
    the first trial of each stage, built as sweep.settings.validate builds them."""
    from ecgmask.pretrain.config import PretrainConfig
    from ecgmask.transfer.config import ProbeConfig
    from search_spaces.plan import pretrain_fields, probe_fields

    def pretrain_config(trial):
        return PretrainConfig.from_profile(profile, **pretrain_fields(trial, PretrainConfig))

    def probe_config(trial):
        return ProbeConfig.from_profile(profile, **probe_fields(trial, ProbeConfig))

    values = profile.to_dict()
    lines = ["settings in force (--set / --config; --help lists the keys):",
             f"  profile {values.pop('name')}: " + ", ".join(f"{k}={v!r}" for k, v in values.items())]
    if plan.search is not None:
        fixed = plan.search.fixed
        lines.append(f"  pretraining (each searched trial, before its sampled values): {_fields(pretrain_config(fixed))}")
        lines.append(f"  probe (each searched trial): {_fields(probe_config({'mode': 'linear', **fixed}))}")
        return "\n".join(lines)
    if plan.pretrain:
        trial = plan.pretrain[0]
        lines.append(f"  pretraining trial {trial['key']}: {_fields(pretrain_config(trial))}")
    if plan.probe:
        trial = plan.probe[0]
        lines.append(f"  probe trial {trial['key']}: {_fields(probe_config(trial))}")
    return "\n".join(lines)
