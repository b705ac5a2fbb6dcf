"""What one trial asks of the cluster, decided from what the cluster has.

With GPUs each pretraining trial asks for a fraction of one (default 0.25: four trials share
a GPU) and a few CPUs; without GPUs it asks for none. Probes ask separately
(`--gpus-per-probe`, default 0.1 with GPUs): a linear probe on stored embeddings needs little
of a GPU, so ten share one and the node's CPUs, not its GPU, set how many run at once; it
stays above 0 because the first probe of an encoder computes the embeddings and the scratch
and finetune probes train a whole network, both 10-100x slower on a CPU. A request no node
can meet is refused here, before any trial starts, instead of leaving trials PENDING forever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_GPU_FRACTION = 0.25  # pretraining: four trials share a GPU
DEFAULT_PROBE_GPU_FRACTION = 0.1  # probes: ten share a GPU (the module's docstring says why)
PROBE_STAGE = "probe"  # sweep.store.layout.PROBE: the stage that gets the probes' request


class ResourceError(ValueError):
    """The cluster cannot run one trial with the requested resources."""


@dataclass(frozen=True)
class TrialResources:
    cpus: float
    gpus: float

    def as_tune(self) -> dict:
        """The dict for `tune.with_resources`."""
        return {"cpu": self.cpus, "gpu": self.gpus}

    def describe(self) -> str:
        gpu = f"{self.gpus:g} GPU" if self.gpus else "no GPU"
        return f"{self.cpus:g} CPU + {gpu}"

    def for_stage(self, stage: str) -> "TrialResources":
        """The same request for every stage."""
        return self


@dataclass(frozen=True)
class StageResources:
    """Pretraining (and searched) trials ask for `pretrain`, probes for `probe`."""

    pretrain: TrialResources
    probe: TrialResources

    def for_stage(self, stage: str) -> TrialResources:
        return self.probe if stage == PROBE_STAGE else self.pretrain

    def describe(self) -> str:
        return f"pretraining {self.pretrain.describe()}, probes {self.probe.describe()}"


def _node_resources(nodes: list[dict] | None, cluster: dict) -> list[dict]:
    """Per-node totals from `ray.nodes()` (alive ones); the cluster totals as one node when
    the node list is unknown."""
    if not nodes:
        return [cluster]
    return [n.get("Resources", {}) for n in nodes if n.get("Alive", True)]


def decide(
    cluster: dict,
    *,
    nodes: list[dict] | None = None,
    gpus_per_trial: float | None = None,
    cpus_per_trial: float | None = None,
    default_gpus: float = DEFAULT_GPU_FRACTION,
    option: str = "--gpus-per-trial",
) -> TrialResources:
    """Resources of one trial.

    `cluster` is `ray.cluster_resources()`, `nodes` is `ray.nodes()` (optional; used to check
    that one node can hold a trial). `gpus_per_trial=None` means "`default_gpus` when the
    cluster has GPUs, else none"; `cpus_per_trial=None` means the trial's share of a GPU
    node's CPUs (CPUs x gpus / GPUs, at least 1) with a GPU, else 1. `option` names the GPU
    request in errors.
    """
    total_gpus = float(cluster.get("GPU", 0.0))
    total_cpus = float(cluster.get("CPU", 0.0))
    if total_cpus <= 0:
        raise ResourceError(f"the Ray cluster reports no CPUs ({cluster}); is it up?")

    if gpus_per_trial is None:
        gpus = float(default_gpus) if total_gpus > 0 else 0.0
    else:
        gpus = float(gpus_per_trial)
    if gpus < 0:
        raise ResourceError(f"{option} must be >= 0, got {gpus:g}")
    if gpus > 1 and not float(gpus).is_integer():
        raise ResourceError(f"{option} {gpus:g}: above 1 a trial must ask for whole GPUs")
    if gpus > 0 and total_gpus == 0:
        raise ResourceError(
            f"{option} {gpus:g} but the Ray cluster has no GPU "
            f"(pass {option} 0, or start GPU workers first: cluster.yaml keeps min_workers >= 1)"
        )

    cpus = 1.0 if cpus_per_trial is None else float(cpus_per_trial)
    if cpus <= 0:
        raise ResourceError(f"--cpus-per-trial must be > 0, got {cpus:g}")

    per_node = _node_resources(nodes, cluster)
    if gpus > 0:
        # a fractional GPU request cannot be split over GPUs or nodes: keep the CPUs within what
        # a GPU node has, and make sure one node can hold the whole trial
        gpu_nodes = [n for n in per_node if float(n.get("GPU", 0.0)) > 0]
        if not gpu_nodes:
            raise ResourceError(f"{option} {gpus:g} but no live node of the Ray cluster has a GPU")
        if cpus_per_trial is None:
            # the trial's share of its node's CPUs: a 4-CPU, 1-GPU node runs four 0.25-GPU trials
            share = min(float(n.get("CPU", 0.0)) * gpus / float(n.get("GPU", 1.0)) for n in gpu_nodes)
            cpus = float(max(1, math.floor(share + 1e-9)))
        fits = [n for n in gpu_nodes if float(n.get("GPU", 0.0)) >= gpus and float(n.get("CPU", 0.0)) >= cpus]
        if not fits:
            biggest = max(gpu_nodes, key=lambda n: (float(n.get("GPU", 0)), float(n.get("CPU", 0))))
            raise ResourceError(
                f"no node can hold a trial of {cpus:g} CPU + {gpus:g} GPU "
                f"(largest GPU node: {float(biggest.get('CPU', 0)):g} CPU, {float(biggest.get('GPU', 0)):g} GPU)"
            )
    else:
        if cpus_per_trial is None:
            cpus = min(cpus, max(float(n.get("CPU", 0.0)) for n in per_node))
        if not any(float(n.get("CPU", 0.0)) >= cpus for n in per_node):
            biggest = max(float(n.get("CPU", 0.0)) for n in per_node)
            raise ResourceError(f"--cpus-per-trial {cpus:g} but the largest node has {biggest:g} CPUs")
    return TrialResources(cpus=cpus, gpus=gpus)


def decide_stages(
    cluster: dict,
    *,
    nodes: list[dict] | None = None,
    gpus_per_trial: float | None = None,
    gpus_per_probe: float | None = None,
    cpus_per_trial: float | None = None,
) -> StageResources:
    """The pretraining request (`--gpus-per-trial`, default 0.25 with GPUs) and the probes'
    (`--gpus-per-probe`, default 0.1 with GPUs), each checked against the nodes as `decide`."""
    return StageResources(
        pretrain=decide(cluster, nodes=nodes, gpus_per_trial=gpus_per_trial, cpus_per_trial=cpus_per_trial),
        probe=decide(cluster, nodes=nodes, gpus_per_trial=gpus_per_probe, cpus_per_trial=cpus_per_trial,
                     default_gpus=DEFAULT_PROBE_GPU_FRACTION, option="--gpus-per-probe"),
    )


def concurrency(
    cluster: dict, resources: TrialResources, *, nodes: list[dict] | None = None, max_concurrent: int | None = None
) -> int:
    """How many trials of this size run at once on this cluster (packed node by node)."""
    total = 0
    for node in _node_resources(nodes, cluster):
        fit = math.floor(float(node.get("CPU", 0.0)) / resources.cpus + 1e-9)
        if resources.gpus > 0:
            fit = min(fit, math.floor(float(node.get("GPU", 0.0)) / resources.gpus + 1e-9))
        total += max(0, fit)
    if max_concurrent is not None:
        total = min(total, int(max_concurrent))
    return total
