"""Mask figure and mask statistics: the numeric side on constructed signals and masks, the
figure from a real (one-step) advmask checkpoint on a tiny synthetic cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import plot_masks as pm

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_statistics_by_hand_inside_the_annotated_time():
    length = 20
    qrs = np.zeros((1, length), bool)
    qrs[0, 2:6] = True
    known = np.ones((1, length), bool)
    known[0, 15:] = False  # the record's edge: not annotated
    masks = np.stack([np.where(np.arange(length) < 8, 0.9, 0.1),  # 0..7: 4 of 8 in QRS
                      np.where(np.arange(length) >= 14, 0.8, 0.0),  # 14..19: one annotated sample, not QRS
                      np.full(length, 0.3)])[None]
    stats = pm.mask_statistics(masks, qrs, known).set_index("mask")
    assert stats.loc[0, "qrs_of_masked"] == pytest.approx(0.5) and stats.loc[0, "qrs_covered"] == 1.0
    assert stats.loc[1, "qrs_of_masked"] == 0.0 and stats.loc[1, "masked_time"] == pytest.approx(6 / 20)
    assert np.isnan(stats.loc[2, "qrs_of_masked"])
    assert np.allclose(stats["qrs_time"], 4 / 15)
    assert stats.loc[0, "qrs_enrichment"] == pytest.approx(0.5 / (4 / 15))
    assert stats.loc[2, "occupancy"] == pytest.approx(0.3)
    # a lower threshold: the 0.3 mask covers everything
    assert pm.mask_statistics(masks, qrs, known, threshold=0.25).loc[2, "masked_time"] == 1.0


def test_bootstrap_interval_contains_the_point_and_is_narrow_for_a_constant_share():
    rng = np.random.default_rng(0)
    b, length = 40, 50
    qrs = np.zeros((b, length), bool)
    qrs[:, 10:20] = True
    masks = np.zeros((b, 2, length))
    masks[:, 0, 10:20] = 1.0  # mask 1 is exactly QRS in every record
    masks[:, 1] = rng.random((b, length))  # mask 2 random
    counts = pm.window_counts(masks, qrs, np.ones_like(qrs), 0.5)
    table = pm.bootstrap_row([counts, counts], np.arange(b), n_boot=200).set_index("mask")
    assert table.loc[0, "qrs_of_masked"] == 1.0 and table.loc[0, "qrs_of_masked_lo"] == 1.0
    assert table.loc[1, "qrs_of_masked_lo"] <= table.loc[1, "qrs_of_masked"] <= table.loc[1, "qrs_of_masked_hi"]
    assert table.loc[1, "qrs_of_masked_hi"] - table.loc[1, "qrs_of_masked_lo"] < 0.1
    assert (table["seeds"] == 2).all() and (table["records"] == b).all()


@pytest.fixture(scope="module")
def advmask_checkpoint(tmp_path_factory):
    """A tiny cache of synthetic records and a real advmask pretraining checkpoint (one step)."""
    from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.corpora.synthetic import sample_params, write_record
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
    # the synthetic records carry the generator's QRS: named, and no detector used
    assert (stats["qrs_source"] == "the generator's QRS (annotations of the synthetic tree)").all()
    assert stats["qrs_time"].between(0.05, 0.4).all()
    printed = capsys.readouterr().out
    assert "masked time in QRS" in printed and "generator's QRS" in printed and str(png) in printed


def test_by_row_over_a_sweep(advmask_checkpoint, tmp_path, capsys):
    import json
    import shutil

    from sweep.store.layout import SweepLayout

    ckpt, cache_path = advmask_checkpoint
    sweep = tmp_path / "sweep"
    layout = SweepLayout(str(sweep))
    for key in ("advmask-s1", "advmask-s2", "advmask_sparsity_only-s1"):
        shutil.copytree(ckpt, Path(layout.encoders) / key)
    plan = {"pretrain": [{"key": "advmask-s1", "row": "advmask"}, {"key": "advmask-s2", "row": "advmask"},
                         {"key": "advmask_sparsity_only-s1", "row": "advmask(sparsity_only)"}],
            "data": {"downstream": str(cache_path)}}
    Path(layout.plan).write_text(json.dumps(plan))
    out = tmp_path / "out"
    assert pm.main(["--sweep", str(sweep), "--by-row", "--name", "syn", "--n-stats", "6", "--out", str(out)]) == 0
    assert (out / "masks_syn.png").read_bytes()[:8] == PNG_MAGIC
    table = pd.read_csv(out / "mask_stats_syn.csv")
    assert table["row"].tolist() == ["advmask", "advmask", "advmask(sparsity_only)", "advmask(sparsity_only)"]
    assert table["seeds"].tolist() == [2, 2, 1, 1]
    assert "| advmask | 2 | 1 |" in (out / "mask_stats_syn.md").read_text()


def test_a_checkpoint_without_a_masker_is_named(tmp_path, advmask_checkpoint):
    with pytest.raises(FileNotFoundError, match="state.pt"):
        pm.load_advmask(tmp_path, 100)
