"""Mask figure and mask statistics: the numeric side on constructed signals and masks, the
figure from a real (one-step) advmask checkpoint on a tiny synthetic cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import plot_masks as pm

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _spiky_ecg(fs: float, r_times_s, seconds: float = 10.0, seed: int = 0) -> np.ndarray:
    """R waves (10 ms Gaussians) at known times, smaller P and T waves, noise and wander."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    x = 0.02 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * 0.3 * t)
    for r in r_times_s:
        x += 1.5 * np.exp(-((t - r) ** 2) / (2 * 0.010**2))
        x += 0.15 * np.exp(-((t - r + 0.16) ** 2) / (2 * 0.02**2))  # P
        x += 0.3 * np.exp(-((t - r - 0.3) ** 2) / (2 * 0.05**2))  # T
    return x


@pytest.mark.parametrize("fs", [100, 500])
def test_r_peaks_are_found_where_they_are(fs):
    r_times = np.cumsum(np.r_[0.4, np.random.default_rng(1).uniform(0.45, 1.2, 12)])
    r_times = r_times[r_times < 9.7]
    peaks = pm.detect_r_peaks(_spiky_ecg(fs, r_times), fs)
    assert len(peaks) == len(r_times)
    assert np.max(np.abs(peaks / fs - r_times)) <= 0.02


def test_r_peaks_of_a_synthetic_record_match_its_heart_rate():
    from ecgmask.data.synthetic import sample_params, synthesize_record

    for number in range(4):
        p = sample_params(3, number, rhythm="SR")
        x = synthesize_record(p, fs=100, seconds=10.0)[pm.LEAD_II]
        peaks = pm.detect_r_peaks(x, 100)
        assert abs(len(peaks) - p.heart_rate * 10 / 60) <= 2, (p.heart_rate, len(peaks))


def test_a_mask_on_exactly_the_qrs_windows_has_all_its_time_in_qrs():
    fs, length = 100, 1000
    peaks = np.array([50, 180, 320, 470, 600, 760, 905])
    qrs = pm.qrs_windows(length, peaks, fs)
    assert qrs.sum() == len(peaks) * 11  # +-50 ms at 100 Hz = 5 samples each side
    masks = np.stack([qrs.astype(float), (~qrs).astype(float) * 0.9, np.full(length, 0.3)])[None]  # (1, 3, L)
    stats = pm.mask_statistics(masks, qrs[None]).set_index("mask")
    assert stats.loc[0, "qrs_share"] == pytest.approx(1.0)
    assert stats.loc[0, "qrs_enrichment"] == pytest.approx(1 / qrs.mean())
    assert stats.loc[1, "qrs_share"] == 0.0
    assert np.isnan(stats.loc[2, "qrs_share"])  # never above 0.5: nothing masked
    assert stats["occupancy"].tolist() == pytest.approx([qrs.mean(), 0.9 * (1 - qrs.mean()), 0.3])
    assert stats["masked_time"].tolist() == pytest.approx([qrs.mean(), 1 - qrs.mean(), 0.0])
    assert (stats["qrs_time"] == qrs.mean()).all()


def test_statistics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="masks \\(B, N, L\\)"):
        pm.mask_statistics(np.zeros((2, 2, 10)), np.zeros((2, 11), bool))


@pytest.fixture(scope="module")
def advmask_checkpoint(tmp_path_factory):
    """A tiny cache of synthetic records and a real advmask pretraining checkpoint (one step)."""
    from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.synthetic import sample_params, write_record
    from ecgmask.pretrain import PretrainConfig, Pretrainer

    root = tmp_path_factory.mktemp("masks")
    records = root / "records"
    records.mkdir()
    for i in range(6):
        write_record(records, sample_params(7, i), fs=100, seconds=10)
    cache_path = build_cache([WfdbSource(records)], root / "caches", PreprocessParams(fs=100, length=1000, stride=400),
                             workers=1, progress=False)
    cache = EcgCache.open(cache_path)
    config = PretrainConfig(augmentation="advmask", seed=0, epochs=1, batch_size=4, accumulation=1, width=8,
                            masker_width=4, n_masks=2, max_steps_per_epoch=1, device="cpu", amp=False)
    trainer = Pretrainer(config, cache)
    trainer.run_epoch()
    trainer.save_checkpoint(root / "ckpt")
    return root / "ckpt", cache_path


def test_the_masker_is_the_one_pretraining_saved(advmask_checkpoint):
    from ecgmask.data import EcgCache
    from ecgmask.pretrain import Pretrainer

    ckpt, cache_path = advmask_checkpoint
    cache = EcgCache.open(cache_path)
    x = cache.batch(np.arange(3))
    ours = pm.compute_masks(pm.load_advmask(ckpt, cache.meta["fs"]), x)
    official = Pretrainer.from_checkpoint(ckpt, cache).advmask.eval()
    with torch.no_grad():
        assert np.allclose(ours, official.masks(x).numpy(), atol=1e-6)


def test_figure_and_statistics_from_a_checkpoint(advmask_checkpoint, tmp_path, capsys):
    ckpt, cache_path = advmask_checkpoint
    out = tmp_path / "fig"
    assert pm.main(["--checkpoint", str(ckpt), "--cache", str(cache_path), "--n", "2", "--out", str(out)]) == 0
    png = out / "masks.png"
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000
    stats = pd.read_csv(out / "mask_stats.csv")
    assert stats["mask"].tolist() == [0, 1]
    assert stats["occupancy"].between(0, 1).all() and stats["masked_time"].between(0, 1).all()
    # softmax over N = 2 masks: their occupancies sum to 1 at every time step
    assert stats["occupancy"].sum() == pytest.approx(1.0, abs=1e-4)
    printed = capsys.readouterr().out
    assert "masked time in QRS" in printed and str(png) in printed


def test_a_checkpoint_without_a_masker_is_named(tmp_path, advmask_checkpoint):
    with pytest.raises(FileNotFoundError, match="state.pt"):
        pm.load_advmask(tmp_path, 100)
