"""A Ray cluster of several nodes on this machine, for the multi-node tests, and the sweep CLI
run against it.

`ray.cluster_utils.Cluster` starts a head and worker nodes, each a raylet of its own with its
own CPUs (and logical GPUs when asked), all on 127.0.0.1: the nodes listen on the loopback
address only, and the drivers started here run in Ray's single-machine mode so that they
find their raylet there. Every process a node starts is this test's own: the nodes are
removed (their raylets and workers killed) when the `cluster` context ends, never `ray stop`,
which would stop every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
# a killed node is declared dead after about 3 s instead of Ray's 30 s default
FAST_FAILURE_DETECTION = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 3}
# a raylet waits this long for its agents to start (Ray's default is too short on a loaded 2-core machine)
SLOW_MACHINE = {"RAY_agent_register_timeout_ms": "120000"}


def driver_env() -> dict:
    """The environment of a sweep driver joining the loopback cluster."""
    env = {**os.environ, **SLOW_MACHINE, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # single-machine mode: the driver's node IP is 127.0.0.1
           "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    return env


def node_args(*, cpus: int = 1, gpus: int = 0) -> dict:
    """The arguments of one loopback node (`Cluster.add_node`)."""
    return {"node_ip_address": LOOPBACK, "object_store_memory": 80 * 1024 * 1024, "num_cpus": cpus, "num_gpus": gpus}


@contextlib.contextmanager
def cluster(*, workers: int = 2, cpus: int = 1, gpus: int = 0):
    """A head and `workers` worker nodes, each with `cpus` CPUs and `gpus` logical GPUs;
    yields the Cluster (`.address`, `.worker_nodes`)."""
    import ray.experimental.internal_kv as internal_kv
    from ray._private.utils import get_ray_address_file
    from ray.cluster_utils import Cluster

    # every node started here points Ray's process-wide internal KV client at this cluster's
    # GCS; left so once the cluster is gone, the test session's next Tune run calls a dead GCS
    # and Ray ends the whole pytest process after 60 s ("Failed to connect to GCS")
    kv_client = internal_kv.global_gcs_client

    node_env = {"RAY_AUTH_MODE": "disabled", **SLOW_MACHINE}  # inherited by every node's processes
    saved = {name: os.environ.get(name) for name in node_env}
    os.environ.update(node_env)
    address_file = Path(get_ray_address_file(None))
    previous = address_file.read_text() if address_file.exists() else None
    node = node_args(cpus=cpus, gpus=gpus)
    nodes = None
    try:
        nodes = Cluster(initialize_head=True,
                        head_node_args={**node, "include_dashboard": False, "_system_config": FAST_FAILURE_DETECTION})
        # Cluster writes its address where `ray.init(address="auto")` looks: give the machine's back
        if previous is None:
            address_file.unlink(missing_ok=True)
        else:
            address_file.write_text(previous)
        for _ in range(workers):
            nodes.add_node(**node)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        if nodes is not None:
            for worker in list(nodes.worker_nodes):
                nodes.remove_node(worker, allow_graceful=False)
            if nodes.head_node is not None:
                nodes.remove_node(nodes.head_node, allow_graceful=False)
            nodes.global_state.disconnect()
        if kv_client is None:
            internal_kv._internal_kv_reset()
        else:
            internal_kv._initialize_internal_kv(kv_client)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_sweep(address: str, storage: Path, name: str, *args: str, log: Path) -> subprocess.Popen:
    """`sweep/run.py --address ADDRESS` in its own process group, output to `log`."""
    command = [sys.executable, str(ROOT / "sweep" / "run.py"), "--address", address, "--auth-mode", "disabled",
               "--storage", str(storage), "--name", name, "--quiet", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=open(log, "a"), stderr=subprocess.STDOUT, env=driver_env(),
                            start_new_session=True)


def end(proc: subprocess.Popen) -> None:
    """Kills a driver's process group (what a finished driver left behind, or a hung one)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


def wait_for(condition, *, proc: subprocess.Popen | None, log: Path, seconds: float, what: str):
    """Polls `condition()` until it returns something truthy; fails when the driver exits first."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the driver exited ({proc.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds:.0f} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
