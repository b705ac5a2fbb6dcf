"""The pretraining loop: the min-max proofs, determinism, exact resume, the CLI."""

import math

import numpy as np
import pytest
import torch

from ecgmask.checkpoint import load_encoder
from ecgmask.losses import nt_xent
from ecgmask.pretrain import PretrainConfig, Pretrainer, main
from ecgmask.profiles import LAPTOP, PAPER


class MemoryCache:
    """Stand-in for `ecgmask.data.EcgCache`: `len`, `meta['fs']`, `batch(indices)`.

    Each record is a sum of two sinusoids (random rate and phase) seen through random
    per-lead gains plus noise: records differ, so contrastive learning has something to learn.
    """

    def __init__(self, n: int = 48, length: int = 128, fs: float = 100.0, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        t = torch.arange(length) / fs
        rate = 0.8 + 2.0 * torch.rand(n, 1, 1, generator=g)
        phase = 2 * math.pi * torch.rand(n, 1, 1, generator=g)
        gain = torch.randn(n, 12, 1, generator=g)
        wave = torch.sin(2 * math.pi * rate * t + phase) + 0.5 * torch.sin(4 * math.pi * rate * t)
        self.signals = (gain * wave + 0.1 * torch.randn(n, 12, length, generator=g)).float()
        self.meta = {"fs": fs, "length": length}
        self.requested: list[int] = []

    def __len__(self) -> int:
        return self.signals.shape[0]

    def batch(self, indices) -> torch.Tensor:
        indices = np.asarray(indices, dtype=np.int64)
        self.requested.extend(indices.tolist())
        return self.signals[torch.from_numpy(indices)]


def tiny(augmentation="advmask", **overrides) -> PretrainConfig:
    values = dict(augmentation=augmentation, seed=0, epochs=3, batch_size=8, accumulation=2, width=4,
                  masker_width=4, lr=1e-3, masker_lr=1e-3, device="cpu")
    values.update(overrides)
    return PretrainConfig(**values)


@pytest.fixture
def cache():
    return MemoryCache()


def same_state(a: dict, b: dict) -> bool:
    """Bitwise equality of two (nested) state dicts."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def without_speed(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "samples_per_s"}


# ---------------------------------------------------------------- config
def test_config_defaults_follow_the_method():
    cfg = PretrainConfig(augmentation="advmask")
    assert (cfg.batch_size, cfg.accumulation, cfg.lr, cfg.masker_lr, cfg.temperature) == (32, 4, 1e-4, 1e-4, 0.1)
    assert (cfg.n_masks, cfg.alpha, cfg.ratio, cfg.k, cfg.patience, cfg.width) == (2, 1.0, 1.0, 50.0, 5, 64)
    assert cfg.device == "auto" and cfg.amp is True and cfg.max_steps_per_epoch is None


def test_config_from_profile_takes_the_profile_sizes_and_overrides():
    cfg = PretrainConfig.from_profile("laptop", augmentation="advmask+3kg", seed=3, epochs=7)
    assert (cfg.width, cfg.masker_width, cfg.batch_size) == (LAPTOP.width, LAPTOP.masker_width, LAPTOP.batch_size)
    assert cfg.accumulation == LAPTOP.accumulation and cfg.epochs == 7 and cfg.seed == 3
    assert PretrainConfig.from_profile(PAPER, augmentation="gaussian").width == 64


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="batch_size"):
        tiny(batch_size=1)
    with pytest.raises(ValueError, match="masker_lr"):
        tiny(masker_lr=0.0)
    with pytest.raises(ValueError, match="augmentation"):
        tiny(augmentation="")


def test_cache_without_sampling_rate_is_a_clear_error(cache):
    cache.meta = {}
    with pytest.raises(ValueError, match="sampling rate"):
        Pretrainer(tiny(), cache)


# ---------------------------------------------------------------- the min-max proofs
def test_encoder_step_reaches_no_masker_parameter(cache):
    trainer = Pretrainer(tiny(), cache)
    trainer.encoder_backward(cache.batch(range(8)))
    assert all(p.grad is None for p in trainer.advmask.masker.parameters())
    assert all(p.grad is not None for p in trainer.encoder.parameters())


def test_masker_step_gradient_is_minus_the_nt_xent_gradient_and_leaves_the_encoder_alone(cache):
    trainer = Pretrainer(tiny(alpha=0.0), cache)
    masker = list(trainer.advmask.masker.parameters())
    step = trainer.encoder_backward(cache.batch(range(8)))
    encoder_grads = [p.grad.clone() for p in trainer.encoder.parameters()]
    running = {k: v.clone() for k, v in trainer.encoder.state_dict().items() if "running" in k}
    # NT-Xent of the masked pair as a function of the masker alone
    loss = nt_xent(step.z_clean, trainer.projector(trainer.encoder(step.view)), 0.1)
    expected = torch.autograd.grad(loss, masker, retain_graph=True)
    for k, v in trainer.encoder.state_dict().items():  # undo the reference forward's BN update
        if k in running:
            v.copy_(running[k])
    trainer.masker_backward(step)
    # the masker ascends NT-Xent (the reference's missing detach would cancel this to zero)
    assert sum(float((p.grad * e).sum()) for p, e in zip(masker, expected)) < 0
    for p, e in zip(masker, expected):
        torch.testing.assert_close(p.grad, -e, rtol=1e-4, atol=1e-7)
    # no weight gradient for the encoder in the masker step, and no BatchNorm statistics update
    assert all(torch.equal(p.grad, g) for p, g in zip(trainer.encoder.parameters(), encoder_grads))
    assert all(torch.equal(trainer.encoder.state_dict()[k], v) for k, v in running.items())
    assert all(p.requires_grad for p in trainer.encoder.parameters())


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


def test_sparsity_penalty_enters_the_masker_loss(cache):
    trainer = Pretrainer(tiny(alpha=0.5, ratio=0.8), cache)
    step = trainer.encoder_backward(cache.batch(range(8)))
    masked = nt_xent(step.z_clean, trainer.projector(trainer.encoder(step.view)), 0.1).detach()
    masker_loss, sparsity = trainer.masker_backward(step)
    assert sparsity.item() > 0
    assert masker_loss.item() == pytest.approx(-masked.item() + sparsity.item(), rel=1e-5)


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
    trainer.masker_backward(trainer.encoder_backward(x))
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


# ---------------------------------------------------------------- the loop
def test_advmask_epoch_metrics(cache):
    trainer = Pretrainer(tiny(n_masks=3), cache)
    m = trainer.run_epoch()
    assert set(m) == {"epoch", "nt_xent", "masker_loss", "sparsity", "mask_occupancy_0", "mask_occupancy_1",
                      "mask_occupancy_2", "samples_per_s", "stop"}
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
    assert len(cache.requested) == 2 * 2 * 4
    assert set(cache.requested) <= set(indices.tolist())
    assert len(set(cache.requested)) == len(cache.requested)  # one shuffled pass, no repeats


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
    for part in ("encoder", "projector", "optimizer", "masker", "masker_optimizer"):
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


def test_cli_help_explains_itself(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--augmentation" in out and "--profile" in out and "resume" in out


# ---------------------------------------------------------------- end to end on a real cache
@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    from ecgmask.data import PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.synthetic import write_synthetic_tree

    root = tmp_path_factory.mktemp("pretrain-e2e")
    tree = write_synthetic_tree(root / "tree", 24, seed=11, fs=100, progress=False, workers=1)
    return build_cache(WfdbSource([tree]), root / "caches", PreprocessParams(fs=100, length=1000, stride=400),
                       workers=1, progress=False)


@pytest.mark.slow
def test_cli_pretrains_advmask_plus_3kg_on_a_real_cache_and_resumes(synthetic_cache, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--cache", str(synthetic_cache), "--augmentation", "advmask+3kg", "--profile", "laptop", "--epochs", "2",
            "--batch-size", "8", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert '"epoch": 1' in printed and '"epoch": 2' in printed and "mask_occupancy_1" in printed
    assert f"checkpoint written to {out}" in printed
    encoder, pretrain_config = load_encoder(out)
    assert pretrain_config["augmentation"] == "advmask+3kg" and encoder.config["width"] == LAPTOP.width

    # the same command again finds the finished state and trains no further
    before = (out / "state.pt").read_bytes()
    assert main(argv) == 0
    assert (out / "state.pt").read_bytes() == before
    # another configuration on the same directory is refused, not mixed in
    assert main(argv[:-1] + ["--seed", "5", "--quiet"]) == 2
    assert "different pretraining configuration" in capsys.readouterr().err


@pytest.mark.slow
def test_pretrain_function_lowers_nt_xent_on_the_synthetic_corpus(synthetic_cache, tmp_path):
    from ecgmask.pretrain import pretrain

    config = PretrainConfig(augmentation="gaussian", seed=0, epochs=4, batch_size=8, accumulation=1, lr=1e-3,
                            width=8, device="cpu")
    seen = []
    result = pretrain(config, synthetic_cache, tmp_path / "ckpt", progress=False, log=seen.append)
    assert [m["epoch"] for m in seen] == [1, 2, 3, 4] and result["stop"] is True
    assert seen[-1]["nt_xent"] < seen[0]["nt_xent"]
    assert result["checkpoint"] == str(tmp_path / "ckpt")
