"""The settings that change what shapes the masks (masker_objective, sparsity_on,
mask_threshold) and the mask statistics every adversarial epoch reports."""

import copy
import math

import numpy as np
import pandas as pd
import pytest
import torch
from ecgmask_tests_pretrain_support import MemoryCache, tiny

from ecgmask.losses import nt_xent, sparsity_penalty
from ecgmask.pretrain import Pretrainer
from ecgmask.pretrain.mask_stats import mask_statistics, probe_indices


def masker_grads(trainer):
    return [p.grad.detach().clone() for p in trainer.advmask.masker.parameters()]


@pytest.mark.parametrize("sparsity_on", ["raw", "binarised"])
def test_sparsity_only_masker_gradient_is_the_sparsity_terms_alone(sparsity_on):
    cache = MemoryCache(n=8)
    x = cache.batch(range(8))
    trainer = Pretrainer(tiny(masker_objective="sparsity_only", sparsity_on=sparsity_on, alpha=0.7, ratio=0.8), cache)
    masker = copy.deepcopy(trainer.advmask)
    masks = masker.masks(x)
    penalised = masks if sparsity_on == "raw" else masker.binarize(masks)
    expected = torch.autograd.grad(sparsity_penalty(penalised, 0.7, 0.8), list(masker.masker.parameters()))
    losses = trainer.backward(x)
    for got, want in zip(masker_grads(trainer), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    assert losses.masker_loss.item() == pytest.approx(losses.sparsity.item())


def test_sparsity_only_leaves_the_encoder_gradient_as_adversarial():
    cache = MemoryCache(n=8)
    x = cache.batch(range(8))
    runs = {}
    for objective in ("adversarial", "sparsity_only"):
        trainer = Pretrainer(tiny(masker_objective=objective), cache)
        trainer.backward(x)
        runs[objective] = [p.grad.clone() for p in [*trainer.encoder.parameters(), *trainer.projector.parameters()]]
    assert all(torch.equal(a, b) for a, b in zip(runs["adversarial"], runs["sparsity_only"]))


def test_sparsity_only_masker_ignores_nt_xent():
    # alpha = 0 leaves the masker nothing to learn from under sparsity_only
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(masker_objective="sparsity_only", alpha=0.0), cache)
    trainer.backward(cache.batch(range(8)))
    assert all(float(g.abs().max()) == 0.0 for g in masker_grads(trainer))


def test_binarised_sparsity_is_the_penalty_of_the_applied_masks():
    cache = MemoryCache(n=8)
    x = cache.batch(range(8))
    trainer = Pretrainer(tiny(sparsity_on="binarised", alpha=0.5, ratio=1.0), cache)
    masks = copy.deepcopy(trainer.advmask).masks(x)
    binarised = torch.sigmoid(50.0 * (masks - 0.5))
    losses = trainer.backward(x)
    assert losses.sparsity.item() == pytest.approx(sparsity_penalty(binarised, 0.5, 1.0).item(), rel=1e-5)
    assert losses.sparsity.item() != pytest.approx(sparsity_penalty(masks, 0.5, 1.0).item(), rel=1e-3)


def test_masker_gradient_adversarial_binarised_by_hand():
    cache = MemoryCache(n=8)
    x = cache.batch(range(8))
    trainer = Pretrainer(tiny(sparsity_on="binarised"), cache)
    encoder, projector, aug = (copy.deepcopy(m) for m in (trainer.encoder, trainer.projector, trainer.augmentation))
    for p in [*encoder.parameters(), *projector.parameters()]:
        p.requires_grad_(False)
    g = torch.Generator().set_state(trainer.aug_generator.get_state())
    masks = aug.masks(x)
    loss = -nt_xent(projector(encoder(x)), projector(encoder(aug.apply(x, masks, g)))) + sparsity_penalty(
        aug.binarize(masks), 1.0, 1.0)
    expected = torch.autograd.grad(loss, list(aug.masker.parameters()))
    trainer.backward(x)
    for got, want in zip(masker_grads(trainer), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_mask_threshold_per_mask_count():
    cfg = tiny(n_masks=3, mask_threshold="1/N")
    assert cfg.threshold() == pytest.approx(1 / 3)
    aug = Pretrainer(cfg, MemoryCache(n=8)).advmask
    assert aug.threshold == pytest.approx(1 / 3)
    m = torch.full((1, 3, 4), 1 / 3)
    assert torch.allclose(aug.binarize(m), torch.full_like(m, 0.5))
    assert float(aug.binarize(m + 0.05).min()) > 0.9  # past the threshold: masked
    assert tiny(mask_threshold=0.25).threshold() == 0.25


@pytest.mark.parametrize("field,value", [("masker_objective", "adversary"), ("sparsity_on", "soft"),
                                         ("mask_threshold", 1.0), ("mask_threshold", "1/M"),
                                         ("mask_threshold", True)])
def test_bad_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        tiny(**{field: value})


def test_mask_statistics_by_hand():
    # two masks over 10 samples; QRS at samples 0..1
    masks = torch.zeros(1, 2, 10)
    masks[0, 0, :4] = 0.9  # mask 0 covers 0..3: 2 of its 4 masked samples are QRS
    masks[0, 1] = 0.3  # below the threshold everywhere: no masked time
    qrs = torch.zeros(1, 10, dtype=torch.bool)
    qrs[0, :2] = True
    s = mask_statistics(masks, qrs, 0.5)
    assert s["mask_0_raw"] == pytest.approx(0.36) and s["mask_1_raw"] == pytest.approx(0.3)
    assert s["mask_0_time"] == pytest.approx(0.4) and s["mask_1_time"] == 0.0
    assert s["mask_0_qrs_of_masked"] == pytest.approx(0.5) and math.isnan(s["mask_1_qrs_of_masked"])
    assert s["mask_0_qrs_covered"] == pytest.approx(1.0) and s["mask_1_qrs_covered"] == 0.0
    assert s["qrs_time"] == pytest.approx(0.2)
    assert mask_statistics(masks, qrs, 0.2)["mask_1_time"] == 1.0
    # only samples 1..9 annotated: sample 0 neither QRS nor not-QRS
    known = torch.ones(1, 10, dtype=torch.bool)
    known[0, 0] = False
    s = mask_statistics(masks, qrs, 0.5, known)
    assert s["mask_0_qrs_of_masked"] == pytest.approx(1 / 3) and s["qrs_time"] == pytest.approx(1 / 9)
    assert s["mask_0_time"] == pytest.approx(0.4)  # over all time


class AnnotatedCache(MemoryCache):
    """A MemoryCache with records (patients, a stored QRS track) like an EcgCache."""

    def __init__(self, annotated: bool, **kw):
        super().__init__(**kw)
        n, length = self.signals.shape[0], self.signals.shape[2]
        self.records = pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)],
                                     "qrs_source": ["annotation" if annotated else None] * n})
        self.track = np.zeros((n, length), dtype=bool)
        self.track[:, 10:30] = True

    def qrs_track(self, indices):
        idx = np.asarray(indices)
        return self.track[idx], np.ones_like(self.track[idx])


def test_epoch_reports_the_masks_on_the_stored_qrs_track():
    cache = AnnotatedCache(True, n=40)
    trainer = Pretrainer(tiny(epochs=1), cache)
    m = trainer.run_epoch()
    assert m["qrs_detected"] == 0.0
    assert m["qrs_time"] == pytest.approx(20 / 128)
    assert m["mask_0_raw"] + m["mask_1_raw"] == pytest.approx(1.0, abs=1e-5)  # softmax masks
    for k in range(2):
        assert 0.0 <= m[f"mask_{k}_time"] <= 1.0 and 0.0 <= m[f"mask_{k}_qrs_covered"] <= 1.0
    assert m["mask_0_qrs_covered"] + m["mask_1_qrs_covered"] == pytest.approx(1.0)  # they partition time


def test_probe_is_fixed_and_from_the_validation_patients():
    cache = AnnotatedCache(True, n=200)
    first = probe_indices(cache, np.arange(200), n=8)
    assert len(first) == 8 and np.array_equal(first, probe_indices(cache, np.arange(200), n=8))
    from ecgmask.data.splits import split_indices

    assert set(first) <= set(split_indices(cache.records, seed=0)["val"].tolist())


def test_a_run_without_a_masker_reports_no_mask_statistics(cache):
    m = Pretrainer(tiny("gaussian"), cache).run_epoch()
    assert not any(k.startswith("mask_") or k.startswith("qrs_") for k in m)
