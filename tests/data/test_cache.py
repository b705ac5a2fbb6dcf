import csv
import json
import shutil
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

import ecgmask.data.cache as cache_mod
from ecgmask.data import (
    LEADS,
    ChapmanSource,
    EcgCache,
    NoUsableRecords,
    PreprocessParams,
    WfdbSource,
    build_cache,
)

from .conftest import ecg_like, write_record

SMALL = PreprocessParams(fs=250, length=400, stride=200)


def rejected(path) -> dict[str, str]:
    with open(path / "rejected.csv", newline="") as f:
        return {os.path.basename(r["path"]): r["reason"] for r in csv.DictReader(f)}


def add_bad_records(root):
    write_record(root, "BAD_MISSING")
    (root / "BAD_MISSING.mat").unlink()
    write_record(root, "BAD_TRUNC")
    mat = root / "BAD_TRUNC.mat"
    mat.write_bytes(mat.read_bytes()[:3000])
    write_record(root, "BAD_HEADER")
    (root / "BAD_HEADER.hea").write_text("BAD_HEADER x y z\n")
    write_record(root, "BAD_LEADS", leads=("I", "II", "V1"), signal=ecg_like(np.random.default_rng(0), 1000, 500, 3))
    write_record(root, "BAD_COUNT")
    hea = root / "BAD_COUNT.hea"
    hea.write_text(hea.read_text().replace("BAD_COUNT 12 500 1000", "BAD_COUNT 12 500 999", 1))
    x = ecg_like(np.random.default_rng(1), 1000, 500)
    x[2] = np.nan
    write_record(root, "BAD_NAN", signal=x)
    x = ecg_like(np.random.default_rng(2), 1000, 500)
    x[9] = 1.0
    write_record(root, "BAD_FLAT", signal=x)


def test_build_keeps_good_rejects_bad_with_reasons(tree, tmp_path, capsys):
    add_bad_records(tree)
    write_record(tree, "LONG", seconds=5.0, age=None, sex=None, dx=None)  # unknown labels kept
    path = build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, workers=1)
    assert path.name.startswith("pretrain-") and path.parent == tmp_path / "c"
    cache = EcgCache.open(path)
    # 5 records of 2 s (500 samples at 250 Hz -> 1 window) + one of 5 s (1250 -> 5 windows)
    assert len(cache) == cache.signals.shape[0] == 5 * 1 + 5
    assert cache.signals.shape[1:] == (12, 400) and cache.signals.dtype == np.float16
    assert isinstance(cache.signals, np.memmap)
    assert list(cache.records.columns) == ["record", "source", "patient_id", "age", "sex", "dx", "rhythm",
                                           "superclass", "fold", "window", "qrs_source"]  # fmt: skip
    assert cache.records.superclass.isna().all() and cache.records.fold.isna().all()  # PTB-XL labels only
    long = cache.records[cache.records.record == "LONG"]
    assert list(long.window) == [0, 1, 2, 3, 4]
    assert long.sex.isna().all() and long.age.isna().all() and (long.dx == "").all() and long.rhythm.isna().all()
    a1 = cache.records[cache.records.record == "A0001"].iloc[0]
    assert (a1.sex, a1.age, a1.dx, a1.rhythm, a1.source) == ("F", 63.0, "164889003", "AFIB", "tree")
    assert cache.meta["fs"] == 250 and cache.meta["length"] == 400 and cache.meta["kind"] == "pretrain"
    reasons = rejected(path)
    assert reasons["BAD_MISSING.hea"] == "missing signal file: BAD_MISSING.mat"
    assert reasons["BAD_TRUNC.hea"].startswith("truncated signal file: BAD_TRUNC.mat")
    assert reasons["BAD_HEADER.hea"].startswith("unparseable header")
    assert reasons["BAD_LEADS.hea"].startswith("fewer than 12 leads: has I, II, V1; missing III")
    assert reasons["BAD_COUNT.hea"].startswith("wrong sample count: header says 999 samples")
    assert reasons["BAD_NAN.hea"] == "all-NaN lead: III"
    assert reasons["BAD_FLAT.hea"] == "flat lead (constant signal): V4"
    out = capsys.readouterr().out
    assert "13 found, 6 kept" in out and "7 rejected" in out and "fewer than 12 leads" in out
    assert "h of ECG" in out and "AFIB 1" in out and "unlabelled 1" in out


def test_signals_are_zscored_windows_of_the_record(tree, tmp_path):
    from ecgmask.data.preprocess import preprocess
    from ecgmask.data.wfdb_reader import read_wfdb_record

    path = build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False)
    cache = EcgCache.open(path)
    rows = np.flatnonzero(cache.records.record == "A0002")
    want = preprocess(read_wfdb_record(tree / "A0002.hea").signal, 500, SMALL)
    # float16 storage: half an ulp, 2**-11 relative (a lead can reach ~10 record stds)
    np.testing.assert_allclose(cache.signals[rows].astype(np.float32), want, rtol=2**-11, atol=2e-3)


def test_batch_returns_float32_in_requested_order(tree, tmp_path):
    cache = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False))
    idx = [4, 0, 3, 3]
    b = cache.batch(idx)
    assert b.dtype == torch.float32 and b.shape == (4, 12, 400)
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(b[k].numpy(), cache.signals[i].astype(np.float32))


def test_cache_pickles_without_copying_signals(tree, tmp_path):
    cache = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False))
    _ = cache.signals
    blob = pickle.dumps(cache)
    assert len(blob) < cache.signals.nbytes
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.signals, cache.signals)


def test_second_run_reuses_and_changes_make_new_caches(tree, tmp_path, monkeypatch):
    first = build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False)
    stamp = (first / "meta.json").stat().st_mtime_ns

    def fail(*a, **k):
        raise AssertionError("a reused cache must not read records")

    monkeypatch.setattr(cache_mod, "process_item", fail)
    assert build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False) == first
    assert (first / "meta.json").stat().st_mtime_ns == stamp
    monkeypatch.undo()

    other = build_cache(WfdbSource([tree]), tmp_path, PreprocessParams(fs=250, length=400, stride=100),
                        workers=1, progress=False)  # fmt: skip
    assert other != first and len(EcgCache.open(other)) > len(EcgCache.open(first))
    excl = build_cache(WfdbSource([tree]), tmp_path, SMALL, exclude_prefixes=["A0000"], workers=1, progress=False)
    assert excl not in (first, other)
    write_record(tree, "A0099", seed=99)
    grown = build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False)
    assert grown not in (first, other, excl)
    assert EcgCache.open(grown).meta["n_records"] == 6


def test_interrupted_ingest_leaves_no_cache(tree, tmp_path, monkeypatch):
    real = cache_mod.process_item
    calls = []

    def interrupt_on_third(source, item, params):
        calls.append(item.path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(source, item, params)

    monkeypatch.setattr(cache_mod, "process_item", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, workers=1, progress=False)
    assert len(calls) == 3
    assert list((tmp_path / "c").iterdir()) == []  # neither a cache nor a temporary directory
    monkeypatch.undo()
    path = build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, workers=1, progress=False)
    assert EcgCache.open(path).meta["n_records"] == 5


def test_killed_ingest_leaves_no_valid_cache(tree, tmp_path):
    out = tmp_path / "c"
    script = textwrap.dedent(
        f"""
        import time, ecgmask.data.cache as m
        from ecgmask.data import WfdbSource, PreprocessParams, build_cache
        real = m.process_item
        def slow(source, item, params):
            time.sleep(0.5)
            return real(source, item, params)
        m.process_item = slow
        build_cache(WfdbSource([{str(tree)!r}]), {str(out)!r}, PreprocessParams(fs=250, length=400, stride=200),
                    workers=1, progress=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 60
        while not (out.is_dir() and any(p.name.startswith(".tmp-") for p in out.iterdir())):
            assert proc.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, "no temporary cache appeared"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".tmp-")] == []
    path = build_cache(WfdbSource([tree]), out, SMALL, workers=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [path.name]  # the stale temporary is gone
    assert EcgCache.open(path).meta["n_records"] == 5


def test_worker_pool_gives_the_same_cache(tree, tmp_path):
    add_bad_records(tree)
    params = PreprocessParams(fs=500, length=400, stride=300)  # no resampling: keeps worker start-up light
    one = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path / "a", params, workers=1, progress=False))
    two = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path / "b", params, workers=2, progress=False))
    np.testing.assert_array_equal(one.signals, two.signals)
    pd.testing.assert_frame_equal(one.records, two.records)
    assert rejected(one.path) == rejected(two.path)


def test_nothing_usable_raises_with_message(tmp_path):
    root = tmp_path / "bad"
    write_record(root, "X1", leads=("II", "V5"), signal=ecg_like(np.random.default_rng(0), 1000, 500, 2))
    with pytest.raises(NoUsableRecords, match=r"nothing usable left: 1 record\(s\).*1 fewer than 12 leads"):
        build_cache(WfdbSource([root]), tmp_path / "c", SMALL, workers=1, progress=False)
    leftovers = list((tmp_path / "c").iterdir())
    assert [p.suffix for p in leftovers] == [".csv"]  # only the rejected list, no cache
    with pytest.raises(NoUsableRecords, match="nothing usable left: 0 record"):
        build_cache(WfdbSource([tmp_path / "c"]), tmp_path / "d", SMALL, workers=1, progress=False)


def test_exclude_prefix_and_exclude_cache(tree, tmp_path):
    write_record(tree / "js", "JS00001")
    write_record(tree / "js", "JS00002")
    path = build_cache(WfdbSource([tree]), tmp_path, SMALL, exclude_prefixes=["JS"], workers=1, progress=False)
    cache = EcgCache.open(path)
    assert not cache.records.record.str.startswith("JS").any()
    assert rejected(path)["JS00001.hea"] == "excluded: name starts with 'JS'"

    downstream = build_cache(ChapmanSource(tree / "js"), tmp_path, SMALL, workers=1, progress=False)
    path = build_cache(WfdbSource([tree]), tmp_path, SMALL, exclude_caches=[downstream], workers=1, progress=False)
    records = EcgCache.open(path).records
    assert set(records.record) == {"A0000", "A0001", "A0002", "A0003", "A0004"}
    assert rejected(path)["JS00002.hea"].startswith("excluded: record or patient is in an excluded cache")


def test_downstream_wfdb_needs_rhythm_and_sex(tree, tmp_path):
    write_record(tree, "D_NOSEX", sex="Unknown")
    write_record(tree, "D_OTHER", dx="164934002,59118001")
    write_record(tree, "D_BOTH", dx="426177001,164889003")
    path = build_cache(ChapmanSource(tree), tmp_path, SMALL, workers=1, progress=False)
    cache = EcgCache.open(path)
    assert cache.meta["kind"] == "downstream" and path.name.startswith("downstream-")
    assert set(cache.records.rhythm) == {"AFIB", "GSVT", "SB", "SR"}
    reasons = rejected(path)
    assert reasons["D_NOSEX.hea"].startswith("unknown sex")
    assert reasons["D_OTHER.hea"] == "rhythm outside AFIB/GSVT/SB/SR: Dx 164934002,59118001"
    assert reasons["D_BOTH.hea"].startswith("conflicting rhythm labels: AFIB/SB")


def test_real_records_ptb_kept_at_target_rate_others_rejected(real_records, tmp_path):
    params = PreprocessParams(fs=500, length=5000, stride=2000)
    top = tmp_path / "records"  # the three loose records, not the LUDB folder beside them
    top.mkdir()
    for f in real_records.iterdir():
        if f.is_file():
            shutil.copy(f, top / f.name)
    path = build_cache(WfdbSource([top]), tmp_path / "c", params, workers=1, progress=False)
    cache = EcgCache.open(path)
    # 38.4 s at 1000 Hz -> 19200 samples at 500 Hz -> (19200 - 5000) // 2000 + 1 windows
    assert len(cache) == 8 and cache.signals.shape == (8, 12, 5000)
    assert set(cache.records.record) == {"s0010_re"}
    reasons = rejected(path)
    assert reasons["a103l.hea"].startswith("fewer than 12 leads: has II, V, PLETH; missing I, III")
    assert reasons["100.hea"].startswith("fewer than 12 leads: has MLII, V5; missing I, II, III")
    meta = json.loads((path / "meta.json").read_text())
    assert meta["summary"]["rejected"] == {"fewer than 12 leads": 2}
    assert abs(meta["summary"]["hours"] - 38.4 / 3600) < 1e-9


def test_npy_appender_writes_a_valid_npy(tmp_path):
    w = cache_mod._NpyAppender(tmp_path / "x.npy", (12, 7), np.float16)
    parts = [np.random.default_rng(i).normal(size=(i + 1, 12, 7)) for i in range(3)]
    for p in parts:
        w.append(p)
    w.close()
    got = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(got, np.concatenate(parts).astype(np.float16))
    assert LEADS[0] == "I"


def test_batch_into_a_reused_tensor(tree, tmp_path):
    cache = EcgCache.open(build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False))
    buffer = torch.full((2, 12, 400), float("nan"))
    got = cache.batch([2, 1], out=buffer)
    assert got.data_ptr() == buffer.data_ptr()
    assert torch.equal(got, cache.batch([2, 1]))


def test_failure_while_workers_run_leaves_no_cache(tree, tmp_path, monkeypatch):
    real = cache_mod._NpyAppender.append
    calls = []

    def fail_on_second(self, rows):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, rows)

    monkeypatch.setattr(cache_mod._NpyAppender, "append", fail_on_second)
    params = PreprocessParams(fs=500, length=400, stride=300)
    with pytest.raises(OSError, match="disk full"):
        build_cache(WfdbSource([tree]), tmp_path / "c", params, workers=2, progress=False)
    assert list((tmp_path / "c").iterdir()) == []


# ------------------------------------------------------------------ caches are checked when opened


def damage(path, how):
    if how == "truncated signals.npy":
        data = (path / "signals.npy").read_bytes()
        (path / "signals.npy").write_bytes(data[: len(data) - 100])
    elif how == "missing records.parquet":
        (path / "records.parquet").unlink()
    elif how == "broken meta.json":
        (path / "meta.json").write_text('{"fs": 250, "len')
    elif how == "meta.json without n_windows":
        meta = json.loads((path / "meta.json").read_text())
        del meta["n_windows"]
        (path / "meta.json").write_text(json.dumps(meta))
    elif how == "rows that do not match":
        records = pd.read_parquet(path / "records.parquet")
        records.iloc[:-1].to_parquet(path / "records.parquet", index=False)


@pytest.mark.parametrize(
    "how, file, problem",
    [
        ("truncated signals.npy", "signals.npy", "bytes, its header needs"),
        ("missing records.parquet", "records.parquet", "missing"),
        ("broken meta.json", "meta.json", "unreadable"),
        ("meta.json without n_windows", "meta.json", "incomplete, no n_windows"),
        ("rows that do not match", "records.parquet", "9 rows, meta.json says 10 windows"),
    ],
)
def test_open_checks_the_cache(tree, tmp_path, how, file, problem):
    from ecgmask.data import CacheError

    path = build_cache(WfdbSource([tree]), tmp_path, PreprocessParams(fs=250, length=400, stride=100),
                       workers=1, progress=False)  # fmt: skip
    damage(path, how)
    with pytest.raises(CacheError) as info:
        EcgCache.open(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path / file}: ") and problem in message
    assert isinstance(info.value, ValueError)


def test_a_folder_that_is_not_a_cache(tmp_path):
    from ecgmask.data import CacheError, check_cache

    with pytest.raises(CacheError, match=r"meta.json: missing, so .* is not a complete ECG cache"):
        EcgCache.open(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match="not a directory"):
        check_cache(tmp_path / "file")


def test_damaged_cache_is_rebuilt_not_reused(tree, tmp_path, capsys):
    first = build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=False)
    want = np.array(EcgCache.open(first).signals)
    damage(first, "truncated signals.npy")
    again = build_cache(WfdbSource([tree]), tmp_path, SMALL, workers=1, progress=True)
    assert again == first and "rebuilding a damaged cache" in capsys.readouterr().out
    np.testing.assert_array_equal(EcgCache.open(again).signals, want)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tree") == [first.name]  # nothing left aside


def test_default_study_rebuilds_a_damaged_cache(tmp_path):
    from types import SimpleNamespace

    from ecgmask.data import check_cache, default_study

    profile = SimpleNamespace(name="tiny", pretrain_records=3, downstream_records=4, fs=100, length=500, stride=500)
    paths = default_study(tmp_path, profile, progress=False, workers=1)
    damage(paths["downstream"], "truncated signals.npy")
    damage(paths["pretrain"], "broken meta.json")
    again = default_study(tmp_path, profile, progress=False, workers=1)
    assert again == paths
    for path in again.values():
        check_cache(path)
    assert EcgCache.open(again["downstream"]).meta["n_records"] == 4
    assert EcgCache.open(again["pretrain"]).meta["n_records"] == 3
