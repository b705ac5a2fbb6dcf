"""cluster.yaml passes Ray's own cluster-config validator (offline), and the validator does
reject a broken copy (so the first check can fail)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray.autoscaler._private.util")
from ray.autoscaler._private.util import prepare_config, validate_config  # noqa: E402

CLUSTER = Path(__file__).resolve().parents[1] / "cluster.yaml"


@pytest.fixture
def config() -> dict:
    return yaml.safe_load(CLUSTER.read_text())


def check(config: dict) -> dict:
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def test_cluster_yaml_is_valid(config):
    prepared = check(config)
    assert prepared["provider"]["type"] == "aws"
    nodes = prepared["available_node_types"]
    head = nodes[prepared["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0
    gpu = [n for name, n in nodes.items() if n["resources"].get("GPU", 0) > 0]
    assert gpu and gpu[0]["node_config"]["InstanceType"] == "g5.xlarge"
    assert 1 <= gpu[0]["min_workers"] <= gpu[0]["max_workers"] <= prepared["max_workers"]
    setup = " ".join(prepared["setup_commands"])
    assert "-c constraints.txt" in setup and "pip install" in setup
    assert "~/ecgmask" in prepared["file_mounts"]
    starts = prepared["head_start_ray_commands"] + prepared["worker_start_ray_commands"]
    assert any("RAY_AUTH_MODE=" in c for c in starts)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["available_node_types"]["worker.gpu"].__setitem__("min_workers", "one"),
        lambda c: c.__setitem__("head_node_type", "no.such.type"),
        lambda c: c.__setitem__("not_a_cluster_field", 1),
        lambda c: c["available_node_types"]["worker.gpu"].__setitem__("min_workers", 99),
    ],
    ids=["min-workers-not-int", "unknown-head-type", "unknown-field", "min-above-max"],
)
def test_validator_rejects_a_broken_copy(config, break_it):
    broken = copy.deepcopy(config)
    break_it(broken)
    with pytest.raises(Exception) as err:
        check(broken)
    assert not isinstance(err.value, (KeyboardInterrupt, SystemExit))
