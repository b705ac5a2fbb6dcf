"""`sweep.store.layout`: every path of a sweep, for a local directory and for a URI, without Ray."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sweep.store import layout
from sweep.store.layout import PRETRAIN, PROBE, SEARCH, SweepLayout


def test_local_paths(tmp_path):
    sweep = SweepLayout(tmp_path / "s")
    root = str(tmp_path / "s")
    assert sweep.root == root
    assert sweep.plan == f"{root}/plan.json"
    assert [sweep.experiment(s) for s in (PRETRAIN, PROBE, SEARCH)] == [f"{root}/pretrain", f"{root}/probe", f"{root}/tune"]
    assert sweep.encoder("gaussian-s1") == f"{root}/encoders/gaussian-s1"
    assert sweep.done(PROBE, "k") == f"{root}/done/probe/k.json"
    assert sweep.failed(PRETRAIN, "k") == f"{root}/failed/pretrain/k.json"
    assert sweep.starts(PRETRAIN, "k") == f"{root}/starts/pretrain/k"
    assert sweep.figures == f"{root}/figures"


def test_uri_paths_keep_slashes():
    sweep = SweepLayout(layout.sweep_dir("s3://bucket/sweeps/", "demo"))
    assert sweep.root == "s3://bucket/sweeps/demo"
    assert sweep.done(PRETRAIN, "a-s1") == "s3://bucket/sweeps/demo/done/pretrain/a-s1.json"
    assert sweep.encoder("a-s1") == "s3://bucket/sweeps/demo/encoders/a-s1"


def test_a_uri_query_stays_at_the_end_of_every_path():
    storage = "s3://bucket/sweeps?endpoint_override=127.0.0.1:9000&scheme=http"
    sweep = SweepLayout(layout.sweep_dir(storage, "demo"))
    query = "?endpoint_override=127.0.0.1:9000&scheme=http"
    assert sweep.root == "s3://bucket/sweeps/demo" + query
    assert sweep.encoder("a-s1") == "s3://bucket/sweeps/demo/encoders/a-s1" + query
    assert sweep.experiment(PROBE) == "s3://bucket/sweeps/demo/probe" + query
    assert layout.split(sweep.experiment(PROBE)) == (sweep.root, "probe")
    assert layout.split("/a/b/probe") == ("/a/b", "probe")


def test_a_local_storage_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert layout.sweep_dir("results", "x") == str(tmp_path / "results" / "x")


def test_unknown_stage_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'probes'"):
        SweepLayout(tmp_path).done("probes", "k")


def test_importing_the_layout_starts_neither_ray_nor_torch():
    code = "import sys, sweep.store.layout; print(sorted({'ray', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
