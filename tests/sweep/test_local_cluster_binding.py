"""The private local cluster of sweep/run.py listens on 127.0.0.1 only: every listening socket
of its processes (GCS, raylet, workers, dashboard and its agents, metrics) is a loopback one,
and none of their ports answers on the machine's network addresses. Its own process: the
test session's Ray cluster must not be the one looked at."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

DRIVER = """
import json, socket, sys
sys.path.insert(0, sys.argv[1])
import ray  # imported before connect(), as sweep/run.py's imports do
import psutil  # Ray's own copy (ray/thirdparty_files)

from sweep.ray_session import connect

connect(None, num_cpus=1, dashboard=True)

@ray.remote
def one():
    return 1

assert ray.get(one.remote()) == 1  # a worker is up too
import time

me = psutil.Process()
listening = set()
for _ in range(6):  # some servers (metrics, the agents' HTTP) come up a little later
    names = {p.pid: p.name() for p in [me, *me.children(recursive=True)]}
    listening |= {
        (names[c.pid], c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in names
    }
    time.sleep(2)
listening = sorted(listening)
addresses = sorted({
    a.address.split("%")[0]
    for nic in psutil.net_if_addrs().values()
    for a in nic
    if a.family in (socket.AF_INET, socket.AF_INET6) and not a.address.startswith(("127.", "::1", "fe80"))
})
reachable = []
for address in addresses:
    for _, _, port in listening:
        try:
            socket.create_connection((address, port), timeout=1).close()
            reachable.append((address, port))
        except OSError:
            pass
ray.shutdown()
print(json.dumps({"listening": listening, "addresses": addresses, "reachable": reachable}))
"""


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def test_the_local_cluster_listens_on_loopback_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(OMP_NUM_THREADS="1", RAY_AUTH_MODE="disabled")  # as sweep/run.py runs it
    out = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT)], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    names = {name for name, _, _ in seen["listening"]}
    assert {"gcs_server", "raylet"} <= names, seen["listening"]
    assert any(port == 8265 or "dashboard" in name.lower() for name, _, port in seen["listening"])
    exposed = [entry for entry in seen["listening"] if not _loopback(entry[1])]
    assert exposed == [], f"bound beyond loopback: {exposed}"
    assert seen["reachable"] == [], f"answered on the machine's addresses {seen['addresses']}"
