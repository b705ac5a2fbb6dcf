"""Waits until the Ray cluster at ADDRESS has N live nodes (slurm/sweep.sbatch, between
starting the nodes and starting the sweep):

    python slurm/wait_for_nodes.py HOST:PORT N [PID ...]

Exits 0 once they are up; 1, with one line, when they are not within ECGMASK_WAIT_NODES_S
seconds (300) or when one of the PIDs (the `srun` steps running `ray start --block`) has ended.
"""

from __future__ import annotations

import os
import sys
import time


def ended(pids: list[int]) -> list[int]:
    gone = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone.append(pid)
    return gone


def main(argv: list[str]) -> int:
    address, wanted, pids = argv[0], int(argv[1]), [int(p) for p in argv[2:]]
    seconds = float(os.environ.get("ECGMASK_WAIT_NODES_S", 300))
    deadline = time.monotonic() + seconds
    import ray

    alive = 0
    while time.monotonic() < deadline:
        gone = ended(pids)
        if gone:
            print(f"slurm/wait_for_nodes.py: a Ray node's step ended (pid {gone[0]}) with {alive} of {wanted} node(s) up; see its output above",
                  file=sys.stderr)
            return 1
        try:
            if not ray.is_initialized():
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            alive = sum(1 for node in ray.nodes() if node.get("Alive"))
            if alive >= wanted:
                print(f"Ray cluster at {address}: {alive} node(s) up", flush=True)
                return 0
        except ConnectionError:
            pass  # the head is not listening yet
        time.sleep(2)
    print(f"slurm/wait_for_nodes.py: {alive} of {wanted} Ray node(s) up at {address} after {seconds:g} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
