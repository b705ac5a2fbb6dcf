"""slurm/sweep.sbatch on a real single-node SLURM: munged, slurmctld and slurmd from Debian's
`slurm-wlm` and `munge` packages, started here as root with a generated slurm.conf, their own
key, socket, ports and state in a temp dir. The recipe is `sbatch`ed with a smoke sweep: it
starts a Ray head on the allocation's node (token authentication on), runs `sweep/run.py
--address` there, and the job's sweep has its Table 1. Skips, with the reason, where SLURM is
not installed or cannot start; every daemon and Ray process it started is ended by PID."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo", "scancel")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_slurm() -> None:
    """As root with apt, the test sets up its own SLURM from Debian's packages (measured: 43
    packages, 8.4 MB, 18.5 s); a failed install leaves the test to skip, saying why."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=240)
        subprocess.run(["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"], env=env, capture_output=True, timeout=300)


def missing() -> str | None:
    if any(shutil.which(t) is None for t in TOOLS):
        install_slurm()
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "slurmd must run as root here"
    return None


def slurm_conf(folder: Path, host: str) -> str:
    return "\n".join([
        "ClusterName=ecgmasktest",
        f"SlurmctldHost={host}(127.0.0.1)",
        "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={folder}/munge.sock",
        f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
        f"StateSaveLocation={folder}/state", f"SlurmdSpoolDir={folder}/spool",
        f"SlurmctldPidFile={folder}/slurmctld.pid", f"SlurmdPidFile={folder}/slurmd.pid",
        f"SlurmctldLogFile={folder}/slurmctld.log", f"SlurmdLogFile={folder}/slurmd.log",
        # no cgroups in a container: processes tracked by parentage, no task binding
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none", "MpiDefault=none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "ReturnToService=2",
        "SlurmdParameters=config_overrides",  # the node as declared here, whatever slurmd detects
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
        f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def end_pid_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(path.read_text().split()[0]), signal.SIGTERM)


@contextlib.contextmanager
def single_node_slurm(folder: Path):
    """munged + slurmctld + slurmd for this host; yields the environment that reaches them."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    folder.mkdir(mode=0o700)
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    key = folder / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    daemons = [
        ["munged", "--force", f"--socket={folder}/munge.sock", f"--key-file={key}", f"--pid-file={folder}/munged.pid",
         f"--log-file={folder}/munged.log", f"--seed-file={folder}/munged.seed"],
        ["slurmctld", "-f", str(conf)],
        ["slurmd", "-f", str(conf)],
    ]
    try:
        for command in daemons:  # each forks into the background and writes its pid file
            started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            if started.returncode != 0:
                pytest.skip(f"SLURM cannot start here: {command[0]} exited {started.returncode}: {(started.stderr or started.stdout).strip()[-300:]}")
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            info = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, timeout=30)
            state = info.stdout.strip() or info.stderr.strip()
            if state == "idle":
                break
            time.sleep(1)
        else:
            logs = "; ".join((folder / f"{d}.log").read_text().strip().splitlines()[-1] for d in ("slurmctld", "slurmd")
                             if (folder / f"{d}.log").exists() and (folder / f"{d}.log").read_text().strip())
            pytest.skip(f"SLURM cannot start here: the node is {state!r} after 60 s ({logs})")
        yield env
    finally:
        subprocess.run(["scancel", "--user=root"], env=env, capture_output=True, timeout=30)
        for daemon in ("slurmd", "slurmctld", "munged"):
            end_pid_file(folder / f"{daemon}.pid")


def ray_processes(temp_dir: str) -> list[int]:
    """PIDs of the processes of the Ray started under `temp_dir` (ours alone)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if temp_dir.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
    return pids


def test_the_sbatch_recipe_runs_a_sweep_on_a_ray_cluster_it_starts(tmp_path):
    from analysis.make_table1 import render_table1
    from analysis.results import load_probe_results

    ray_temp = tempfile.mkdtemp(prefix="rsl", dir="/tmp")  # short: Ray puts sockets here
    with single_node_slurm(tmp_path / "slurm") as env:
        ports = ["--include-dashboard=false", f"--temp-dir={ray_temp}"] + [
            f"--{name}={free_port()}" for name in ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
                                                   "ray-client-server-port", "runtime-env-agent-port", "node-manager-port",
                                                   "object-manager-port")]
        env = {**env, "ECGMASK_PYTHON": sys.executable, "RAY_PORT": str(free_port()), "RAY_START_ARGS": " ".join(ports),
               "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
               # this machine's name resolves to 127.0.0.1: the driver finds its node there in single-machine mode
               "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_agent_register_timeout_ms": "120000", "OMP_NUM_THREADS": "1"}
        env.pop("RAY_ADDRESS", None)
        out = tmp_path / "job.out"
        try:
            job = subprocess.run(
                ["sbatch", "--wait", "--nodes=1", f"--cpus-per-task={os.cpu_count()}", f"--output={out}",
                 "slurm/sweep.sbatch", "--space", "augmentations", "--profile", "smoke", "--rows", "scratch,gaussian",
                 "--seeds", "1", "--tasks", "sex", "--fractions", "1.0", "--storage", str(tmp_path / "results"),
                 "--name", "slurm", "--quiet"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
            )
            text = out.read_text() if out.exists() else ""
            assert job.returncode == 0, job.stdout + job.stderr + text[-4000:]
            assert "Ray cluster at 127.0.0.1" in text and "pretrain: 1/1 trials finished" in text, text[-4000:]
            assert "probe: 2/2 trials finished" in text and "**Table 1.**" in text, text[-4000:]
            deadline = time.monotonic() + 60  # the job's end stops its Ray node
            while ray_processes(ray_temp) and time.monotonic() < deadline:
                time.sleep(1)
            assert ray_processes(ray_temp) == [], "the job left Ray processes running"
        finally:
            for pid in ray_processes(ray_temp):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(ray_temp, ignore_errors=True)

    sweep = tmp_path / "results" / "slurm"
    trials = load_probe_results(sweep)
    table = render_table1([str(sweep)])
    assert len(trials) == 2
    for row in ("scratch", "gaussian"):
        accuracy = float(trials.loc[trials["row"] == row, "test_accuracy"].iloc[0])
        line = next(ln for ln in table.splitlines() if ln.startswith(f"| {row} |"))
        assert f"{100 * accuracy:.1f}" in line, (row, accuracy, line)
        assert line in text  # the job printed the same Table 1
