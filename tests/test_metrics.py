import numpy as np
import pytest

from ecgmask.metrics import (
    accuracy,
    average_ranks,
    balanced_accuracy,
    binary_auc,
    classification_metrics,
    exact_match_accuracy,
    macro_auc_per_class,
    macro_ovr_auc,
    multilabel_metrics,
)


def brute_force_auc(y, s):
    pos, neg = s[y == 1], s[y == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(6))
def test_binary_auc_equals_pairwise_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1  # both classes present
    # few distinct values, so ties within and across classes are frequent
    s = rng.integers(0, 4, n).astype(np.float64) / 3
    assert binary_auc(y, s) == pytest.approx(brute_force_auc(y, s), abs=1e-12)


def test_binary_auc_extremes():
    y = np.array([0, 0, 1, 1])
    assert binary_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert binary_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert binary_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert np.isnan(binary_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_average_ranks_ties():
    np.testing.assert_allclose(average_ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4, 1, 4, 2, 4])


def test_macro_ovr_auc_is_mean_of_per_class_pairwise_counts():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 40)
    p = rng.dirichlet(np.ones(3), 40).round(1)  # rounding makes ties
    expected = np.mean([brute_force_auc((y == c).astype(int), p[:, c]) for c in range(3)])
    assert macro_ovr_auc(y, p) == pytest.approx(expected, abs=1e-12)


def test_macro_ovr_auc_skips_class_absent_from_test_set():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0], [0.3, 0.7, 0.0]])
    assert macro_ovr_auc(y, p) == 1.0


def test_accuracy_and_balanced_accuracy():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    pred = np.zeros(8, dtype=int)  # majority vote
    assert accuracy(y, pred) == 0.75
    assert balanced_accuracy(y, pred) == 0.5
    pred2 = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    assert accuracy(y, pred2) == 0.5
    assert balanced_accuracy(y, pred2) == pytest.approx((3 / 6 + 1 / 2) / 2)


def test_classification_metrics_from_logits():
    y = np.array([0, 1, 2, 2])
    logits = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [0, 5.0, 0]])
    m = classification_metrics(y, logits)
    assert m["accuracy"] == 0.75
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert 0.5 < m["auc"] <= 1.0


def test_length_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="differ in length"):
        accuracy(np.array([0, 1]), np.array([0]))


# ---------------------------------------------------------------- multi-label


def test_multilabel_auc_is_the_mean_of_per_class_pairwise_counts():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (50, 4))
    y[0], y[1] = 0, 1  # every class has both a positive and a negative
    scores = rng.integers(0, 5, (50, 4)).astype(np.float64)  # ties
    auc, skipped = macro_auc_per_class(y, scores)
    assert skipped == []
    assert auc == pytest.approx(np.mean([brute_force_auc(y[:, c], scores[:, c]) for c in range(4)]), abs=1e-12)


def test_multilabel_auc_skips_classes_without_a_positive_or_a_negative():
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])  # class 1: no positive; class 2: no negative
    scores = np.array([[2.0, 0.3, 0.1], [-1.0, 0.2, 0.9], [0.3, 0.1, 0.4], [0.4, 0.0, 0.2]])
    auc, skipped = macro_auc_per_class(y, scores)
    assert skipped == [1, 2] and auc == brute_force_auc(y[:, 0], scores[:, 0]) == 0.75
    assert np.isnan(macro_auc_per_class(np.ones((3, 2)), np.zeros((3, 2)))[0])


def test_multilabel_metrics_from_logits():
    y = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0], [1, 0, 1]])
    logits = np.array([[2.0, -1, -3], [-2, 1, 0.5], [-1, 3, 0.2], [1, -1, -0.1]])
    # predicted (logit > 0): [1,0,0] right, [0,1,1] right, [0,1,1] wrong (class 2), [1,0,0] wrong (class 2)
    m = multilabel_metrics(y, logits)
    assert m["accuracy"] == 0.5 == exact_match_accuracy(y, logits > 0)
    # per class balanced accuracy: classes 0 and 1 perfect; class 2: recall 1/2, specificity 1/2
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3)
    expected_auc = np.mean([brute_force_auc(y[:, c], logits[:, c]) for c in range(3)])
    assert m["auc"] == pytest.approx(expected_auc) and m["auc_skipped"] == []


def test_multilabel_shapes_are_checked():
    with pytest.raises(ValueError, match="same"):
        multilabel_metrics(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same"):
        macro_auc_per_class(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        exact_match_accuracy(np.zeros((0, 3)), np.zeros((0, 3)))
