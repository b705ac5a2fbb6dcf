"""The min-max proofs: one forward/backward per micro-batch gives each network the gradient
method.md asks for, computed on the same weights before either optimiser steps."""

import copy

import pytest
import torch
from ecgmask_tests_pretrain_support import MemoryCache, tiny

from ecgmask.losses import nt_xent, sparsity_penalty
from ecgmask.pretrain import Pretrainer


def frozen_copies(trainer: Pretrainer):
    """Deep copies of (encoder, projector, augmentation) as they are now, in training mode."""
    return tuple(copy.deepcopy(m) for m in (trainer.encoder, trainer.projector, trainer.augmentation))


def stage_input(augmentation, x: torch.Tensor, generator: torch.Generator):
    """(what the adversarial stage is handed, that stage): the earlier stages applied in order."""
    *before, adversarial = list(getattr(augmentation, "stages", [augmentation]))
    with torch.no_grad():
        for stage in before:
            x = stage(x, generator)
    return x, adversarial


def hand_gradients(copies, config, x: torch.Tensor, generator_state: torch.Tensor):
    """Each network's gradient by hand, in two separate passes on their own deep copies:
    encoder + projector: d NT-Xent(x, x * (1 - m~)) with the masks detached;
    masker: d(-NT-Xent + L_sp) with the encoder and projector frozen."""
    encoder, projector, augmentation = (copy.deepcopy(m) for m in copies)
    g = torch.Generator().set_state(generator_state)
    x_in, adversarial = stage_input(augmentation, x, g)
    view = adversarial.apply(x_in, adversarial.masks(x_in).detach(), g)
    loss = nt_xent(projector(encoder(x)), projector(encoder(view)), config.temperature)
    encoder_grads = torch.autograd.grad(loss, [*encoder.parameters(), *projector.parameters()])

    encoder, projector, augmentation = (copy.deepcopy(m) for m in copies)
    for p in [*encoder.parameters(), *projector.parameters()]:
        p.requires_grad_(False)
    g = torch.Generator().set_state(generator_state)
    x_in, adversarial = stage_input(augmentation, x, g)
    masks = adversarial.masks(x_in)
    view = adversarial.apply(x_in, masks, g)
    masker_loss = (-nt_xent(projector(encoder(x)), projector(encoder(view)), config.temperature)
                   + sparsity_penalty(masks, config.alpha, config.ratio))
    masker_grads = torch.autograd.grad(masker_loss, list(adversarial.masker.parameters()))
    return encoder_grads, masker_grads


def grads(parameters) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in parameters]


def assert_all_close(actual, expected, rtol=1e-4, atol=1e-6):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol)


def encoder_parameters(trainer: Pretrainer) -> list[torch.Tensor]:
    return [*trainer.encoder.parameters(), *trainer.projector.parameters()]


@pytest.mark.parametrize("augmentation,n_masks", [("advmask", 2), ("advmask", 12), ("advmask+3kg", 3)])
def test_one_backward_gives_each_network_its_hand_computed_gradient(augmentation, n_masks):
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(augmentation, n_masks=n_masks, alpha=0.5, ratio=0.8), cache)
    x = cache.batch(range(8))
    copies = frozen_copies(trainer)
    state = trainer.aug_generator.get_state()
    losses = trainer.backward(x)
    expected_encoder, expected_masker = hand_gradients(copies, trainer.config, x, state)
    assert_all_close(grads(encoder_parameters(trainer)), expected_encoder)
    assert_all_close(grads(trainer.advmask.masker.parameters()), expected_masker)
    assert losses.masker_loss.item() == pytest.approx(-losses.nt_xent.item() + losses.sparsity.item(), rel=1e-6)
    assert losses.sparsity.item() > 0


def test_both_optimisers_step_on_gradients_of_the_same_weights(monkeypatch):
    # the bug this guards against: the encoder optimiser stepping before the masker's
    # gradient is taken, so that the masker sees z(x) and z(masked x) from different weights
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(batch_size=8, accumulation=1, lr=1e-2, masker_lr=1e-2), cache)
    copies = frozen_copies(trainer)
    state = trainer.aug_generator.get_state()
    seen = {}

    def recording(name, optimizer, parameters):
        step = optimizer.step

        def record_then_step(*args, **kwargs):
            seen[name] = grads(parameters)
            return step(*args, **kwargs)

        monkeypatch.setattr(optimizer, "step", record_then_step)

    recording("encoder", trainer.optimizer, encoder_parameters(trainer))
    recording("masker", trainer.masker_optimizer, list(trainer.advmask.masker.parameters()))
    trainer.run_epoch()
    x = cache.signals[torch.tensor(cache.requested[:8])]  # the epoch's one shuffled batch (then the mask probe)
    expected_encoder, expected_masker = hand_gradients(copies, trainer.config, x, state)
    assert_all_close(seen["encoder"], expected_encoder)
    assert_all_close(seen["masker"], expected_masker)


def test_the_masker_gradient_is_minus_the_nt_xent_gradient():
    # alpha = 0: only NT-Xent; without the reversal the sign flips, with the view detached it is zero
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(alpha=0.0), cache)
    x = cache.batch(range(8))
    encoder, projector, augmentation = frozen_copies(trainer)
    g = torch.Generator().set_state(trainer.aug_generator.get_state())
    masks = augmentation.masks(x)
    ascent = torch.autograd.grad(nt_xent(projector(encoder(x)), projector(encoder(augmentation.apply(x, masks, g)))),
                                 list(augmentation.masker.parameters()))
    trainer.backward(x)
    masker = grads(trainer.advmask.masker.parameters())
    assert sum(float((m * a).sum()) for m, a in zip(masker, ascent)) < 0
    assert_all_close(masker, [-a for a in ascent])


def test_the_sparsity_penalty_reaches_only_the_masker_and_is_not_reversed():
    cache = MemoryCache(n=8)
    x = cache.batch(range(8))
    runs = {}
    for alpha in (0.0, 2.0):
        trainer = Pretrainer(tiny(alpha=alpha, ratio=0.8), cache)
        masker = copy.deepcopy(trainer.advmask)
        penalty = torch.autograd.grad(sparsity_penalty(masker.masks(x), alpha, 0.8), list(masker.masker.parameters()))
        trainer.backward(x)
        runs[alpha] = (grads(encoder_parameters(trainer)), grads(trainer.advmask.masker.parameters()), penalty)
    # the encoder and projector get the same gradient whatever the penalty
    assert all(torch.equal(a, b) for a, b in zip(runs[0.0][0], runs[2.0][0]))
    # the masker gets + grad L_sp on top of -grad NT-Xent (descending the penalty)
    # (a difference of two float32 gradients: a looser tolerance; a reversed penalty flips the sign)
    difference = [b - a for a, b in zip(runs[0.0][1], runs[2.0][1])]
    assert_all_close(difference, list(runs[2.0][2]), rtol=1e-3, atol=1e-5)
    assert sum(float((d * p).sum()) for d, p in zip(difference, runs[2.0][2])) > 0


def test_each_optimiser_holds_only_its_network():
    trainer = Pretrainer(tiny(), MemoryCache(n=8))
    held = {name: {id(p) for group in opt.param_groups for p in group["params"]}
            for name, opt in (("encoder", trainer.optimizer), ("masker", trainer.masker_optimizer))}
    assert held["encoder"] == {id(p) for p in encoder_parameters(trainer)}
    assert held["masker"] == {id(p) for p in trainer.advmask.masker.parameters()}


def masked_pair_nt_xent(trainer: Pretrainer, x: torch.Tensor, draw_seed: int) -> float:
    """NT-Xent of (x, masked x) under the trainer's current weights, for a fixed draw."""
    with torch.no_grad():
        adv = trainer.advmask
        view = adv.apply(x, adv.masks(x), torch.Generator().manual_seed(draw_seed))
        return nt_xent(trainer.projector(trainer.encoder(x)), trainer.projector(trainer.encoder(view)), 0.1).item()


@pytest.mark.parametrize("n_masks", [1, 2, 12])
def test_a_small_step_along_the_masker_gradient_increases_the_nt_xent_of_the_masked_pair(n_masks):
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(batch_size=8, accumulation=1, alpha=0.0, n_masks=n_masks), cache)
    x = cache.batch(range(8))
    before = masked_pair_nt_xent(trainer, x, draw_seed=9)
    trainer.aug_generator.manual_seed(9)  # the step masks with the same draw
    trainer.backward(x)
    masker = list(trainer.advmask.masker.parameters())
    norm = torch.sqrt(sum((p.grad**2).sum() for p in masker))
    step = 1e-4
    with torch.no_grad():
        for p in masker:
            p -= step * p.grad / norm  # descent on the masker's loss
    # ascent on NT-Xent at the first-order rate: the masker's gradient is -grad NT-Xent
    assert masked_pair_nt_xent(trainer, x, draw_seed=9) - before > 0.5 * step * norm.item()


def test_masker_optimiser_step_increases_the_nt_xent_of_the_masked_pair():
    # one batch, one optimiser step through the loop; the encoder barely moves. (With N = 12
    # the masks are per lead and smooth in the weights; with N = 2 an Adam first step, which
    # moves every weight by +-lr, can overshoot the sharp soft threshold: the test above covers it.)
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(batch_size=8, accumulation=1, lr=1e-12, masker_lr=1e-3, alpha=0.0, n_masks=12),
                         cache)
    x = cache.batch(range(8))
    before = masked_pair_nt_xent(trainer, x, draw_seed=9)
    trainer.run_epoch()
    assert masked_pair_nt_xent(trainer, x, draw_seed=9) > before


def test_encoder_step_decreases_the_nt_xent_of_the_masked_pair():
    cache = MemoryCache(n=8)
    trainer = Pretrainer(tiny(batch_size=8, accumulation=1, lr=1e-3, masker_lr=1e-12), cache)
    x = cache.batch(range(8))
    before = masked_pair_nt_xent(trainer, x, draw_seed=9)
    trainer.aug_generator.manual_seed(9)
    trainer.run_epoch()
    assert masked_pair_nt_xent(trainer, x, draw_seed=9) < before
