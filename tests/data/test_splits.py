import numpy as np
import pandas as pd
import pytest

from ecgmask.data import fraction_indices, split_indices


def records(n_patients=200, seed=0):
    rng = np.random.default_rng(seed)
    windows = rng.integers(1, 4, size=n_patients)  # several windows for some patients
    pids = np.repeat([f"P{i:04d}" for i in range(n_patients)], windows)
    return pd.DataFrame({"patient_id": pids, "window": np.concatenate([np.arange(w) for w in windows])})


def patients(recs, idx):
    return set(recs.patient_id.iloc[idx])


def test_split_by_patient_80_10_10_and_covers_all_rows():
    recs = records()
    s = split_indices(recs, seed=3)
    assert sorted(np.concatenate(list(s.values()))) == list(range(len(recs)))
    p = {k: patients(recs, v) for k, v in s.items()}
    assert not (p["train"] & p["val"]) and not (p["train"] & p["test"]) and not (p["val"] & p["test"])
    assert (len(p["train"]), len(p["val"]), len(p["test"])) == (160, 20, 20)


def test_split_is_seeded():
    recs = records()
    a, b, c = split_indices(recs, 0), split_indices(recs, 0), split_indices(recs, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])


def test_split_ignores_row_order():
    recs = records()
    shuffled = recs.sample(frac=1.0, random_state=0).reset_index(drop=True)
    a = patients(recs, split_indices(recs, 0)["test"])
    b = patients(shuffled, split_indices(shuffled, 0)["test"])
    assert a == b


def test_fractions_are_nested_prefixes_and_test_is_fixed():
    recs = records(500)
    s = split_indices(recs, seed=0)
    train_patients = patients(recs, s["train"])
    prev = None
    for fraction in (0.01, 0.1, 0.5, 1.0):
        idx = fraction_indices(recs, s["train"], fraction, seed=7)
        p = patients(recs, idx)
        assert p <= train_patients and len(p) == round(fraction * len(train_patients))
        # every window of a chosen patient comes along
        assert set(idx) == set(s["train"][np.isin(recs.patient_id.iloc[s["train"]], list(p))])
        if prev is not None:
            assert prev <= p
        prev = p
    assert prev == train_patients
    # the test set depends on the split seed only, not on the fraction or its seed
    for fseed in (0, 1, 2):
        fraction_indices(recs, s["train"], 0.1, seed=fseed)
        assert np.array_equal(split_indices(recs, seed=0)["test"], s["test"])
    assert patients(recs, fraction_indices(recs, s["train"], 0.1, seed=1)) != patients(
        recs, fraction_indices(recs, s["train"], 0.1, seed=2)
    )


def test_fraction_at_least_one_patient_and_validation():
    recs = records(20)
    s = split_indices(recs, seed=0)
    assert len(patients(recs, fraction_indices(recs, s["train"], 0.001, seed=0))) == 1
    with pytest.raises(ValueError, match="fraction"):
        fraction_indices(recs, s["train"], 0.0)
    with pytest.raises(ValueError, match="fraction"):
        fraction_indices(recs, s["train"], 1.5)


def test_tiny_sets_still_have_val_and_test():
    recs = records(5)
    s = split_indices(recs, seed=0)
    assert all(len(patients(recs, s[k])) >= 1 for k in ("train", "val", "test"))


# ------------------------------------------------------------------ a dataset's own folds


def fold_records(n_patients=100, seed=0):
    """PTB-XL-like: each patient in one fold, several records (and windows) a patient."""
    recs = records(n_patients, seed)
    fold_of = {p: 1 + i % 10 for i, p in enumerate(sorted(recs.patient_id.unique()))}
    return recs.assign(fold=recs.patient_id.map(fold_of).astype("Int64"))


def test_folds_are_used_as_given_whatever_the_seed():
    recs = fold_records()
    a, b = split_indices(recs, seed=0), split_indices(recs, seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert set(recs.fold.iloc[a["test"]]) == {10} and set(recs.fold.iloc[a["val"]]) == {9}
    assert set(recs.fold.iloc[a["train"]]) == set(range(1, 9))
    assert sorted(np.concatenate(list(a.values()))) == list(range(len(recs)))


def test_no_or_unknown_folds_split_by_patient_as_before():
    recs = records()
    with_nulls = recs.assign(fold=pd.array([None] * len(recs), dtype="Int64"))
    a, b = split_indices(recs, seed=3), split_indices(with_nulls, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_bad_folds_are_errors():
    recs = fold_records()
    partly = recs.assign(fold=recs.fold.where(recs.index > 3))
    with pytest.raises(ValueError, match="fold column is known for"):
        split_indices(partly)
    with pytest.raises(ValueError, match="folds must be 1-10"):
        split_indices(recs.assign(fold=recs.fold.replace(3, 11)))
    spread = recs.copy()
    several = spread.patient_id.value_counts()
    rows = spread.index[spread.patient_id == several.index[several > 1][0]]  # a patient with 2+ records
    spread.loc[rows[0], "fold"] = 10 if spread.loc[rows[0], "fold"] != 10 else 1
    with pytest.raises(ValueError, match="has records in 2 folds"):
        split_indices(spread)


def test_fractions_of_fold_training_patients_are_nested():
    recs = fold_records(300)
    s = split_indices(recs)
    prev = set()
    for fraction in (0.05, 0.3, 1.0):
        p = patients(recs, fraction_indices(recs, s["train"], fraction, seed=1))
        assert prev <= p <= patients(recs, s["train"])
        prev = p
    assert prev == patients(recs, s["train"])
