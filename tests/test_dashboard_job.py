"""End to end through the Ray dashboard: a local head with its dashboard, a tiny laptop sweep
submitted with `ray job submit`, followed through the dashboard's HTTP API (/api/jobs/,
/api/v0/actors) to SUCCEEDED, its trials visible as actors there.

The head is separate from the test session's in-process Ray: its own ports and temp dir,
started with `ray start --head --block` in its own process group, and stopped by ending that
group (never `ray stop`, which would stop every Ray on the machine)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def headers() -> dict:
    from sweep.ray_session import auth_token

    token = auth_token() if os.environ.get("RAY_AUTH_MODE") == "token" else None
    return {"Authorization": f"Bearer {token}"} if token else {}


def get(url: str):
    request = urllib.request.Request(url, headers=headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode())


def wait_for_dashboard(base: str, head: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert head.poll() is None, log.read_text()[-3000:]
        try:
            get(f"{base}/api/jobs/")
            return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"dashboard at {base} did not come up:\n{log.read_text()[-3000:]}")


def test_sweep_submitted_as_a_job_is_followed_through_the_dashboard(tmp_path):
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    port, dash = free_port(), free_port()
    temp_dir = tempfile.mkdtemp(prefix="rdash", dir="/tmp")  # short: Ray puts sockets here
    log = tmp_path / "head.log"
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--port={port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
         "--num-cpus=2", "--num-gpus=0", "--include-dashboard=true", f"--temp-dir={temp_dir}", "--disable-usage-stats",
         # every port of its own: another Ray on this machine (the test session's) holds the defaults
         f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}",
         f"--metrics-export-port={free_port()}", f"--ray-client-server-port={free_port()}",
         f"--runtime-env-agent-port={free_port()}", f"--node-manager-port={free_port()}",
         f"--object-manager-port={free_port()}"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{dash}"
    try:
        wait_for_dashboard(base, head, log)
        job_id = f"ecgmask-test-{uuid.uuid4().hex[:8]}"
        sweep = (
            f"cd {ROOT} && {sys.executable} sweep/run.py --space augmentations --profile laptop"
            " --rows scratch,gaussian --seeds 1 --tasks sex --fractions 1.0"
            " --set pretrain_records=40 --set downstream_records=80 --set epochs=1"
            " --set probe_steps=2 --set scratch_steps=2 --set scratch_eval_every=1"
            f" --storage {tmp_path / 'results'} --name dash --quiet"
        )
        command = [RAY, "job", "submit", f"--address={base}", f"--submission-id={job_id}", "--no-wait", "--", "bash", "-c", sweep]
        deadline = time.monotonic() + 180
        while True:  # the head's job agent comes up a little after the dashboard
            submit = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
            if submit.returncode == 0 or "No available agent" not in submit.stderr + submit.stdout or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert submit.returncode == 0, submit.stdout + submit.stderr

        trial_actors: set[str] = set()
        status = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            jobs = get(f"{base}/api/jobs/")
            ours = [j for j in jobs if j.get("submission_id") == job_id]
            assert ours, jobs
            status = ours[0]["status"]
            actors = get(f"{base}/api/v0/actors?limit=1000&detail=true")["data"]["result"]["result"]
            trial_actors |= {a["actor_id"] for a in actors if a.get("class_name") == "ImplicitFunc"}
            if status in ("SUCCEEDED", "FAILED", "STOPPED"):
                break
            time.sleep(2)
        logs = get(f"{base}/api/jobs/{job_id}/logs").get("logs", "")
        assert status == "SUCCEEDED", logs[-4000:]
        assert "pretrain: 1/1 trials finished" in logs and "probe: 2/2 trials finished" in logs, logs[-3000:]
        assert trial_actors, "the trials never showed up as actors on the dashboard"
        from sweep.store.layout import PROBE, SweepLayout

        assert Path(SweepLayout(tmp_path / "results" / "dash").experiment(PROBE)).is_dir()
        assert "**Table 1.**" in logs, logs[-3000:]  # the sweep ends with the analysis' table

        # analysis reads what the real core produced through Tune's result API
        from analysis.make_table1 import render_table1
        from analysis.results import load_probe_results

        trials = load_probe_results(tmp_path / "results" / "dash")
        assert len(trials) == 2
        table = render_table1([str(tmp_path / "results" / "dash")])
        for row in ("scratch", "gaussian"):
            accuracy = float(trials.loc[trials["row"] == row, "test_accuracy"].iloc[0])
            line = next(l for l in table.splitlines() if l.startswith(f"| {row} |"))
            assert f"{100 * accuracy:.1f}" in line, (row, accuracy, line)
    finally:
        try:
            os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops its cluster on SIGTERM
            head.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(temp_dir, ignore_errors=True)
