import pytest

from sweep.resources import ResourceError, TrialResources, concurrency, decide

CPU_ONLY = {"CPU": 2.0}
G5 = {"CPU": 4.0, "GPU": 1.0}


def nodes(*resources):
    return [{"Alive": True, "Resources": r} for r in resources]


def test_cpu_cluster_asks_for_no_gpu():
    r = decide(CPU_ONLY)
    assert r == TrialResources(cpus=1.0, gpus=0.0)
    assert r.as_tune() == {"cpu": 1.0, "gpu": 0.0}
    assert concurrency(CPU_ONLY, r) == 2


def test_gpu_cluster_shares_each_gpu_four_ways():
    head = {"CPU": 0.0}
    cluster = {"CPU": 8.0, "GPU": 2.0}
    r = decide(cluster, nodes=nodes(head, G5, G5))
    assert r.gpus == 0.25 and r.cpus == 1.0  # a g5.xlarge's 4 CPUs shared by its 4 trials
    assert concurrency(cluster, r, nodes=nodes(head, G5, G5)) == 8
    assert concurrency(cluster, r, nodes=nodes(head, G5, G5), max_concurrent=3) == 3


def test_explicit_requests_are_kept():
    r = decide({"CPU": 16.0, "GPU": 2.0}, gpus_per_trial=0.5, cpus_per_trial=3)
    assert r == TrialResources(cpus=3.0, gpus=0.5)
    assert decide({"CPU": 16.0, "GPU": 2.0}, gpus_per_trial=0).gpus == 0


@pytest.mark.parametrize(
    "cluster, node_list, kwargs, message",
    [
        (CPU_ONLY, None, {"gpus_per_trial": 0.25}, "has no GPU"),
        ({"CPU": 8.0, "GPU": 2.0}, [G5, G5], {"gpus_per_trial": 2}, "no node can hold"),
        ({"CPU": 8.0, "GPU": 2.0}, [G5, G5], {"gpus_per_trial": 0.5, "cpus_per_trial": 8}, "no node can hold"),
        ({"CPU": 8.0, "GPU": 2.0}, None, {"gpus_per_trial": 1.5}, "whole GPUs"),
        (CPU_ONLY, None, {"cpus_per_trial": 4}, "largest node has 2"),
        (CPU_ONLY, None, {"gpus_per_trial": -1}, ">= 0"),
        ({}, None, {}, "no CPUs"),
    ],
)
def test_requests_the_cluster_cannot_meet_fail_at_once(cluster, node_list, kwargs, message):
    with pytest.raises(ResourceError, match=message):
        decide(cluster, nodes=nodes(*node_list) if node_list else None, **kwargs)


def test_dead_nodes_do_not_count():
    dead = {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}
    with pytest.raises(ResourceError):
        decide({"CPU": 2.0, "GPU": 8.0}, nodes=[dead, {"Alive": True, "Resources": CPU_ONLY}], gpus_per_trial=1)


def test_probes_ask_for_a_smaller_share_of_a_gpu_than_pretraining():
    from sweep.resources import StageResources, decide_stages

    cluster = {"CPU": 8.0, "GPU": 2.0}
    stages = decide_stages(cluster, nodes=nodes(G5, G5))
    assert stages.pretrain == TrialResources(cpus=1.0, gpus=0.25)
    assert stages.probe == TrialResources(cpus=1.0, gpus=0.1)  # the node's 4 CPUs, not its GPU, bound the probes
    assert stages.for_stage("pretrain") is stages.pretrain and stages.for_stage("tune") is stages.pretrain
    assert stages.for_stage("probe") is stages.probe
    assert "pretraining 1 CPU + 0.25 GPU, probes 1 CPU + 0.1 GPU" == stages.describe()
    explicit = decide_stages(cluster, nodes=nodes(G5, G5), gpus_per_trial=0.5, gpus_per_probe=0)
    assert (explicit.pretrain.gpus, explicit.probe.gpus) == (0.5, 0.0)
    assert decide_stages(CPU_ONLY) == StageResources(TrialResources(1.0, 0.0), TrialResources(1.0, 0.0))


def test_a_probe_request_the_cluster_cannot_meet_names_its_option():
    from sweep.resources import decide_stages

    with pytest.raises(ResourceError, match="--gpus-per-probe 0.1 but the Ray cluster has no GPU"):
        decide_stages(CPU_ONLY, gpus_per_probe=0.1)


def test_one_request_serves_every_stage():
    r = TrialResources(cpus=1.0, gpus=0.0)
    assert r.for_stage("probe") is r and r.for_stage("pretrain") is r
