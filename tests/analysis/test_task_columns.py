"""Table 1 shows every registry task found in the results: a multi-label task's columns show its
headline metric (AUC) whatever --metric says, and say so; arrhythmia and sex are unchanged."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from analysis import table1 as t1


def _trials(records):
    """records: (row, task, fraction, seed, test_accuracy, test_auc, status)."""
    base = {"sweep": "s", "mode": "linear", "augmentation": None, "tune_status": "TERMINATED",
            "test_balanced_accuracy": np.nan, "val_accuracy": np.nan, "val_auc": np.nan, "n_train": 10.0, "n_test": 5.0}
    rows = []
    for i, (row, task, fraction, seed, acc, auc, status) in enumerate(records):
        rows.append({**base, "trial_id": f"t{i}", "row": row, "task": task, "fraction": fraction, "seed": seed,
                     "status": status, "test_accuracy": acc, "test_auc": auc,
                     "error": None if status == "ok" else "ValueError: x"})
    return pd.DataFrame(rows)


ACC = {("advmask", 0): 0.80, ("advmask", 1): 0.82, ("scratch", 0): 0.70, ("scratch", 1): 0.74}
AUC = {("advmask", 0): 0.90, ("advmask", 1): 0.94, ("scratch", 0): 0.85, ("scratch", 1): 0.86}


def three_tasks():
    records = []
    for (row, seed), acc in ACC.items():
        auc = AUC[(row, seed)]
        records.append((row, "sex", 1.0, seed, acc, auc - 0.2, "ok"))
        records.append((row, "superdiagnostic", 1.0, seed, acc - 0.5, auc, "ok"))  # exact match is low
        records.append((row, "arrhythmia", 1.0, seed, acc - 0.1, auc - 0.1, "ok"))
    return _trials(records)


def test_a_multilabel_task_shows_its_auc_next_to_accuracy_columns():
    table = t1.build_table1(three_tasks(), metric="accuracy")
    assert [c.label for c in table.columns] == ["arrhythmia 100%", "sex 100%", "superdiagnostic (AUC) 100%"]
    adv = {c.task: table.cell("advmask", c)["mean"] for c in table.columns}
    assert adv["superdiagnostic"] == pytest.approx(100 * np.mean([0.90, 0.94]))  # AUC, not exact match
    assert adv["sex"] == pytest.approx(100 * np.mean([0.80, 0.82]))  # accuracy, as before
    assert adv["arrhythmia"] == pytest.approx(100 * np.mean([0.70, 0.72]))

    text = t1.format_markdown(table)
    assert "| row | arrhythmia 100% | sex 100% | superdiagnostic (AUC) 100% |" in text
    assert ("superdiagnostic (AUC) columns: the test AUC (macro one-vs-rest) in %, the task's headline metric "
            "(ecgmask/tasks.py; a multi-label task, so the AUC is the macro mean over its classes).") in text
    tex = t1.format_latex(table)
    assert r"\multicolumn{1}{c}{Superdiagnostic (AUC)}" in tex and r"\multicolumn{1}{c}{Arrhythmia}" in tex
    cells = pd.read_csv(io.StringIO(t1.format_csv(table)))
    assert dict(zip(cells["task"], cells["metric"])) == {
        "arrhythmia": "test_accuracy", "sex": "test_accuracy", "superdiagnostic": "test_auc"}


def test_paired_comparison_of_a_multilabel_task_is_in_auc_points():
    trials = three_tasks()
    table = t1.build_table1(trials)
    comp = t1.paired_comparison(trials, table)
    sup = comp[comp.task == "superdiagnostic"].iloc[0]
    assert sup.mean_diff == pytest.approx(100 * np.mean([0.90 - 0.85, 0.94 - 0.86]))
    sex = comp[comp.task == "sex"].iloc[0]
    assert sex.mean_diff == pytest.approx(100 * np.mean([0.80 - 0.70, 0.82 - 0.74]))
    assert "superdiagnostic (AUC) columns: the test AUC (macro one-vs-rest) instead." in t1.format_markdown(table, comp)


def test_with_metric_auc_every_column_is_auc_and_none_is_marked():
    table = t1.build_table1(three_tasks(), metric="auc")
    assert [c.label for c in table.columns] == ["arrhythmia 100%", "sex 100%", "superdiagnostic 100%"]
    assert table.cell("advmask", table.columns[1])["mean"] == pytest.approx(100 * np.mean([0.70, 0.74]))
    assert "headline metric" not in "\n".join(t1.table_notes(table))


def test_a_multilabel_trial_without_auc_is_a_failure_of_its_cell():
    trials = _trials([("advmask", "superdiagnostic", 1.0, 0, 0.3, 0.9, "ok"),
                      ("advmask", "superdiagnostic", 1.0, 1, 0.4, np.nan, "ok")])
    table = t1.build_table1(trials)
    assert table.cell("advmask", table.columns[0])["n"] == 1
    assert table.failures["error"].tolist() == ["reported no test_auc"]


def test_paper_values_leave_other_tasks_empty():
    table = t1.attach_paper(t1.build_table1(three_tasks()), t1.load_paper_table())
    sup = table.cell("advmask", t1.Column("superdiagnostic", 1.0))
    assert pd.isna(sup["paper_mean"]) and t1.paper_text(sup) == ""
    assert table.cell("advmask", t1.Column("sex", 1.0))["paper_mean"] > 0


def test_unknown_tasks_follow_the_registry_tasks_with_the_tables_metric():
    trials = _trials([("advmask", "zeta", 1.0, 0, 0.6, 0.7, "ok"), ("advmask", "superdiagnostic", 1.0, 0, 0.3, 0.9, "ok"),
                      ("advmask", "sex", 1.0, 0, 0.8, 0.9, "ok")])
    table = t1.build_table1(trials)
    assert [c.label for c in table.columns] == ["sex 100%", "superdiagnostic (AUC) 100%", "zeta 100%"]
    assert table.cell("advmask", table.columns[2])["mean"] == pytest.approx(60.0)
