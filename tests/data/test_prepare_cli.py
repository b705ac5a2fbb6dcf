import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgmask.data import EcgCache

from .conftest import ecg_like, write_record

REPO = Path(__file__).resolve().parents[2]
PREPARE = REPO / "sweep" / "prepare.py"
SMALL = ["--fs", "100", "--length", "500", "--stride", "250", "--workers", "1", "--no-progress"]


def load_main():
    import importlib.util

    spec = importlib.util.spec_from_file_location("prepare_cli", PREPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def run(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(PREPARE), *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)  # fmt: skip


def test_help_explains_sources():
    out = run("--help")
    assert out.returncode == 0
    for word in ("synthetic", "wfdb", "chapman", "ptbxl", "reuses"):
        assert word in out.stdout
    sub = run("wfdb", "--help")
    for option in ("--root", "--exclude-prefix", "--exclude", "--fs", "--length", "--stride", "--out"):
        assert option in sub.stdout


def test_nothing_usable_exits_nonzero_without_traceback(tmp_path):
    write_record(tmp_path / "in", "X1", leads=("II", "V5"), signal=ecg_like(np.random.default_rng(0), 1000, 500, 2))
    out = run("wfdb", "--root", tmp_path / "in", "--out", tmp_path / "c", *SMALL)
    assert out.returncode == 1
    assert "nothing usable left" in out.stderr and "fewer than 12 leads" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_root_is_a_clear_error(tmp_path, capsys):
    assert load_main()(["wfdb", "--root", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_wfdb_real_records_and_reuse(real_records, tmp_path, capsys):
    import shutil

    main = load_main()
    loose = tmp_path / "records"  # the three loose records, not the LUDB folder beside them
    loose.mkdir()
    for f in real_records.iterdir():
        if f.is_file():
            shutil.copy(f, loose / f.name)
    args = ["wfdb", "--root", str(loose), "--out", str(tmp_path / "out"), *SMALL]
    assert main(args) == 0
    out = capsys.readouterr().out
    path = Path(out.strip().splitlines()[-1])
    assert "3 found, 1 kept" in out and "fewer than 12 leads" in out
    cache = EcgCache.open(path)
    assert cache.meta["fs"] == 100 and cache.signals.shape[1:] == (12, 500)
    assert main(args) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == path


def test_synthetic_pretrain_and_downstream_with_exclusion(tmp_path, capsys):
    main = load_main()
    args = ["synthetic", "--records", "4", "--seed", "1", "--kind", "downstream", "--out", str(tmp_path), *SMALL]
    assert main(args) == 0
    downstream = Path(capsys.readouterr().out.strip().splitlines()[-1])
    cache = EcgCache.open(downstream)
    assert cache.meta["kind"] == "downstream" and cache.records.rhythm.notna().all()
    # the same seed and patients as pretraining data, excluded by the downstream cache
    assert main(["synthetic", "--records", "6", "--seed", "1", "--out", str(tmp_path),
                 "--exclude", str(downstream), *SMALL]) == 0  # fmt: skip
    pretrain = EcgCache.open(Path(capsys.readouterr().out.strip().splitlines()[-1]))
    assert pretrain.meta["kind"] == "pretrain" and pretrain.meta["n_records"] == 2
    assert not set(pretrain.records.patient_id) & set(cache.records.patient_id)


def test_chapman_csv_cli(tmp_path, capsys):
    from .test_chapman import chapman_csv_tree

    root = chapman_csv_tree(tmp_path / "chapman", n=5000)
    assert load_main()(["chapman", "--root", str(root), "--out", str(tmp_path / "c"), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "downstream cache" in out and "7 kept" in out and "AFIB 2 (28.6%)" in out


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_out_under_a_regular_file_is_a_one_line_error(tmp_path, where):
    (tmp_path / "file").write_text("not a folder")
    write_record(tmp_path / "in", "X1")
    out = run("wfdb", "--root", tmp_path / "in", "--out", tmp_path / where, *SMALL)
    assert out.returncode == 2
    assert out.stderr.strip() == f"prepare.py: error: --out {tmp_path / where}: {tmp_path / 'file'} is a file, not a folder"


def test_ptbxl_cli(tmp_path, capsys):
    from .test_ptbxl import ptbxl_tree

    root = ptbxl_tree(tmp_path / "ptbxl")
    main = load_main()
    assert main(["ptbxl", "--root", str(root), "--out", str(tmp_path / "c"), "--fs", "100", "--length", "200",
                 "--stride", "200", "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    cache = EcgCache.open(Path(out.strip().splitlines()[-1]))
    assert cache.meta["sources"][0]["records"] == "records100" and cache.meta["n_records"] == 6
    assert "8 found, 6 kept" in out and "superclass:" in out
    assert main(["ptbxl", "--root", str(tmp_path / "nope"), "--out", str(tmp_path / "c")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_prepare_deepfake_subcommand(tmp_path, capsys):
    pytest.importorskip("deepfakeecg", reason="the deepfake extra is not installed")

    main = load_main()
    args = ["deepfake", "--records", "2", "--seed", "1", "--out", str(tmp_path), *SMALL]
    assert main(args) == 0
    out = capsys.readouterr().out
    path = Path(out.strip().splitlines()[-1])
    assert f"deepfake tree: {tmp_path / 'trees' / 'deepfake-s1-n2-p0'}" in out
    assert "2 found, 2 kept" in out and "derived: 2" in out and "normalization record" in out
    cache = EcgCache.open(path)
    assert cache.meta["normalization"] == "record" and cache.signals.shape == (6, 12, 500)  # 3 windows each
    assert main([*args, "--normalization", "lead"]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) != path  # another key, another cache


def test_prepare_deepfake_without_the_package_is_a_clear_error(tmp_path, capsys, monkeypatch):
    from ecgmask.data.corpora import deepfake

    def missing():
        raise ImportError(f"the deepfake corpus needs the {deepfake.PACKAGE} package: {deepfake.INSTALL_HINT}")

    monkeypatch.setattr(deepfake, "weights_path", missing)
    assert load_main()(["deepfake", "--records", "2", "--out", str(tmp_path), *SMALL]) == 2
    assert "needs the deepfake-ecg package" in capsys.readouterr().err


def test_profile_sets_the_window_options_and_an_explicit_one_wins(tmp_path, capsys):
    from ecgmask.profiles import LAPTOP

    main = load_main()
    assert main(["synthetic", "--records", "2", "--profile", "laptop", "--out", str(tmp_path), "--workers", "1", "--no-progress"]) == 0
    meta = EcgCache.open(Path(capsys.readouterr().out.strip().splitlines()[-1])).meta
    assert (meta["fs"], meta["length"], meta["stride"]) == (LAPTOP.fs, LAPTOP.length, LAPTOP.stride)
    assert main(["synthetic", "--records", "2", "--profile", "laptop", "--length", "500", "--out", str(tmp_path),
                 "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    meta = EcgCache.open(Path(capsys.readouterr().out.strip().splitlines()[-1])).meta
    assert (meta["fs"], meta["length"]) == (LAPTOP.fs, 500)
