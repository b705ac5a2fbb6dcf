"""A sweep stored in S3, through a real S3 server on 127.0.0.1 (moto, tests/s3_server.py).

The fast tests check the storage calls against the server (no Ray); the slow one runs
`sweep/run.py --storage s3://...` as a user does, kills its driver, resumes it, and reads
Table 1 back from the bucket with `analysis/make_table1.py`.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.store import files as store
from sweep.store.layout import PRETRAIN, PROBE, SweepLayout, sweep_dir

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "sweeps"


def _s3_server_module():
    spec = importlib.util.spec_from_file_location("ecgmask_tests_s3_server", ROOT / "tests" / "s3_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def s3(monkeypatch):
    """An S3 server with one bucket; credentials in the environment, the endpoint left to each test."""
    module = _s3_server_module()
    for name, value in module.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with module.S3Server() as server:
        server.create_bucket(BUCKET)
        yield server


def _query(server) -> str:
    return f"?endpoint_override=127.0.0.1:{server.port}&scheme=http"


@pytest.mark.parametrize("endpoint", ["AWS_ENDPOINT_URL", "query"])
def test_files_round_trip_through_the_bucket(s3, monkeypatch, tmp_path, endpoint):
    if endpoint == "AWS_ENDPOINT_URL":
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
        sweep = SweepLayout(sweep_dir(f"s3://{BUCKET}/prefix", "a"))
    else:
        sweep = SweepLayout(sweep_dir(f"s3://{BUCKET}/prefix{_query(s3)}", "a"))
    store.write_json(sweep.plan, {"pretrain": [1]})
    assert store.read_json(sweep.plan) == {"pretrain": [1]}
    assert store.read_json(sweep.done(PROBE, "missing")) is None
    encoder = tmp_path / "encoder"
    encoder.mkdir()
    (encoder / "encoder.pt").write_bytes(b"weights")
    store.publish_dir(str(encoder), sweep.encoder("k"))
    assert store.list_names(sweep.encoder("k")) == ["encoder.pt"]
    # what a probe on another node does: a copy of the published encoder, in a folder of its own
    local = Path(store.localize_dir(sweep.encoder("k"), str(tmp_path / "node-cache")))
    assert (local / "encoder.pt").read_bytes() == b"weights"


def test_a_misnamed_bucket_is_one_line_before_ray_starts(s3, capsys):
    from sweep import run

    storage = f"s3://no-such-bucket/sweeps{_query(s3)}"
    with pytest.raises(SystemExit) as exit_:
        run.main(["--space", "augmentations", "--dry-run", "--storage", storage])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sweep/run.py: error: --storage {storage}: no such bucket"]


def _driver(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "sweep" / "run.py"), *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env=env, cwd=log.parent, start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _done(sweep: SweepLayout, stage: str) -> set[str]:
    return {n[: -len(".json")] for n in store.list_names(sweep.done_dir(stage)) if n.endswith(".json")}


@pytest.mark.slow
def test_a_sweep_in_s3_runs_resumes_and_is_analysed_from_the_bucket(s3, tmp_path):
    storage = f"s3://{BUCKET}/prefix{_query(s3)}"
    args = ["--space", "augmentations", "--profile", "smoke", "--rows", "advmask,random", "--tasks", "sex", "--fractions", "1,0.1",
            "--seeds", "1", "--storage", storage, "--name", "s3", "--num-cpus", "2", "--no-dashboard", "--quiet"]
    sweep = SweepLayout(sweep_dir(storage, "s3"))
    work = tmp_path / "cwd"  # the driver's working directory: nothing of the sweep may land here
    work.mkdir()

    first = _driver(args, work / "first.log")
    deadline = time.monotonic() + 300
    try:
        while not _done(sweep, PROBE):  # the probes start once pretraining has finished
            assert first.poll() is None, (work / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.5)
        os.kill(first.pid, signal.SIGKILL)  # the driver, as a crash would
        first.wait(timeout=30)
    finally:
        time.sleep(2)
        _kill_group(first)  # then the Ray cluster it had started
    assert _done(sweep, PRETRAIN) == {"advmask-s1"}

    second = _driver([*args, "--resume"], work / "second.log")
    try:
        assert second.wait(timeout=400) == 0, (work / "second.log").read_text()[-3000:]
    finally:
        _kill_group(second)

    plan = store.read_json(sweep.plan)
    probes = [t["key"] for t in plan[PROBE]]
    assert len(probes) == 4 and _done(sweep, PROBE) == set(probes)  # each probe, pretrained or not, has its result
    assert store.starts(sweep, PRETRAIN, "advmask-s1") == 1  # finished before the kill: not run again
    assert store.list_names(sweep.encoder("advmask-s1"))  # the encoder the probes read is in the bucket
    assert {"pretrain", "probe", "encoders", "done", "plan.json"} <= set(store.list_names(sweep.root))
    # every trial names the driver's commit (a cluster node has no .git of its own)
    driver = plan["provenance"]
    for stage, keys in ((PRETRAIN, ["advmask-s1"]), (PROBE, probes)):
        for key in keys:
            record = store.read_json(sweep.done(stage, key))["result"]["provenance"]
            assert (record["git_commit"], record["git_dirty"]) == (driver["git_commit"], driver["git_dirty"])

    table = subprocess.run([sys.executable, str(ROOT / "analysis" / "make_table1.py"), "--sweep", sweep.root],
                           capture_output=True, text=True, timeout=300, cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert table.returncode == 0, table.stderr[-3000:]
    rows = {}
    for line in table.stdout.splitlines():  # Table 1's own rows come first, then the paired comparison's
        if line.startswith("| ") and "%" not in line:
            rows.setdefault(line.split("|")[1].strip(), line)
    assert {"advmask", "random"} <= set(rows) and "—" not in rows["advmask"] + rows["random"]
    assert "figures" in store.list_names(sweep.root) and "curves.png" in store.list_names(sweep.figures)  # the driver's own curves
    assert sorted(p.name for p in work.iterdir()) == ["first.log", "second.log"]
