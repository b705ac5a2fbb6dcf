"""The atomic tree writer shared by the synthetic and DeepFake corpora."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecgmask.data.corpora import tree_writer


def _fill_with(names):
    def fill(tmp):
        for name, group in zip(names, tree_writer.record_groups(len(names))):
            (tmp / group / f"{name}.hea").write_text(name)

    return fill


def test_tree_is_written_with_groups_records_and_manifest_last(tmp_path):
    names = [f"R{i}" for i in range(3)]
    out = tree_writer.write_tree(tmp_path / "t", manifest="m.json", expected={"n": 3}, names=names,
                                 groups=tree_writer.record_groups(3), fill=_fill_with(names))
    assert (out / "g1" / "RECORDS").read_text().split() == names
    assert tree_writer.tree_is_complete(out, "m.json", {"n": 3})
    assert not tree_writer.tree_is_complete(out, "m.json", {"n": 4})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]  # no temporary left


def test_a_complete_tree_is_reused_and_another_manifest_replaces_it(tmp_path):
    calls = []

    def fill(tmp):
        calls.append(tmp)

    args = dict(manifest="m.json", names=["A"], groups=["g1"], fill=fill)
    tree_writer.write_tree(tmp_path / "t", expected={"v": 1}, **args)
    tree_writer.write_tree(tmp_path / "t", expected={"v": 1}, **args)
    assert len(calls) == 1
    tree_writer.write_tree(tmp_path / "t", expected={"v": 2}, **args)
    assert len(calls) == 2 and tree_writer.tree_is_complete(tmp_path / "t", "m.json", {"v": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_a_failing_fill_leaves_nothing(tmp_path):
    def fill(tmp):
        (tmp / "g1" / "half.hea").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        tree_writer.write_tree(tmp_path / "t", manifest="m.json", expected={}, names=["A"], groups=["g1"], fill=fill)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writers_folder_is_removed_only_when_its_owner_is_dead(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".t.tmp-{dead_pid}-abc"
    live = tmp_path / f".t.tmp-{__import__('os').getpid()}-def"
    stale.mkdir()
    live.mkdir()
    tree_writer.write_tree(tmp_path / "t", manifest="m.json", expected={}, names=["A"], groups=["g1"],
                           fill=lambda tmp: None)
    assert not stale.exists() and live.exists()
