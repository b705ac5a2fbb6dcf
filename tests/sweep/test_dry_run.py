"""--dry-run's plan printout and its wall-time estimate."""

from __future__ import annotations

import pytest

from ecgmask.profiles import SMOKE
from search_spaces import get_space
from sweep import dry_run
from sweep.estimate import StepTimes, estimate, measure


def _plan():
    return get_space("augmentations").plan("smoke", (1, 10)).select(rows=["scratch", "gaussian", "advmask+3kg"], tasks=["sex"], fractions=[1.0, 0.1])


def test_every_pretraining_trial_and_a_table_of_probe_counts():
    plan = _plan()
    lines = dry_run.pretraining_lines(plan)
    assert lines[0] == "pretraining trials (4):"
    assert lines[1].split() == ["gaussian-s1", "row", "gaussian", "augmentation", "gaussian", "seed", "1"]
    assert lines[4].split() == ["advmask_plus_3kg-s10", "row", "advmask+3kg", "augmentation", "advmask+3kg", "seed", "10"]
    table = dry_run.probe_table(plan)
    assert table[0].startswith("probe trials (12;")
    assert table[1].split() == ["row", "sex", "1", "sex", "0.1", "total"]
    assert table[2].split() == ["scratch", "2", "2", "4"]
    assert [line.split()[0] for line in table[2:]] == ["scratch", "gaussian", "advmask+3kg"]


def test_the_estimate_multiplies_measured_steps_by_the_plan_and_divides_by_concurrency():
    times = StepTimes("cpu", 1, simclr_step_s=0.1, adversarial_step_s=0.2, embed_s_per_sample=0.001,
                      end_to_end_s_per_sample=0.01, probe_batch=256)
    profile = SMOKE.with_overrides(epochs=2, batch_size=32, accumulation=1, max_steps_per_epoch=None,
                                   scratch_steps=10, scratch_eval_every=5)
    plan = _plan()
    one = estimate(plan, profile, times, at_once=1, n_pretrain=320, n_downstream=500)
    # pretraining: 10 steps an epoch x 2 epochs, 2 gaussian at 0.1 s + 2 advmask+3kg at 0.2 s
    assert one.pretrain_s == pytest.approx(2 * 20 * 0.1 + 2 * 20 * 0.2)
    # probes: each of the 4 encoders embeds 500 ECGs once; scratch: 10 steps of min(256, labelled)
    # samples (400 labelled at fraction 1, 40 at 0.1) plus 2 validations over 50 ECGs
    scratch = 2 * (10 * 256 * 0.01 + 2 * 50 * 0.001) + 2 * (10 * 40 * 0.01 + 2 * 50 * 0.001)
    assert one.probe_s == pytest.approx(4 * 500 * 0.001 + scratch)
    two = estimate(plan, profile, times, at_once=2, n_pretrain=320, n_downstream=500)
    assert two.total_s == pytest.approx(one.total_s / 2)


def test_steps_are_measured_here_in_seconds():
    times = measure(SMOKE, adversarial=True, threads=1)
    assert times.device == "cpu" and times.threads == 1
    for value in (times.simclr_step_s, times.adversarial_step_s, times.embed_s_per_sample, times.end_to_end_s_per_sample):
        assert 0 < value < 30


def test_the_printout_says_it_is_an_estimate():
    text = dry_run.render(_plan(), SMOKE, resources="1 CPU + no GPU", at_once=2, threads=1, n_pretrain=300, n_downstream=600)
    assert "resources per trial: 1 CPU + no GPU; 2 trials at once" in text
    assert "estimated wall time:" in text and "an estimate: steps measured here on cpu" in text
    search = dry_run.render(get_space("tune").plan("smoke", (1,)), SMOKE, resources="1 CPU", at_once=2, threads=1, n_pretrain=300, n_downstream=600)
    assert search.startswith("searched trials: 8 samples") and "estimated wall time:" in search
