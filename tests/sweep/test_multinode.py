"""A sweep on a Ray cluster of three nodes (a head and two workers on this machine, each with
its own CPU) loses a worker node mid-pretraining, its raylet and workers killed: the sweep
finishes, the trials that ran there continue from their last checkpoint on a surviving node,
every trial has one final result, and Table 1 is the one of an uninterrupted run of the same
sweep (CPU runs are deterministic). The second test kills the driver as well and finishes the
sweep with `--resume` against the same cluster.

One cluster serves the module (starting nodes is most of the cost on a small machine): the
uninterrupted reference runs on it first, and each test starts with two worker nodes (the
one the previous test killed is replaced)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
from pathlib import Path

import pytest

from sweep.store import files as store
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("ecgmask_tests_local_cluster", HERE / "local_cluster.py")
local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(local)

# 4 pretraining trials of 4 short epochs (a checkpoint each), then 4 short linear probes
SWEEP = ("--space", "augmentations", "--profile", "smoke", "--rows", "gaussian,shift", "--seeds", "1,2",
         "--tasks", "sex", "--fractions", "1.0", "--set", "epochs=4", "--set", "max_steps_per_epoch=4",
         "--set", "probe_steps=20")
WORKERS = 2
KEYS = {PRETRAIN: ["gaussian-s1", "gaussian-s2", "shift-s1", "shift-s2"],
        PROBE: ["gaussian-s1-sex-f1", "gaussian-s2-sex-f1", "shift-s1-sex-f1", "shift-s2-sex-f1"]}
SECONDS = 420  # per sweep, on a busy 2-core machine


def table_body(sweep_dir: Path) -> str:
    """Table 1 without the provenance footer (which names the sweep)."""
    from analysis.make_table1 import render_table1

    return render_table1([str(sweep_dir)]).split("Provenance")[0]


def accuracies(sweep_dir: Path) -> dict:
    from analysis.results import load_probe_results

    frame = load_probe_results(sweep_dir)
    return {(r.row, r.seed): r.test_accuracy for r in frame.itertuples()}


@pytest.fixture(scope="module")
def cluster():
    """A head and two worker nodes of one CPU each, for the whole module."""
    with local.cluster(workers=WORKERS, cpus=1) as nodes:
        yield nodes


@pytest.fixture
def nodes(cluster):
    """The module's cluster with two live worker nodes (the one a previous test killed replaced)."""
    for _ in range(WORKERS - len(cluster.worker_nodes)):
        cluster.add_node(**local.node_args(cpus=1))
    cluster.wait_for_nodes()
    return cluster


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory):
    """The same sweep, uninterrupted, on the module's cluster (before any node is lost)."""
    storage = tmp_path_factory.mktemp("reference")
    log = storage / "driver.log"
    driver = local.start_sweep(cluster.address, storage, "ref", *SWEEP, log=log)
    try:
        assert driver.wait(timeout=SECONDS) == 0, log.read_text()[-4000:]
    finally:
        local.end(driver)
    return {"table": table_body(storage / "ref"), "accuracies": accuracies(storage / "ref")}


def records(sweep: SweepLayout, stage: str) -> dict:
    return {key: store.start_records(sweep, stage, key) for key in KEYS[stage]}


def epochs_reported(sweep: SweepLayout, key: str) -> list[int]:
    """The epochs of the trial's results, as the driver logged them (Tune's result.json)."""
    path = Path(sweep.experiment(PRETRAIN)) / key / "result.json"
    if not path.exists():
        return []
    return [json.loads(line)["epoch"] for line in path.read_text().splitlines() if line.strip()]


def running_on(sweep: SweepLayout, node_ids: set) -> tuple[str, str] | None:
    """A pretraining trial that has started on one of `node_ids`, whose checkpointed epoch the
    driver has logged, and that has not finished: (key, node id)."""
    for key, starts in records(sweep, PRETRAIN).items():
        if not starts or starts[-1].get("node_id") not in node_ids or store.exists(sweep.done(PRETRAIN, key)):
            continue
        if epochs_reported(sweep, key):  # every epoch reports a checkpoint (--checkpoint-every 1)
            return key, starts[-1]["node_id"]
    return None


def kill_a_worker_mid_pretraining(nodes, sweep: SweepLayout, driver, log: Path):
    """Waits until a worker node runs a pretraining trial past its first checkpoint, then kills
    that node's raylet and workers; returns (victim node id, the trials it was running)."""
    workers = {n.node_id: n for n in nodes.worker_nodes}
    key, node_id = local.wait_for(lambda: running_on(sweep, set(workers)), proc=driver, log=log, seconds=SECONDS,
                                  what="a checkpointed pretraining trial on a worker node")
    interrupted = [k for k, starts in records(sweep, PRETRAIN).items()
                   if starts and starts[-1].get("node_id") == node_id and not store.exists(sweep.done(PRETRAIN, k))]
    nodes.remove_node(workers[node_id], allow_graceful=False)
    assert key in interrupted
    return node_id, interrupted


def check_sweep(sweep: SweepLayout, reference: dict, victim: str, interrupted: list[str], *, driver_killed: bool) -> None:
    from ray.tune import ExperimentAnalysis

    pretrain_starts = records(sweep, PRETRAIN)
    nodes_used = {r["node_id"] for starts in [*pretrain_starts.values(), *records(sweep, PROBE).values()] for r in starts}
    assert len(nodes_used) >= 2, nodes_used  # the trials were spread over the cluster
    for key in interrupted:
        first, *later = pretrain_starts[key]
        assert first["node_id"] == victim and not first["resumed"]
        assert later and later[-1]["resumed"], (key, pretrain_starts[key])  # from its last checkpoint...
        assert later[-1]["node_id"] != victim  # ...on a node that survived
    for key in KEYS[PRETRAIN]:
        epochs = epochs_reported(sweep, key)
        assert sorted(set(epochs)) == [1, 2, 3, 4] and epochs == sorted(epochs), (key, epochs)
        if key in interrupted or not driver_killed:
            # continued where it stopped: epoch 1 once (an epoch reported just before a crash
            # may be reported again after it); with the driver killed too, a trial of a
            # surviving node that had not checkpointed yet starts again from epoch 1
            assert epochs.count(1) == 1, (key, epochs)
    for stage in (PRETRAIN, PROBE):
        analysis = ExperimentAnalysis(sweep.experiment(stage))
        assert sorted(t.config["key"] for t in analysis.trials) == KEYS[stage]  # one trial per planned trial
        assert {t.status for t in analysis.trials} == {"TERMINATED"}
        assert sorted(n[: -len(".json")] for n in store.list_names(sweep.done_dir(stage))) == KEYS[stage]
    assert accuracies(Path(sweep.root)) == reference["accuracies"]
    assert table_body(Path(sweep.root)) == reference["table"]


def test_a_sweep_survives_losing_a_worker_node(tmp_path, reference, nodes):
    sweep = SweepLayout(str(tmp_path / "node"))
    log = tmp_path / "driver.log"
    driver = local.start_sweep(nodes.address, tmp_path, "node", *SWEEP, log=log)
    try:
        victim, interrupted = kill_a_worker_mid_pretraining(nodes, sweep, driver, log)
        assert driver.wait(timeout=SECONDS) == 0, log.read_text()[-4000:]
    finally:
        local.end(driver)
    check_sweep(sweep, reference, victim, interrupted, driver_killed=False)


def test_a_sweep_whose_driver_dies_with_a_node_resumes_on_the_same_cluster(tmp_path, reference, nodes):
    sweep = SweepLayout(str(tmp_path / "both"))
    log = tmp_path / "driver.log"
    driver = local.start_sweep(nodes.address, tmp_path, "both", *SWEEP, log=log)
    try:
        victim, interrupted = kill_a_worker_mid_pretraining(nodes, sweep, driver, log)
        os.killpg(driver.pid, signal.SIGKILL)  # the driver too, as a crash of the head's session would
        driver.wait(timeout=30)
    finally:
        local.end(driver)
    resumed = local.start_sweep(nodes.address, tmp_path, "both", *SWEEP, "--resume", log=log)
    try:
        assert resumed.wait(timeout=SECONDS) == 0, log.read_text()[-4000:]
    finally:
        local.end(resumed)
    check_sweep(sweep, reference, victim, interrupted, driver_killed=True)
