"""Dataset-size curves from the stored sweep of tests/analysis/conftest.py."""

from __future__ import annotations

import pytest

from analysis import make_curves
from analysis import table1 as t1
from analysis.results import load_probe_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_curves_png_and_svg_from_the_sweep(stored_sweep, tmp_path, capsys):
    out = tmp_path / "fig"
    assert make_curves.main(["--sweep", str(stored_sweep.path), "--out", str(out)]) == 0
    png, svg = out / "curves.png", out / "curves.svg"
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000
    text = svg.read_text()
    assert "<svg" in text
    for label in ("arrhythmia", "sex", "advmask", "peakmask", "scratch", "10%", "100%"):
        assert label in text
    assert str(png) in capsys.readouterr().out


@pytest.mark.slow
def test_curve_points_are_the_table_cells(stored_sweep):
    trials = load_probe_results(stored_sweep.path)
    points = make_curves.curve_points(trials).set_index(["row", "task", "fraction"])
    table = t1.build_table1(trials)
    # default rows that are in the sweep (3kg and advmask+3kg are not)
    assert set(points.index.get_level_values("row")) == {"scratch", "peakmask", "advmask"}
    for cell in table.cells.itertuples():
        p = points.loc[(cell.row, cell.task, cell.fraction)]
        assert p["mean"] == pytest.approx(cell.mean) and p["n"] == cell.n
        assert p["std"] == pytest.approx(cell.std, nan_ok=True)
    # the x labels' number of ECGs is the probes' n_train
    ok = trials[trials.status == "ok"]
    assert points.loc[("advmask", "sex", 0.1), "n_train"] == ok[(ok.task == "sex") & (ok.fraction == 0.1)].n_train.median()


def test_no_result_for_the_rows_is_a_clear_error(tmp_path):
    import pandas as pd

    with pytest.raises(ValueError, match="nothing to plot"):
        make_curves.plot_curves(pd.DataFrame(columns=["row", "task", "fraction", "mean", "std", "n", "n_train"]), tmp_path)


def test_a_multilabel_task_is_drawn_with_its_headline_metric():
    """superdiagnostic's panel shows its macro AUC (as its Table-1 columns do), the others accuracy."""
    import pandas as pd

    rows = []
    for seed in (0, 1):
        for task, acc, auc in (("sex", 0.6, 0.7), ("superdiagnostic", 0.2, 0.9)):
            rows.append({"row": "3kg", "task": task, "fraction": 1.0, "seed": seed, "status": "ok", "tune_status": "TERMINATED",
                         "test_accuracy": acc, "test_balanced_accuracy": acc, "test_auc": auc, "n_train": 100,
                         "sweep": "s", "trial_id": f"{task}{seed}", "mode": "linear", "augmentation": "3kg", "error": None})
    points = make_curves.curve_points(pd.DataFrame(rows), rows=("3kg",)).set_index("task")["mean"]
    assert points["sex"] == pytest.approx(60.0) and points["superdiagnostic"] == pytest.approx(90.0)
