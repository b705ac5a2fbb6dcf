"""Table 1's notes on what the masks cover (analysis.table1.mask_notes)."""

import math

import pandas as pd

from analysis.table1 import mask_notes


def stats(row, seed, times, of_masked, qrs=0.17, detected=0.0):
    out = {"row": row, "seed": seed, "qrs_time": qrs, "qrs_detected": detected}
    for k, (t, q) in enumerate(zip(times, of_masked)):
        out.update({f"mask_{k}_raw": t, f"mask_{k}_time": t, f"mask_{k}_qrs_of_masked": q,
                    f"mask_{k}_qrs_covered": t})
    return out


def test_plain_words_mean_over_seeds():
    frame = pd.DataFrame([stats("advmask", 1, (0.90, 0.10), (0.16, 0.20)),
                          stats("advmask", 10, (0.94, 0.06), (0.18, 0.22))])
    lines = mask_notes(frame, rows=["advmask"])
    assert lines[1] == ("  - advmask (2 seeds): mask 1 covers 92% of time, 17% of it QRS; "
                        "mask 2 covers 8% of time, 21% of it QRS (QRS is 17% of time)")


def test_a_mask_without_time_and_a_detected_qrs_are_said():
    frame = pd.DataFrame([stats("advmask(sparsity_only)", 1, (1.0, 0.0), (0.17, math.nan), detected=1.0)])
    line = mask_notes(frame)[1]
    assert line.endswith("mask 2 covers 0% of time (QRS is 17% of time; QRS by " + line.split("QRS by ")[1]) and "QRS by XQRS" in line


def test_no_adversarial_trial_no_notes():
    assert mask_notes(pd.DataFrame()) == [] and mask_notes(None) == []
