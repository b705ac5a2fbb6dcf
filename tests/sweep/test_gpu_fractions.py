"""GPUs shared by fractions, on a Ray node that declares a logical GPU (this machine has no
CUDA device: the sweep's settings choose the CPU, which is what lets a trial that holds a GPU
run without one). Five pretraining trials ask for 0.25 GPU each: from the trials' own start
and end times, four run at once on the GPU and never five, though the node's CPUs would hold
all five; each trial records the GPU id Ray gave it, the one CUDA would see. Probes ask for
their own, smaller share. Without the CPU setting, a trial that holds a GPU and finds no CUDA
device fails at once, with one line naming the node."""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

import pytest
import torch

from sweep.store import files as store
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout

pytestmark = [pytest.mark.slow, pytest.mark.skipif(torch.cuda.is_available(), reason="logical GPUs on a machine without CUDA")]
HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("ecgmask_tests_local_cluster", HERE / "local_cluster.py")
local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(local)

ROWS = "gaussian,shift,wander,mask,blockmask"  # x 1 seed: 5 pretraining trials for 1 GPU of 4 quarters
# short trials (they only have to overlap) and short probes
SWEEP = ("--space", "augmentations", "--profile", "smoke", "--rows", ROWS, "--seeds", "1", "--tasks", "sex",
         "--fractions", "1.0", "--set", "epochs=2", "--set", "max_steps_per_epoch=6", "--set", "probe_steps=20",
         "--gpus-per-trial", "0.25", "--cpus-per-trial", "1", "--gpus-per-probe", "0.1")
ON_CPU = ("--set", "pretrain.device=cpu", "--set", "probe.device=cpu")
SECONDS = 420


def intervals(sweep: SweepLayout, stage: str) -> list[tuple[str, str, float, float]]:
    """(node id, GPU id, start, end) of every trial: the start from its start record, the end
    from when it wrote its final result (its done record)."""
    out = []
    for key in store.list_names(sweep.done_dir(stage)):
        key = key[: -len(".json")]
        (start,) = store.start_records(sweep, stage, key)
        (gpu,) = start["gpu_ids"]
        out.append((start["node_id"], gpu, start["time"], os.stat(sweep.done(stage, key)).st_mtime))
    return out


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # an end before a start at the same time
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_four_trials_share_a_logical_gpu_and_a_gpu_without_cuda_fails_at_once(tmp_path):
    from ray.tune import ExperimentAnalysis

    import ray.experimental.internal_kv as internal_kv

    log = tmp_path / "driver.log"
    kv_client = internal_kv.global_gcs_client  # the test session's Ray (None before it starts)
    # one node (a head, no workers): 1 logical GPU and 6 CPUs (the CPUs alone would run all 5 pretraining trials at once)
    with local.cluster(workers=0, cpus=6, gpus=1) as nodes:
        driver = local.start_sweep(nodes.address, tmp_path, "gpus", *SWEEP, *ON_CPU, log=log)
        try:
            assert driver.wait(timeout=SECONDS) == 0, log.read_text()[-4000:]
        finally:
            local.end(driver)

        # a trial given a GPU with the device left to "auto" finds no CUDA device: it fails at once
        failing = local.start_sweep(nodes.address, tmp_path, "nocuda", "--space", "augmentations", "--profile", "smoke",
                                    "--rows", "gaussian", "--seeds", "1", "--tasks", "sex", "--fractions", "1.0",
                                    "--gpus-per-trial", "0.25", log=tmp_path / "nocuda.log")
        try:
            assert failing.wait(timeout=SECONDS) == 1, (tmp_path / "nocuda.log").read_text()[-4000:]
        finally:
            local.end(failing)
    # the cluster gone, Ray's internal KV is the session's again (not the dead cluster's GCS)
    assert internal_kv.global_gcs_client is kv_client

    sweep = SweepLayout(str(tmp_path / "gpus"))
    pretraining = intervals(sweep, PRETRAIN)
    assert len(pretraining) == 5
    assert {gpu for _, gpu, _, _ in pretraining} == {"0"}
    # four at once on the GPU, never five (the fifth waited for a quarter to free up)
    assert most_at_once([(s, e) for _, _, s, e in pretraining]) == 4
    for stage in (PRETRAIN, PROBE):
        for name in store.list_names(sweep.done_dir(stage)):
            (start,) = store.start_records(sweep, stage, name[: -len(".json")])
            assert start["cuda_visible_devices"] == ",".join(start["gpu_ids"])  # the GPU Ray gave it is the one CUDA sees
    # each stage asked for its own share
    requests = {stage: {tuple(b.get("GPU", 0) for b in t.placement_group_factory.bundles)
                        for t in ExperimentAnalysis(sweep.experiment(stage)).trials} for stage in (PRETRAIN, PROBE)}
    assert requests == {PRETRAIN: {(0.25,)}, PROBE: {(0.1,)}}

    text = (tmp_path / "nocuda.log").read_text()
    failed = [line for line in text.splitlines() if line.startswith("  pretrain/gaussian-s1:")]
    assert len(failed) == 1, text[-4000:]
    assert f"node {socket.gethostname()}: given GPU 0" in failed[0] and "finds no CUDA device" in failed[0]
    nocuda = SweepLayout(str(tmp_path / "nocuda"))
    assert store.start_records(nocuda, PRETRAIN, "gaussian-s1") == []  # failed before any work
