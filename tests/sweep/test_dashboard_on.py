"""sweep/run.py starts its local cluster with the Ray dashboard on 127.0.0.1, prints its URL
before anything else of the sweep, and the dashboard answers over HTTP while the trials run;
--no-dashboard turns it off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def get(url: str):
    from sweep.ray_session import auth_token

    # the sweep below runs with RAY_AUTH_MODE=disabled; a token-auth cluster wants the token
    token = auth_token() if os.environ.get("RAY_AUTH_MODE") == "token" else None
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


@pytest.mark.slow
def test_the_sweep_cluster_serves_its_dashboard_while_trials_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(OMP_NUM_THREADS="1", RAY_AUTH_MODE="disabled")
    out = tmp_path / "out.txt"
    command = [
        sys.executable, str(ROOT / "sweep" / "run.py"), "--space", "augmentations", "--profile", "smoke",
        "--rows", "gaussian", "--tasks", "sex", "--fractions", "1.0", "--seeds", "1", "--num-cpus", "2",
        "--storage", str(tmp_path / "results"), "--name", "dash", "--checkpoint-every", "1000",
        # a small corpus, and pretraining long enough (no early stop) to be seen running
        "--set", "pretrain_records=40", "--set", "downstream_records=80",
        "--set", "profile.epochs=150", "--set", "profile.patience=1000",
    ]
    sweep = subprocess.Popen(command, stdout=open(out, "w"), stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 300
        while url is None and time.monotonic() < deadline and sweep.poll() is None:
            lines = out.read_text().splitlines()
            url = next((ln.split(" ", 1)[1] for ln in lines if ln.startswith("dashboard: ")), None)
            time.sleep(0.5)
        assert url, out.read_text()[-3000:]
        assert url.startswith("http://127.0.0.1:"), url
        seen, jobs = set(), []
        while time.monotonic() < deadline and sweep.poll() is None and not seen:
            try:
                actors = get(f"{url}/api/v0/actors?limit=1000&detail=true")["data"]["result"]["result"]
                jobs = get(f"{url}/api/jobs/")
            except OSError:
                time.sleep(1)
                continue
            seen = {a["actor_id"] for a in actors if a.get("class_name") == "ImplicitFunc" and a.get("state") == "ALIVE"}
            time.sleep(1)
        assert seen, "no trial showed up as a live actor on the dashboard:\n" + out.read_text()[-3000:]
        assert isinstance(jobs, list)
        assert sweep.wait(timeout=300) == 0, out.read_text()[-3000:]
    finally:
        if sweep.poll() is None:
            sweep.kill()
    lines = out.read_text().splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("dashboard: "))
    assert first < next(i for i, ln in enumerate(lines) if ln.startswith("sweep 'dash'")), lines[:20]  # before the sweep's own lines
    assert any(ln.startswith("pretrain  1/1 done") for ln in lines) and any(ln.startswith("probe     1/1 done") for ln in lines)
    assert "== pretrain" not in out.read_text()  # Tune's table went to the log
    log = (tmp_path / "results" / "dash" / "sweep.log").read_text()
    assert "pretrain/gaussian/s1" in log and "== probe (done)" in log


def test_no_dashboard_starts_the_cluster_without_it(tmp_path, monkeypatch, capsys):
    import sweep.ray_session
    from sweep import run

    asked = {}

    def connect(address, **kwargs):
        asked.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(sweep.ray_session, "connect", connect)
    cache = str(tmp_path / "synthetic")  # a run (a dry run starts no cluster); no study is built for it
    monkeypatch.setattr(run, "default_data", lambda profile: {"pretrain": cache, "downstream": cache})
    for extra, dashboard in (([], True), (["--no-dashboard"], False)):
        with pytest.raises(SystemExit):
            run.main(["--space", "augmentations", "--profile", "smoke", "--storage", str(tmp_path), *extra])
        assert asked["dashboard"] is dashboard
    assert "Ray: stop here" in capsys.readouterr().err
