"""The ECG figures of the README: written as PNGs through the one save_figure."""

from __future__ import annotations

import pytest

from analysis import plot_synthetic

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_synthetic_figure_is_written(tmp_path):
    out = plot_synthetic.plot_synthetic(tmp_path / "sub" / "syn.png", per_class=1, dpi=40)
    assert out == tmp_path / "sub" / "syn.png" and out.read_bytes()[:8] == PNG_MAGIC


def test_corpora_figure_is_written(tmp_path):
    pytest.importorskip("deepfakeecg", reason="the deepfake extra is not installed")
    from analysis import plot_corpora

    out = plot_corpora.plot_corpora(tmp_path / "corpora.png", per_corpus=1, dpi=40)
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 10_000
