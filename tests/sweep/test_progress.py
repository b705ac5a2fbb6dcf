"""Trial names, the progress table, the stage lines and the log file, without Ray running."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

from sweep import progress
from sweep.progress import Console, StageLines, StageTable, trial_dirname, trial_name


class Trial(SimpleNamespace):
    def __str__(self):
        return trial_name(self.stage, self)

    def get_error(self):
        return "Traceback (most recent call last):\n  ...\nFloatingPointError: trial nan-s1: nt_xent is nan at epoch 1"


def trial(stage, trial_id, status="PENDING", result=None, **config):
    return Trial(stage=stage, trial_id=trial_id, status=status, config=config, last_result=result or {})


def test_trials_are_named_from_the_plan_and_their_folders_are_file_name_safe():
    pre = trial("pretrain", "a1", key="advmask_plus_3kg-s1", row="advmask+3kg", seed=1)
    probe = trial("probe", "b2", key="3kg-s10-arrhythmia-f0.01", row="3kg", task="arrhythmia", fraction=0.01, seed=10)
    tuned = trial("tune", "c3", key="search", row="advmask(tuned)")
    assert trial_name("pretrain", pre) == "pretrain/advmask+3kg/s1"
    assert trial_name("probe", probe) == "probe/3kg/arrhythmia/0.01/s10"
    assert trial_name("tune", tuned) == "tune/advmask(tuned)/c3"
    assert trial_dirname("pretrain", pre) == "advmask_plus_3kg-s1"
    assert trial_dirname("probe", probe) == "3kg-s10-arrhythmia-f0.01"
    assert trial_dirname("tune", tuned) == "c3"  # the samples of a search share one key
    odd = trial("probe", "d4", key="advmask(N=3)/x y", row="advmask(N=3)", task="sex", fraction=1.0, seed=1)
    assert "/" not in trial_dirname("probe", odd) and " " not in trial_dirname("probe", odd)


def test_the_table_shows_names_status_and_the_stage_metrics_only():
    trials = [
        trial("pretrain", "1", "TERMINATED", {"epoch": 3, "nt_xent": 4.1234567, "samples_per_s": 285.0, "lr": 1e-4}, row="gaussian", seed=1),
        trial("pretrain", "2", "RUNNING", {"epoch": 1, "nt_xent": 5.0}, row="advmask", seed=1),
        trial("pretrain", "3", "PENDING", row="3kg", seed=1),
    ]
    text = StageTable("pretrain").render(trials)
    lines = text.splitlines()
    assert lines[0].startswith("== pretrain: 1 pending, 1 running, 1 terminated")
    assert lines[1].split() == ["trial", "status", "epoch", "NT-Xent", "samples/s"]
    assert lines[2].split() == ["pretrain/advmask/s1", "RUNNING", "1", "5", "-"]
    assert lines[3].split() == ["pretrain/3kg/s1", "PENDING", "-", "-", "-"]
    assert lines[4].split() == ["pretrain/gaussian/s1", "TERMINATED", "3", "4.123", "285"]
    assert len(lines) == 5 and "lr" not in text  # no parameter columns
    short = StageTable("pretrain", max_rows=2).render(trials).splitlines()
    assert [line.split()[0] for line in short[2:]] == ["pretrain/advmask/s1", "pretrain/gaussian/s1", "..."]
    assert short[-1] == "  ... 1 more"


def test_stage_lines_count_done_running_failed_and_estimate_what_is_left(monkeypatch, capsys):
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    lines = StageLines("probe", total=4, every_s=10.0)
    lines.setup()
    trials = [trial("probe", str(i), "RUNNING", row="gaussian", task="sex", fraction=1.0, seed=i) for i in range(4)]
    trials[0].status = "TERMINATED"  # finished before a --resume
    lines.on_step_begin(0, trials)
    trials += [trial("probe", str(i), "PENDING", row="gaussian", task="sex", fraction=0.1, seed=i) for i in range(4, 8)]
    lines.total = 8
    clock[0] = 160.0
    trials[1].status = "TERMINATED"
    lines.on_trial_complete(1, trials, trials[1])  # the first end: no pace yet
    clock[0] = 165.0
    trials[2].status = "TERMINATED"
    lines.on_trial_complete(2, trials, trials[2])  # within every_s of the last line: no line
    clock[0] = 180.0
    trials[4].status = "TERMINATED"
    lines.on_trial_complete(3, trials, trials[4])
    clock[0] = 185.0
    trials[3].status = "ERROR"
    lines.on_trial_error(4, trials, trials[3])
    for t in trials[5:]:
        t.status = "TERMINATED"
        lines.on_trial_complete(5, trials, t)
    lines.on_experiment_end(trials)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "probe     2/8 done, 2 running, 0 failed | 1m00s elapsed",
        # trials ended at 160, 165 and 180 s: one every 10 s since the first, and 4 are left
        "probe     4/8 done, 1 running, 0 failed | 1m20s elapsed, ~0m40s left (estimate)",
        "probe     FAILED probe/gaussian/sex/1/s3: FloatingPointError: trial nan-s1: nt_xent is nan at epoch 1",
        "probe     4/8 done, 0 running, 1 failed | 1m25s elapsed, ~0m25s left (estimate)",
        "probe     7/8 done, 0 running, 1 failed | 1m25s elapsed",
    ]


def test_the_console_sends_the_rest_to_the_log_and_verbose_to_both(tmp_path, capsys):
    log = tmp_path / "sweep" / "sweep.log"
    class RayLikeHandler(logging.StreamHandler):  # Ray's handler is a StreamHandler subclass holding stderr
        pass

    ray_logger = logging.getLogger("ecgmask-test-console")
    handler = RayLikeHandler(sys.stderr)
    ray_logger.addHandler(handler)
    try:
        with Console(log):
            print("tune table row")
            ray_logger.warning("a ray warning")
            progress.say("probe  1/2 done")
        with Console(log, verbose=True):
            print("verbose row")
            progress.say("probe  2/2 done")
    finally:
        ray_logger.removeHandler(handler)
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["probe  1/2 done", "verbose row", "probe  2/2 done"]
    assert "a ray warning" not in captured.err
    text = log.read_text()
    for line in ("tune table row", "a ray warning", "probe  1/2 done", "verbose row", "probe  2/2 done"):
        assert text.count(line) == 1, line
    assert handler.stream is sys.stderr  # restored
