"""Sources behind one protocol; records checked, not trusted; no leftovers after a kill."""

import csv
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgmask.data import LEADS, ChapmanSource, EcgCache, PreprocessParams, WfdbSource, build_cache

from .conftest import ecg_like, write_record

SMALL = PreprocessParams(fs=250, length=400, stride=200)


def rejected(path) -> dict[str, str]:
    with open(path / "rejected.csv", newline="") as f:
        return {r["path"]: r["reason"] for r in csv.DictReader(f)}


def reasons_by_name(path) -> dict[str, str]:
    return {os.path.basename(p): r for p, r in rejected(path).items()}


def ingest(root, out, **kwargs):
    return build_cache(WfdbSource([root]), out, SMALL, workers=1, progress=False, **kwargs)


# ------------------------------------------------------------------ the protocol


def test_sources_follow_the_protocol_and_pickle(tree, tmp_path):
    from ecgmask.data import PtbxlSource, Source

    for source in (WfdbSource([tree]), ChapmanSource(tree), PtbxlSource(tmp_path, fs=100)):
        assert isinstance(source, Source) and source.kind in ("pretrain", "downstream")
    source = ChapmanSource(tree)
    items = source.items()
    assert [i.name for i in items] == ["A0000", "A0001", "A0002", "A0003", "A0004"]
    again_source, again_item = pickle.loads(pickle.dumps((source, items[1])))  # what a worker gets
    rec = again_source.read(again_item)
    assert (rec.rhythm, rec.sex, rec.signal.shape) == ("AFIB", "F", (12, 1000))
    assert source.describe()["type"] == "chapman" and source.describe()["where"] == str(tree.resolve())
    with pytest.raises(TypeError, match="not a record source"):
        build_cache([object()], tmp_path / "c", SMALL, progress=False)


def test_build_cache_takes_any_source(tmp_path):
    """A source build_cache has never heard of: the builder knows only the protocol."""
    from ecgmask.data import EcgRecord, RecordError, WorkItem

    class ArraySource:
        kind = "downstream"

        def items(self):
            return [WorkItem(path=f"mem/{i}", name=f"R{i}", patient_id=f"P{i // 2}", source="mem",
                             fields={"seed": i}) for i in range(4)]  # fmt: skip

        def read(self, item):
            if item.fields["seed"] == 3:
                raise RecordError("unknown sex: the array has none")
            x = ecg_like(np.random.default_rng(item.fields["seed"]), 500, 250)
            return EcgRecord(name=item.name, path=Path(item.path), fs=250.0, signal=x, sex="F",
                             patient_id=item.patient_id, rhythm="SR", fold=item.fields["seed"] + 1)  # fmt: skip

        def describe(self):
            return {"type": "arrays", "where": "memory"}

        def input_stats(self):
            return []

    cache = EcgCache.open(build_cache(ArraySource(), tmp_path, SMALL, workers=1, progress=False))
    assert list(cache.records.record) == ["R0", "R1", "R2"] and list(cache.records.fold) == [1, 2, 3]
    assert cache.meta["kind"] == "downstream" and cache.meta["sources"] == [{"type": "arrays", "where": "memory"}]
    assert rejected(cache.path) == {"mem/3": "unknown sex: the array has none"}


def test_label_rule_lives_in_the_source(tree):
    from ecgmask.data import RecordError

    write_record(tree, "NOSEX", sex="Unknown")
    hea = tree / "NOSEX.hea"
    item = next(i for i in WfdbSource([tree]).items() if i.name == "NOSEX")
    assert WfdbSource([tree]).read(item).sex is None  # pretraining keeps it
    with pytest.raises(RecordError, match="unknown sex"):
        ChapmanSource(tree).read(item)
    assert item.path == str(hea)


# ------------------------------------------------------------------ records are checked


def reason_for(tmp_path, name) -> str:
    write_record(tmp_path / "in", "GOOD")  # something usable, so the ingest completes
    path = ingest(tmp_path / "in", tmp_path / "c")
    reason = reasons_by_name(path)[f"{name}.hea"]
    assert "Error" not in reason  # a reason in words, never an exception's name
    return reason


def test_random_mat_fails_the_checksums(tmp_path):
    write_record(tmp_path / "in", "GOOD")
    write_record(tmp_path / "in", "RANDOM")  # not even a MATLAB header: read by wfdb
    mat = tmp_path / "in" / "RANDOM.mat"
    mat.write_bytes(np.random.default_rng(0).bytes(mat.stat().st_size))
    write_record(tmp_path / "in", "PAYLOAD")  # a valid MATLAB v4 header, random samples: the fast path
    mat = tmp_path / "in" / "PAYLOAD.mat"
    data = mat.read_bytes()
    mat.write_bytes(data[:24] + np.random.default_rng(1).bytes(len(data) - 24))
    path = ingest(tmp_path / "in", tmp_path / "c")
    reasons = reasons_by_name(path)
    assert reasons["RANDOM.hea"].startswith("checksum mismatch: I, II")
    assert reasons["PAYLOAD.hea"].startswith("checksum mismatch: I, II") and "PAYLOAD.mat" in reasons["PAYLOAD.hea"]
    assert list(EcgCache.open(path).records.record.unique()) == ["GOOD"]


def test_altered_dat_fails_the_checksum(tmp_path):
    x = ecg_like(np.random.default_rng(0), 1000, 500).T.astype(np.float64)
    (tmp_path / "in").mkdir()
    wfdb.wrsamp("D1", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                adc_gain=[200.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path / "in"))  # fmt: skip
    dat = tmp_path / "in" / "D1.dat"
    data = bytearray(dat.read_bytes())
    data[24 * 500 + 2 * 6] ^= 0x40  # one sample of V1, half-way through
    dat.write_bytes(bytes(data))
    assert reason_for(tmp_path, "D1") == "checksum mismatch: V1 in D1.dat (corrupt or altered signal file)"


@pytest.mark.parametrize(
    "gain, reason",
    [
        ("xyz/mV", "unparseable gain: 'xyz/mV' for lead I"),
        ("0/mV", "non-positive gain: '0/mV' for lead I"),
        ("-1000/mV", "non-positive gain: '-1000/mV' for lead I"),
    ],
)
def test_bad_gain_is_rejected_not_defaulted(tmp_path, gain, reason):
    hea = write_record(tmp_path / "in", "G1")
    hea.write_text(hea.read_text().replace("1000/mV", gain, 1))  # the first signal line: lead I
    assert reason_for(tmp_path, "G1").startswith(reason)


def test_non_positive_sampling_rate_is_rejected_in_words(tmp_path):
    hea = write_record(tmp_path / "in", "F0")
    hea.write_text(hea.read_text().replace("F0 12 500 1000", "F0 12 0 1000", 1))
    assert reason_for(tmp_path, "F0") == "non-positive sampling rate: 0 Hz in the header"


def test_duplicate_names_keep_the_first_copy(tmp_path):
    write_record(tmp_path / "in" / "a", "R1", seed=1)
    write_record(tmp_path / "in" / "b", "R1", seed=2)
    write_record(tmp_path / "in" / "c", "R1", seed=3)
    path = ingest(tmp_path / "in", tmp_path / "c")
    first = str(tmp_path / "in" / "a" / "R1.hea")
    for copy in ("b", "c"):
        assert rejected(path)[str(tmp_path / "in" / copy / "R1.hea")] == (
            f"duplicate record name: R1 is already read from {first}"
        )
    assert EcgCache.open(path).meta["n_records"] == 1


def test_link_loop_is_not_followed(tree, tmp_path):
    (tree / "sub").mkdir()
    os.symlink("..", tree / "sub" / "up")  # sub/up/sub/up/... for ever
    os.symlink(tree, tmp_path / "again")
    os.symlink(tmp_path / "again", tree / "sub" / "again")  # a second way into the tree
    path = ingest(tree, tmp_path / "c")
    assert EcgCache.open(path).meta["n_records"] == 5  # each record once
    assert rejected(path) == {}


def test_unreadable_paths_are_listed_not_fatal(tree, tmp_path, monkeypatch):
    os.symlink("nowhere.hea", tree / "GHOST.hea")
    write_record(tree / "locked", "L1")
    real_scandir = os.scandir
    locked = str(tree / "locked")

    def scandir(path="."):
        if os.fspath(path) == locked:  # root reads any folder: a refused one is simulated
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    path = ingest(tree, tmp_path / "c")
    reasons = rejected(path)
    assert reasons[str(tree / "GHOST.hea")] == "unreadable file: broken link to nowhere.hea"
    assert reasons[locked] == "unreadable folder: Permission denied"
    assert EcgCache.open(path).meta["n_records"] == 5


# ------------------------------------------------------------------ no leftovers


def _descendants(pid: int) -> set[int]:
    """Live (not zombie) processes below `pid`, from /proc."""
    parent, state = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        state[int(entry)], parent[int(entry)] = fields[0], int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in found}
        found |= frontier
    return {p for p in found if state.get(p) != "Z"}


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            if Path(f"/proc/{p}/stat").read_text().split(") ", 1)[1][0] != "Z":
                alive.add(p)
        except OSError:
            pass
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_workers_die_with_a_killed_ingest(tree, tmp_path):
    (tmp_path / "slowmod.py").write_text(textwrap.dedent(
        """
        import time
        import ecgmask.data.cache as m
        real = m.process_item
        def slow(source, item, params):
            time.sleep(60)  # a worker busy with a long record when the ingest dies
            return real(source, item, params)
        """
    ))  # fmt: skip
    script = textwrap.dedent(
        f"""
        import slowmod, ecgmask.data.cache as m
        from ecgmask.data import WfdbSource, PreprocessParams, build_cache
        m.process_item = slowmod.slow
        build_cache(WfdbSource([{str(tree)!r}]), {str(tmp_path / 'c')!r},
                    PreprocessParams(fs=500, length=400, stride=400), workers=2, progress=False)
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 90
        while len(below := _descendants(proc.pid)) < 3:  # the fork server and two workers
            assert proc.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, f"workers did not start: {below}"
            time.sleep(0.1)
        time.sleep(1.0)  # the workers have their tasks
        below = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    deadline = time.monotonic() + 10
    while _alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _alive(below)
    for p in left:  # do not leave them behind for the next test
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} process(es) of the killed ingest still running"


def test_stale_temporary_folders_are_removed_when_their_owner_is_dead(tree, tmp_path):
    from ecgmask.data.corpora.synthetic import write_synthetic_tree

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    live = str(os.getpid())
    out = tmp_path / "c"
    for owner in (dead, live):
        (out / f".tmp-downstream-0123456789abcdef-{owner}").mkdir(parents=True)  # another cache's build
        (out / f".synthetic-x.tmp-{owner}-abc123").mkdir()  # a synthetic writer's
    ingest(tree, out)
    write_synthetic_tree(out / "synthetic-x", 1, seed=0, progress=False, workers=1)
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == sorted([f".synthetic-x.tmp-{live}-abc123", f".tmp-downstream-0123456789abcdef-{live}"])
