"""The viewers the README names open on a sweep: `tensorboard --logdir <sweep>` and the MLflow
UI/server on `<sweep>/mlruns` start from the project's environment, on 127.0.0.1, and serve one
trial's scalars and one run's metrics over HTTP (the numbers the trials reported). W&B's
project and entity come from the options, else the environment."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import ecgmask_tests_ray_fixture as ray_fixture  # registered by tests/conftest.py
import pytest

from sweep.tracking import DEFAULT_WANDB_PROJECT, Tracking, TrackingError

BIN = Path(sys.executable).parent  # the environment's console scripts: tensorboard, mlflow
STARTUP_S = 120  # a server that answers nothing for this long has failed to start


@pytest.fixture(scope="module")
def tracked_sweep(ray_session, tmp_path_factory):
    """One pretraining trial and one probe trial on the stand-in core, with `--tracker mlflow`."""
    from ecgmask.profiles import LAPTOP
    from search_spaces.plan import Row, grid_plan
    from sweep.observe import Observers
    from sweep.pipeline import run_sweep
    from sweep.resources import TrialResources
    from trainables.context import TrialContext

    root = tmp_path_factory.mktemp("viewers")
    plan = grid_plan(space="t", profile="laptop", rows=[Row("gaussian", augmentation="gaussian")],
                     seeds=(1,), tasks=("sex",), fractions=(1.0,))
    standin = ray_fixture.load_standin()
    data = {"pretrain": standin.make_cache(root / "pre"), "downstream": standin.make_cache(root / "down")}
    sweep = root / "viewed"
    context = TrialContext(sweep_dir=str(sweep), profile=LAPTOP.with_overrides(epochs=3), data=data, cpus=1)
    with standin.installed():
        out = run_sweep(plan, context=context, resources=TrialResources(1, 0), max_concurrent=2, verbose=0,
                        observers=Observers(tracking=Tracking("mlflow")))
    assert out.failed == {}
    return sweep


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(args: list[str], cwd: Path, env: dict | None = None):
    """A server process in its own process group, stopped (the whole group) on the way out."""
    log = open(cwd / f"{Path(args[0]).name}.log", "w+")
    proc = subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})
    try:
        yield proc, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def get(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw.decode()


def wait_for(proc, log, fetch, what: str):
    """fetch() until it returns something truthy; fails with the server's log if it exits or stays silent."""
    deadline = time.monotonic() + STARTUP_S
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"{what}: the server exited with {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            value = fetch()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"{what}: nothing after {STARTUP_S} s; server log:\n{log.read()[-3000:]}")
        time.sleep(0.5)


@pytest.mark.slow
def test_tensorboard_serves_a_trials_scalars(tracked_sweep, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(BIN / "tensorboard"), "--logdir", str(tracked_sweep), "--host", "127.0.0.1", "--port", str(port)]
    with server(args, tmp_path) as (proc, log):
        def pretrain_run():
            tags = get(f"{base}/data/plugin/scalars/tags")
            runs = [r for r in tags if r.startswith("pretrain/") and "ray/tune/nt_xent" in tags[r]]
            return runs[0] if runs else None

        run = wait_for(proc, log, pretrain_run, "tensorboard")
        query = urllib.parse.urlencode({"run": run, "tag": "ray/tune/nt_xent"})
        points = get(f"{base}/data/plugin/scalars/scalars?{query}")
    # [wall time, step, value] per report: the stand-in's NT-Xent is 1/epoch over 3 epochs
    assert [p[1] for p in points] == [1, 2, 3]
    assert [p[2] for p in points] == pytest.approx([1.0, 1 / 2, 1 / 3])


@pytest.mark.slow
def test_mlflow_ui_serves_its_page_and_a_runs_metrics(tracked_sweep, tmp_path):
    from ray.tune import ExperimentAnalysis

    from sweep.store.layout import PROBE, SweepLayout

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # as the README says: MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri <sweep>/mlruns
    store = SweepLayout(str(tracked_sweep)).mlruns
    # one worker: the default starts several, slow to come up on two cores
    args = [str(BIN / "mlflow"), "ui", "--backend-store-uri", store, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    with server(args, tmp_path, env={"MLFLOW_ALLOW_FILE_STORE": "true"}) as (proc, log):
        experiment = wait_for(
            proc, log,
            lambda: get(f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={tracked_sweep.name}")["experiment"],
            "mlflow ui")
        runs = get(f"{base}/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        page = get(f"{base}/")
    # the UI's own page (the full mlflow's React app), not mlflow-skinny's "Unable to display MLflow UI"
    assert "<title>MLflow</title>" in page and 'id="root"' in page
    by_name = {r["info"]["run_name"]: r for r in runs}
    assert sorted(by_name) == ["pretrain/gaussian/s1", "probe/gaussian/sex/1/s1"]
    metrics = {m["key"]: m["value"] for m in by_name["probe/gaussian/sex/1/s1"]["data"]["metrics"]}
    tune = ExperimentAnalysis(SweepLayout(str(tracked_sweep)).experiment(PROBE)).dataframe().iloc[0]
    assert metrics["test_accuracy"] == pytest.approx(tune["test_accuracy"])
    assert metrics["n_train"] == 100


def test_wandb_project_and_entity_options_come_before_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    assert Tracking("wandb").wandb_target() == (DEFAULT_WANDB_PROJECT, None)
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    monkeypatch.setenv("WANDB_ENTITY", "env-team")
    assert Tracking("wandb").wandb_target() == ("from-env", "env-team")
    tracking = Tracking("wandb", wandb_project="ecg", wandb_entity="lab")
    assert tracking.wandb_target() == ("ecg", "lab")
    assert "project lab/ecg" in tracking.describe(str(tmp_path / "s"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    callback = tracking.callbacks("probe", str(tmp_path / "s"))[-1]
    assert callback.project == "ecg" and callback.kwargs["entity"] == "lab"  # what reaches wandb.init
    with pytest.raises(TrackingError, match="--wandb-project needs --tracker wandb"):
        Tracking("mlflow", wandb_project="ecg").check(str(tmp_path))
    with pytest.raises(TrackingError, match="--wandb-entity needs --tracker wandb"):
        Tracking(None, wandb_entity="lab").check(str(tmp_path))
