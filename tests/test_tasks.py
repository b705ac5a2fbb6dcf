"""The task registry: entries, labels of single- and multi-label tasks, unlabelled rows, and every
task list of the project reading it (a new task is one entry)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ecgmask import tasks
from ecgmask.tasks import PAPER_TASKS, TASKS, Task, get_task, labelled_rows, task_labels


def test_registry_entries():
    assert list(TASKS) == ["arrhythmia", "sex", "superdiagnostic"]
    assert PAPER_TASKS == ("arrhythmia", "sex")
    arrhythmia, sex, superdiagnostic = TASKS.values()
    assert (arrhythmia.column, arrhythmia.classes, arrhythmia.multilabel, arrhythmia.metric) == (
        "rhythm", ("AFIB", "GSVT", "SB", "SR"), False, "test_accuracy")
    assert (sex.column, sex.classes, sex.multilabel, sex.metric) == ("sex", ("F", "M"), False, "test_accuracy")
    assert (superdiagnostic.column, superdiagnostic.classes, superdiagnostic.multilabel, superdiagnostic.metric) == (
        "superclass", ("NORM", "MI", "STTC", "CD", "HYP"), True, "test_auc")
    assert all(name == task.name for name, task in TASKS.items())
    with pytest.raises(dataclasses.FrozenInstanceError):
        arrhythmia.column = "dx"


def test_classes_are_the_values_the_data_layer_writes():
    from ecgmask.data.labels import RHYTHM_CLASSES, SEX_CLASSES
    from ecgmask.data.ptbxl import SUPERCLASSES

    assert get_task("arrhythmia").classes == RHYTHM_CLASSES
    assert get_task("sex").classes == SEX_CLASSES
    assert get_task("superdiagnostic").classes == SUPERCLASSES


def test_get_task_names_the_valid_tasks():
    assert get_task("sex") is TASKS["sex"]
    assert get_task(TASKS["sex"]) is TASKS["sex"]
    with pytest.raises(ValueError, match=r"unknown task 'age'; choose one of \['arrhythmia', 'sex', 'superdiagnostic'\]"):
        get_task("age")


def test_single_label_task_labels():
    records = pd.DataFrame({"rhythm": ["SR", "AFIB", "SB", "GSVT"], "sex": ["M", "F", "F", "M"]})
    y, classes = task_labels(records, "arrhythmia")
    assert classes == ["AFIB", "GSVT", "SB", "SR"] and y.tolist() == [3, 0, 2, 1] and y.dtype == np.int64
    y, classes = task_labels(records, "sex")
    assert classes == ["F", "M"] and y.tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="unknown task"):
        task_labels(records, "age")
    with pytest.raises(ValueError, match="1 of 2 rows have no rhythm label"):
        task_labels(pd.DataFrame({"rhythm": ["SR", None], "sex": ["M", "F"]}), "arrhythmia")
    with pytest.raises(ValueError, match=r"value\(s\) \['AFL'\] are not among"):
        task_labels(pd.DataFrame({"rhythm": ["SR", "AFL"]}), "arrhythmia")


def test_multilabel_task_labels_are_multi_hot():
    records = pd.DataFrame({"superclass": ["NORM", "MI,STTC", "CD, HYP,MI", "HYP"]})
    y, classes = task_labels(records, "superdiagnostic")
    assert classes == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert y.dtype == np.float32 and y.shape == (4, 5)
    np.testing.assert_array_equal(y, [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 0, 1, 1], [0, 0, 0, 0, 1]])
    with pytest.raises(ValueError, match=r"class\(es\) \['AMI'\] are not among"):
        task_labels(pd.DataFrame({"superclass": ["NORM,AMI"]}), "superdiagnostic")


def test_rows_without_a_label_are_not_labelled():
    records = pd.DataFrame({
        "rhythm": ["SR", None, "SB", None, "AFIB"],
        "sex": ["M", "F", None, "F", "M"],
        "superclass": ["NORM", "", None, "MI,CD", float("nan")],
    })
    assert labelled_rows(records, "arrhythmia").tolist() == [True, False, True, False, True]
    assert labelled_rows(records, "sex").tolist() == [True, True, False, True, True]
    # PTB-XL records without a diagnostic superclass ('') are left out, like a missing value
    assert labelled_rows(records, "superdiagnostic").tolist() == [True, False, False, True, False]
    with pytest.raises(ValueError, match="3 of 5 rows have no superclass label for task 'superdiagnostic'"):
        task_labels(records, "superdiagnostic")
    y, _ = task_labels(records[labelled_rows(records, "superdiagnostic")], "superdiagnostic")
    assert y.tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 1, 0]]


def test_a_cache_without_the_column_has_no_labelled_row():
    chapman = pd.DataFrame({"rhythm": ["SR", "SB"], "sex": ["M", "F"]})  # no superclass column
    assert not labelled_rows(chapman, "superdiagnostic").any()
    with pytest.raises(ValueError, match="no 'superclass' column"):
        task_labels(chapman, "superdiagnostic")


def test_every_task_list_reads_the_registry(monkeypatch):
    """Adding a task is one registry entry: the probe config, the transfer CLI, the search
    spaces' --tasks and the analysis all see it."""
    from analysis import table1 as t1
    from ecgmask.transfer.__main__ import parse_args
    from ecgmask.transfer.config import ProbeConfig
    from search_spaces.plan import Row, grid_plan

    age = Task("age_group", column="age_group", classes=("young", "old"), description="test task")
    monkeypatch.setitem(TASKS, "age_group", age)
    assert tasks.names()[-1] == "age_group"
    ProbeConfig(task="age_group", fraction=1.0, seed=0, mode="linear", steps=1, patience=1)
    assert parse_args(["--cache", "c", "--task", "age_group"]).task == "age_group"
    plan = grid_plan(space="t", profile="laptop", rows=[Row("scratch", mode="scratch")], seeds=(1,), fractions=(1.0,))
    assert {t["task"] for t in plan.probe} == set(PAPER_TASKS)
    assert {t["task"] for t in plan.select(tasks=["age_group"]).probe} == {"age_group"}
    frame = pd.DataFrame({"task": ["age_group", "sex"], "fraction": [1.0, 1.0]})
    assert [c.task for c in t1.order_columns(frame)] == ["sex", "age_group"]
    with pytest.raises(ValueError, match="unknown task"):
        ProbeConfig(task="weight", fraction=1.0, seed=0, mode="linear", steps=1, patience=1)


def test_sweep_tasks_accept_any_registry_task():
    """`sweep/run.py --tasks superdiagnostic` probes the grid's encoders on that task."""
    import search_spaces

    plan = search_spaces.get_space("augmentations").plan("laptop", seeds=(1,))
    small = plan.select(rows=["scratch", "advmask"], tasks=["superdiagnostic"], fractions=[0.1])
    assert [(t["row"], t["task"], t["fraction"]) for t in small.probe] == [
        ("scratch", "superdiagnostic", 0.1), ("advmask", "superdiagnostic", 0.1)]
    assert [t["key"] for t in small.probe] == ["scratch-s1-superdiagnostic-f0.1", "advmask-s1-superdiagnostic-f0.1"]
    assert small.probe[1]["pretrain_key"] == "advmask-s1" and [t["key"] for t in small.pretrain] == ["advmask-s1"]
    both = plan.select(tasks=["sex", "superdiagnostic"])
    assert len(both.probe) == len(plan.probe)  # two tasks of the plan's two-task size
    assert {t["task"] for t in both.probe} == {"sex", "superdiagnostic"}
    assert len({t["key"] for t in both.probe}) == len(both.probe)
    with pytest.raises(ValueError, match=r"unknown task 'age'; choose one of \['arrhythmia', 'sex', 'superdiagnostic'\]"):
        plan.select(tasks=["age"])
