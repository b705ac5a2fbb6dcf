"""The pretraining loop: metrics, accumulation, early stopping, determinism, exact resume."""

import math

import numpy as np
import pytest
import torch
from ecgmask_tests_pretrain_support import MemoryCache, same_state, tiny, without_speed

from ecgmask.checkpoint import load_encoder
from ecgmask.pretrain import Pretrainer


def test_cache_without_sampling_rate_is_a_clear_error(cache):
    cache.meta = {}
    with pytest.raises(ValueError, match="sampling rate"):
        Pretrainer(tiny(), cache)


def test_gradients_are_zeroed_before_each_step(cache):
    # stale gradients (e.g. left by a previous backward) must not leak into the next update
    clean = Pretrainer(tiny(max_steps_per_epoch=1), cache)
    stale = Pretrainer(tiny(max_steps_per_epoch=1), cache)
    for p in list(stale.advmask.masker.parameters()) + list(stale.encoder.parameters()):
        p.grad = torch.full_like(p, 1e3)
    clean.run_epoch()
    stale.run_epoch()
    assert same_state(clean.advmask.state_dict(), stale.advmask.state_dict())
    assert same_state(clean.encoder.state_dict(), stale.encoder.state_dict())


def test_advmask_epoch_metrics(cache):
    trainer = Pretrainer(tiny(n_masks=3), cache)
    m = trainer.run_epoch()
    assert set(m) == {"epoch", "nt_xent", "masker_loss", "sparsity", "mask_occupancy_0", "mask_occupancy_1",
                      "mask_occupancy_2", "samples_per_s", "stop", "qrs_time", "qrs_detected",
                      *(f"mask_{n}_{what}" for n in range(3) for what in ("raw", "time", "qrs_of_masked",
                                                                           "qrs_covered"))}
    assert m["epoch"] == 1 and m["stop"] is False and m["samples_per_s"] > 0
    assert all(0 <= m[f"mask_occupancy_{n}"] <= 1 for n in range(3))
    assert all(math.isfinite(m[k]) for k in ("nt_xent", "masker_loss", "sparsity"))


def test_simclr_epoch_metrics_and_views(cache):
    trainer = Pretrainer(tiny("gaussian"), cache)
    assert trainer.advmask is None and trainer.masker_optimizer is None
    m = trainer.run_epoch()
    assert set(m) == {"epoch", "nt_xent", "samples_per_s", "stop"}


def test_advmask_plus_3kg_trains_its_masker(cache):
    trainer = Pretrainer(tiny("advmask+3kg"), cache)
    before = [p.detach().clone() for p in trainer.advmask.masker.parameters()]
    trainer.run_epoch()
    assert any(not torch.equal(a, p) for a, p in zip(before, trainer.advmask.masker.parameters()))


def test_accumulation_groups_batches_into_one_optimiser_step(cache):
    # 48 windows, batches of 8: 6 batches, 2 per step -> 3 optimiser steps, both optimisers
    trainer = Pretrainer(tiny(batch_size=8, accumulation=2), cache)
    trainer.run_epoch()
    for opt in (trainer.optimizer, trainer.masker_optimizer):
        assert {int(s["step"]) for s in opt.state.values()} == {3}


def test_steps_are_capped_and_indices_respected(cache):
    indices = np.arange(10, 40)
    trainer = Pretrainer(tiny(batch_size=4, accumulation=2, max_steps_per_epoch=2), cache, indices=indices)
    trainer.run_epoch()
    # the trained windows, then the mask probe's (all 30 indices: fewer than its 64)
    assert len(cache.requested) == 2 * 2 * 4 + len(indices)
    trained = cache.requested[: 2 * 2 * 4]
    assert sorted(cache.requested[len(trained):]) == indices.tolist()
    assert set(trained) <= set(indices.tolist())
    assert len(set(trained)) == len(trained)  # one shuffled pass, no repeats


def test_epochs_and_early_stopping(cache):
    trainer = Pretrainer(tiny("gaussian", epochs=2, max_steps_per_epoch=1), cache)
    assert [trainer.run_epoch()["stop"] for _ in range(2)] == [False, True]
    with pytest.raises(RuntimeError, match="stopped"):
        trainer.run_epoch()
    trainer = Pretrainer(tiny("gaussian", epochs=50, patience=2, max_steps_per_epoch=1), cache)
    trainer.best_loss = -1.0  # nothing beats it: every epoch counts against patience
    assert [trainer.run_epoch()["stop"] for _ in range(2)] == [False, True]


def test_short_pretraining_lowers_nt_xent(cache):
    trainer = Pretrainer(tiny("gaussian", epochs=8, batch_size=16, accumulation=1), cache)
    losses = [trainer.run_epoch()["nt_xent"] for _ in range(8)]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("augmentation", ["advmask", "gaussian"])
def test_same_seed_same_numbers(cache, augmentation):
    runs = []
    for _ in range(2):
        trainer = Pretrainer(tiny(augmentation), cache)
        runs.append(([without_speed(trainer.run_epoch()) for _ in range(2)], trainer.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert same_state(runs[0][1]["encoder"], runs[1][1]["encoder"])
    other = Pretrainer(tiny(augmentation, seed=1), cache)
    assert without_speed(other.run_epoch()) != runs[0][0][0]


@pytest.mark.parametrize("augmentation", ["advmask+3kg", "gaussian"])
def test_resume_continues_exactly(cache, tmp_path, augmentation):
    straight = Pretrainer(tiny(augmentation), cache)
    metrics = [without_speed(straight.run_epoch()) for _ in range(2)]

    first = Pretrainer(tiny(augmentation), cache)
    assert without_speed(first.run_epoch()) == metrics[0]
    first.save_checkpoint(tmp_path / "ckpt")
    del first
    torch.manual_seed(1234)  # the global RNG state comes back from the checkpoint too
    resumed = Pretrainer.from_checkpoint(tmp_path / "ckpt", cache)
    assert resumed.epoch == 1 and len(resumed.history) == 1
    assert without_speed(resumed.run_epoch()) == metrics[1]

    a, b = straight.state_dict(), resumed.state_dict()
    for part in ("encoder", "projector", "optimizer", "scaler", "masker", "masker_optimizer"):
        assert same_state(a.get(part), b.get(part)), part
    assert same_state(a["rng"], b["rng"])


def test_checkpoint_holds_the_encoder_for_transfer(cache, tmp_path):
    trainer = Pretrainer(tiny(), cache)
    trainer.run_epoch()
    trainer.save_checkpoint(tmp_path)
    assert (tmp_path / "state.pt").is_file()
    encoder, pretrain_config = load_encoder(tmp_path)
    assert pretrain_config == trainer.config.to_dict()
    assert same_state(encoder.state_dict(), trainer.encoder.state_dict())


def test_missing_checkpoint_names_the_path(cache, tmp_path):
    with pytest.raises(FileNotFoundError, match="state.pt"):
        Pretrainer.from_checkpoint(tmp_path / "nowhere", cache)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_amp_on_cuda_steps_both_optimisers_through_one_scaler(cache):
    trainer = Pretrainer(tiny("advmask+3kg", device="cuda", amp=True, batch_size=8, accumulation=2), cache)
    assert trainer.amp and trainer.scaler.is_enabled()
    encoder = [p.detach().clone() for p in trainer.encoder.parameters()]
    masker = [p.detach().clone() for p in trainer.advmask.masker.parameters()]
    m = trainer.run_epoch()
    assert all(math.isfinite(m[k]) for k in ("nt_xent", "masker_loss", "sparsity"))
    # 48 windows, batches of 8, 2 per step: 3 optimiser steps, of which the scaler may skip
    # those whose gradients overflowed (the scale starts at 2**16); it lowers its scale then
    for opt in (trainer.optimizer, trainer.masker_optimizer):
        steps = {int(s["step"]) for s in opt.state.values()}
        assert len(steps) == 1 and 1 <= steps.pop() <= 3
    assert any(not torch.equal(a, p) for a, p in zip(encoder, trainer.encoder.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(masker, trainer.advmask.masker.parameters()))
