"""Table 1 from a sweep stored by the real pipeline (tests/analysis/conftest.py), and the pure
table functions on hand-made frames."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from analysis import make_table1
from analysis import table1 as t1
from analysis.results import first_error_line, load_probe_results

SLOW = pytest.mark.slow


def _independent_cells(sweep_path, metric_col="test_accuracy"):
    """Mean/std per cell straight from ExperimentAnalysis.dataframe() and the trial statuses."""
    from ray.tune import ExperimentAnalysis

    ea = ExperimentAnalysis(str(sweep_path / "probe"))
    df = ea.dataframe()
    errored = {t.trial_id for t in ea.trials if t.status == "ERROR"}
    df = df[~df["trial_id"].isin(errored)]
    g = df.groupby(["config/row", "config/task", "config/fraction"])[metric_col]
    return pd.DataFrame({"mean": 100 * g.mean(), "std": 100 * g.std(ddof=1), "n": g.size()})


@SLOW
@pytest.mark.parametrize("metric,col", [("accuracy", "test_accuracy"), ("auc", "test_auc")])
def test_cells_match_the_dataframe_they_came_from(stored_sweep, metric, col):
    trials = load_probe_results(stored_sweep.path)
    table = t1.build_table1(trials, metric=metric)
    expected = _independent_cells(stored_sweep.path, col)
    assert table.rows == ["scratch", "peakmask", "advmask"]
    assert [c.label for c in table.columns] == ["arrhythmia 100%", "arrhythmia 10%", "sex 100%", "sex 10%"]
    assert len(table.cells) == len(expected) == 12
    for cell in table.cells.itertuples():
        want = expected.loc[(cell.row, cell.task, cell.fraction)]
        assert cell.n == want["n"]
        assert cell.mean == pytest.approx(want["mean"], abs=1e-9)
        assert cell.std == pytest.approx(want["std"], abs=1e-9)
    # the printed table shows those numbers
    text = t1.format_markdown(table)
    cell = table.cell("advmask", t1.Column("arrhythmia", 1.0))
    assert f"{cell['mean']:.1f} ± {cell['std']:.1f}".replace("-", "−") in text


@SLOW
def test_failed_trial_and_missing_seed_show_as_n2_and_are_named(stored_sweep):
    text = make_table1.render_table1(str(stored_sweep.path))
    main_table = text.split("**Paired comparison")[0]
    lines = {ln.split("|")[1].strip(): ln for ln in main_table.splitlines() if ln.startswith("| ") and "---" not in ln}
    adv = [c.strip() for c in lines["advmask"].split("|")[2:-1]]
    peak = [c.strip() for c in lines["peakmask"].split("|")[2:-1]]
    assert adv[3].endswith("(n=2)") or adv[3].endswith("(n=2)**")  # sex 10%: seed 2 failed
    assert peak[0].rstrip("*").endswith("(n=2)")  # arrhythmia 100%: seed 1 never planned
    assert sum("(n=2)" in c for c in adv + peak) == 2
    assert "1 failed trial, not averaged in:" in text
    assert "advmask / sex 10% / seed 2: RuntimeError: stand-in probe failed on purpose" in text
    assert "peakmask / arrhythmia 100%: seed 1" in text
    # the failed trial's number is not in the mean: recompute from the two good seeds
    trials = load_probe_results(stored_sweep.path)
    good = trials[(trials.row == "advmask") & (trials.task == "sex") & (trials.fraction == 0.1) & (trials.status == "ok")]
    assert sorted(good.seed) == [0, 1]
    table = t1.build_table1(trials)
    assert table.cell("advmask", t1.Column("sex", 0.1))["mean"] == pytest.approx(100 * good.test_accuracy.mean())


@SLOW
def test_columns_without_results_are_dashes_counted_in_the_note(stored_sweep):
    text = make_table1.render_table1(stored_sweep.path, fractions=[1.0, 0.1, 0.01])
    assert "| row | arrhythmia 100% | arrhythmia 10% | arrhythmia 1% | sex 100% | sex 10% | sex 1% |" in text
    for row in ("scratch", "peakmask", "advmask"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {row} |"))
        cells = [c.strip() for c in line.split("|")[2:-1]]
        assert cells[2] == "—" and cells[5] == "—"
        assert all(c != "—" for i, c in enumerate(cells) if i not in (2, 5))
    assert "6 cells without any result (—)" in text


@SLOW
def test_cli_writes_markdown_latex_csv_with_paper_values(stored_sweep, tmp_path, capsys):
    out = tmp_path / "t1"
    assert make_table1.main(["--sweep", str(stored_sweep.path), "--paper", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    for name in ("table1.md", "table1.tex", "table1.csv", "table1_paired.csv"):
        assert (out / name).stat().st_size > 0
    assert (out / "table1.md").read_text() == stdout
    tex = (out / "table1.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\textbf{", r"\multicolumn{2}{c}{Arrhythmia}"):
        assert rule in tex
    assert tex.count(r"\begin{tabular}") == 2  # Table 1 and the paired comparison
    cells = pd.read_csv(out / "table1.csv")
    paper = pd.read_csv(t1.PAPER_TABLE)
    for c in cells.itertuples():
        ref = paper[(paper.augmentation == c.row) & (paper.task == c.task) & np.isclose(paper.fraction, c.fraction)]
        assert len(ref) == 1
        assert c.paper_mean == ref["mean"].iloc[0] and c.paper_std == ref["std"].iloc[0]
        assert c.diff == pytest.approx(c.mean - c.paper_mean)
    adv = cells[(cells.row == "advmask") & (cells.task == "arrhythmia") & (cells.fraction == 1.0)].iloc[0]
    assert adv.paper_mean == 85.14
    assert f"[paper 85.14 ± 0.51; Δ {adv['diff']:+.1f}]".replace("-", "−") in stdout
    # the shipped copy is the paper's table
    assert paper.shape == (72, 5) and set(paper.augmentation) >= {"advmask", "advmask+3kg", "3kg"}


@SLOW
def test_default_is_the_latest_sweep_under_results(stored_sweep, monkeypatch, capsys):
    monkeypatch.chdir(stored_sweep.path.parent.parent)  # holds results/tiny
    assert make_table1.main([]) == 0
    assert "| advmask |" in capsys.readouterr().out


@SLOW
def test_a_sweep_given_twice_is_not_counted_twice(stored_sweep):
    once = make_table1.build([stored_sweep.path])[1]
    twice = make_table1.build([stored_sweep.path, stored_sweep.path / "probe"])[1]
    pd.testing.assert_frame_equal(once.cells, twice.cells)
    assert twice.notes and "used" in twice.notes[0]


@SLOW
def test_paired_comparison_on_the_sweep_pairs_by_seed(stored_sweep):
    trials = load_probe_results(stored_sweep.path)
    table = t1.build_table1(trials)
    comp = t1.paired_comparison(trials, table)
    assert set(comp.row) == {"scratch", "peakmask"}
    c = comp[(comp.row == "peakmask") & (comp.task == "sex") & (comp.fraction == 0.1)].iloc[0]
    assert c.seeds == (0, 1) and c.n == 2  # advmask seed 2 failed
    ok = trials[trials.status == "ok"].set_index(["row", "task", "fraction", "seed"])["test_accuracy"]
    diffs = [100 * (ok[("advmask", "sex", 0.1, s)] - ok[("peakmask", "sex", 0.1, s)]) for s in (0, 1)]
    assert c.mean_diff == pytest.approx(np.mean(diffs))
    text = make_table1.render_table1(stored_sweep.path)
    assert "Paired comparison, advmask minus row." in text and "paired t distribution (scipy.stats.t" in text


def test_cli_refuses_paper_with_another_metric(capsys):
    assert make_table1.main(["--paper", "--metric", "auc", "--sweep", "/nonexistent"]) == 2
    assert "--paper needs --metric accuracy" in capsys.readouterr().err


def test_a_path_that_is_not_a_sweep_is_named(tmp_path, capsys):
    assert make_table1.main(["--sweep", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "not a sweep" in err


# ---------------------------------------------------------------- pure functions on hand-made frames


def _frame(records):
    base = {"sweep": "s", "mode": "linear", "augmentation": None, "tune_status": "TERMINATED", "error": None,
            "test_balanced_accuracy": np.nan, "test_auc": np.nan, "val_accuracy": np.nan, "n_train": 10.0, "n_test": 5.0}
    rows = []
    for i, (row, task, fraction, seed, acc, status) in enumerate(records):
        rows.append({**base, "trial_id": f"t{i}", "row": row, "task": task, "fraction": fraction, "seed": seed,
                     "status": status, "test_accuracy": acc, "error": None if status == "ok" else "ValueError: x"})
    return pd.DataFrame(rows)


def test_paired_t_interval_matches_a_hand_computation():
    # advmask - scratch per seed: 1, 2, 3, 6 points (seed order shuffled; seed 9 has no pair)
    adv = {0: 0.60, 1: 0.62, 2: 0.64, 3: 0.70, 9: 0.99}
    scr = {3: 0.64, 0: 0.59, 2: 0.61, 1: 0.60}
    trials = _frame([("advmask", "sex", 1.0, s, v, "ok") for s, v in adv.items()]
                    + [("scratch", "sex", 1.0, s, v, "ok") for s, v in scr.items()])
    table = t1.build_table1(trials)
    c = t1.paired_comparison(trials, table).iloc[0]
    # by hand: d = 1, 2, 3, 6; mean 3; sd = sqrt(14/3); t_{0.975, 3} = 3.182446305
    half = 3.182446305284263 * math.sqrt(14 / 3) / 2
    assert c.n == 4 and c.seeds == (0, 1, 2, 3)
    assert c.mean_diff == pytest.approx(3.0)
    assert (c.ci_low, c.ci_high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert t1.comparison_text(c) == "+3.0 [−0.4, +6.4] (n=4)"  # the interval includes 0: no star


def test_best_is_bold_and_ties_at_display_precision_share_it():
    trials = _frame([("scratch", "sex", 1.0, 0, 0.7001, "ok"), ("advmask", "sex", 1.0, 0, 0.7004, "ok"),
                     ("random", "sex", 1.0, 0, 0.5, "ok")])
    table = t1.build_table1(trials)
    best = table.cells.set_index("row")["best"]
    assert best["scratch"] and best["advmask"] and not best["random"]
    assert "| random | 50.0 |" in t1.format_markdown(table)


def test_rows_follow_the_paper_then_random_then_others():
    assert t1.order_rows(["zeta", "random", "advmask(N=3)", "advmask", "scratch", "3kg", "gaussian"]) == [
        "scratch", "gaussian", "advmask", "3kg", "random", "advmask(N=3)", "zeta"]


def test_unfinished_and_failed_trials_are_never_averaged():
    trials = _frame([("advmask", "sex", 1.0, 0, 0.8, "ok"), ("advmask", "sex", 1.0, 1, 0.1, "failed"),
                     ("advmask", "sex", 1.0, 2, 0.2, "unfinished")])
    table = t1.build_table1(trials)
    cell = table.cell("advmask", t1.Column("sex", 1.0))
    assert cell["n"] == 1 and cell["mean"] == pytest.approx(80.0)
    notes = "\n".join(t1.table_notes(table))
    assert "1 failed trial" in notes and "1 unfinished trial" in notes
    assert t1.cell_text(cell) == "80.0 (n=1)"


def test_csv_is_tidy_and_unrounded():
    trials = _frame([("advmask", "sex", 1.0, s, v, "ok") for s, v in enumerate((0.61234, 0.7, 0.8))])
    table = t1.build_table1(trials)
    cells = pd.read_csv(io.StringIO(t1.format_csv(table)))
    assert list(cells.columns[:4]) == ["row", "task", "fraction", "metric"]
    assert cells["mean"].iloc[0] == pytest.approx(100 * np.mean([0.61234, 0.7, 0.8]))
    assert cells["seeds"].iloc[0] == "0 1 2"


def test_first_error_line_of_a_traceback_text():
    text = ("Failure # 1 (occurred at 2026)\nTraceback (most recent call last):\n  File \"x.py\", line 3, in f\n"
            "    raise RuntimeError('CUDA out of memory')\nRuntimeError: CUDA out of memory\nsecond line of it\n")
    assert first_error_line(text) == "RuntimeError: CUDA out of memory"
    assert first_error_line(ValueError("bad\nmore")) == "ValueError: bad"


@SLOW
def test_the_table_ends_with_the_commit_and_versions_of_each_sweep(stored_sweep, tmp_path):
    import json
    import shutil

    from sweep.store import provenance

    # the stored sweep ran through run_sweep without the CLI's record: it says so
    text = make_table1.render_table1([str(stored_sweep.path)])
    assert text.rstrip().endswith(f"- {stored_sweep.path.name}: provenance: not recorded (a sweep written before provenance was kept)")
    # a copy whose plan.json has the CLI's record prints it, also when given its probe experiment
    copy = tmp_path / "recorded"
    shutil.copytree(stored_sweep.path, copy)
    plan = json.loads((copy / "plan.json").read_text())
    record = provenance.sweep_provenance(["sweep/run.py", "--space", "augmentations"])
    (copy / "plan.json").write_text(json.dumps({**plan, provenance.KEY: record}))
    for given in (copy, copy / "probe"):
        footer = make_table1.render_table1([str(given)]).rstrip().splitlines()
        assert footer[-2] == "Provenance (plan.json):"
        assert footer[-1] == f"- recorded: {provenance.footer(record)}"
        assert record["git_commit"][:12] in footer[-1] and f"torch {record['torch']}" in footer[-1] and f"ray {record['ray']}" in footer[-1]


# ---------------------------------------------------------------- multiplicity and what the cells condition on


def test_holm_adjusts_over_the_finite_p_values_only():
    # by hand, m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.06, 0.06 (kept non-decreasing), 0.5
    got = t1.holm_adjust([0.03, np.nan, 0.01, 0.5, 0.02])
    assert np.isnan(got[1])
    assert got[[2, 4, 0, 3]] == pytest.approx([0.04, 0.06, 0.06, 0.5])
    assert t1.holm_adjust([0.9, 0.8])[0] == 1.0  # capped at 1
    assert np.isnan(t1.holm_adjust([np.nan])).all()


def test_paired_t_test_is_scipys_with_a_p_value():
    from scipy import stats

    d = [1.0, 2.0, 3.0, 6.0]
    mean, low, high, p = t1.paired_t_test(d)
    ref = stats.ttest_1samp(d, 0.0)
    assert p == pytest.approx(ref.pvalue) and (low, high) == pytest.approx(tuple(ref.confidence_interval(0.95)))
    assert t1.paired_t_test([2.0, 2.0]) == (2.0, 2.0, 2.0, 0.0)  # no spread: a zero-width interval
    assert t1.paired_t_test([0.0, 0.0])[3] == 1.0
    assert np.isnan(t1.paired_t_test([1.0])[3])


def _many_comparisons(n_rows=12, seeds=3):
    """advmask against n_rows rows: only `gaussian` differs clearly; the others by noise."""
    rng = np.random.default_rng(0)
    records = [("advmask", "sex", 1.0, s, 0.8 + 0.001 * s, "ok") for s in range(seeds)]
    for r in range(n_rows):
        name = "gaussian" if r == 0 else f"row{r}"
        for s in range(seeds):
            value = 0.5 + 0.001 * s if r == 0 else 0.8 + 0.001 * s + rng.normal(0, 0.01)
            records.append((name, "sex", 1.0, s, value, "ok"))
    return _frame(records)


def test_stars_are_holm_adjusted_and_the_caption_names_the_family():
    trials = _many_comparisons()
    table = t1.build_table1(trials)
    comp = t1.paired_comparison(trials, table)
    assert t1.family_size(comp) == 12
    assert list(comp["p_holm"]) == pytest.approx(list(t1.holm_adjust(comp["p_value"])))
    starred = [r.row for r in comp.itertuples() if t1.comparison_text(r).split(" (n=")[0].endswith("*")]
    assert starred == ["gaussian"]
    # a noise row whose unadjusted interval may exclude 0 is not starred unless Holm keeps it
    for r in comp.itertuples():
        assert t1.comparison_text(r).split(" (n=")[0].endswith("*") == (r.p_holm < 0.05)
    text = t1.format_markdown(table, comp)
    assert "Holm-adjusted p < 0.05" in text and "family of all 12 comparisons" in text
    assert "1 pass" in text
    assert "family of all 12 comparisons" in t1.format_latex(table, comp)


def test_condition_notes_say_what_the_spread_holds_fixed_and_how_long_things_ran():
    trials = _frame([(row, "sex", f, s, 0.7, "ok") for row in ("advmask", "scratch") for f in (1.0, 0.01)
                     for s in (1, 2)])
    trials["mode"] = np.where(trials["row"] == "scratch", "scratch", "linear")
    trials["steps_run"] = [40, 60, 200, 300, 100, 120, 80, 90]
    pretrain = pd.DataFrame({"row": ["advmask", "advmask"], "seed": [1, 2], "epochs_run": [12.0, 30.0],
                             "status": ["TERMINATED", "TERMINATED"]})
    settings = {"epochs": [30], "patience": [5], "probe_steps": [1000], "probe_eval_every": [10],
                "probe_patience": [10], "scratch_steps": [200], "scratch_eval_every": [20], "scratch_patience": [3],
                "split_seed_per_seed": [False]}
    table = t1.build_table1(trials)
    table.conditions = t1.condition_notes(trials, table.rows, settings, pretrain)
    notes = "\n".join(t1.table_notes(table))
    assert "one labelled subset per fraction shared by every seed" in notes and "sex 5 windows" in notes
    assert "patience 5, at most 30" in notes and "advmask 12–30" in notes and "no finished pretraining: scratch" in notes
    assert "linear head (budget 1000 steps, 10 between validations, 10 validations' patience): 100% 50 [40–60], 1% 250 [200–300]" in notes
    assert "end to end (budget 200 steps" in notes and "100% 110 [100–120], 1% 85 [80–90]" in notes
    on = t1.spread_note(trials, {**settings, "split_seed_per_seed": [True]})
    assert "each seed draws its own labelled subset" in on
    assert "differ in profile.split_seed_per_seed" in t1.spread_note(trials, {"split_seed_per_seed": [False, True]})
    # a sweep without its settings or pretraining record still says what it can
    bare = t1.condition_notes(trials, table.rows, {}, None)
    assert bare[0].startswith("± over seeds: one patient split") and "no finished pretraining trial in the sweep" in bare[1]


@SLOW
def test_the_stored_sweeps_notes_give_the_epochs_run(stored_sweep):
    from analysis.results import load_pretrain_epochs

    pretrain = load_pretrain_epochs(stored_sweep.path)
    assert set(pretrain["row"]) == {"peakmask", "advmask"} and (pretrain["epochs_run"] == 2).all()
    text = make_table1.render_table1(str(stored_sweep.path))
    assert "Pretraining epochs run (early stopping on the training NT-Xent; min–max over seeds): peakmask 2, advmask 2" in text
    assert "no finished pretraining: scratch" in text
    assert "± over seeds: one patient split" in text and "family of all" in text
