"""Frozen-encoder embeddings (`ecgmask.transfer.embeddings`): stored once per downstream cache and
reused, recomputed when stale, computed in eval mode."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch

from ecgmask.checkpoint import save_encoder
from ecgmask.models import ResNet1d18
from ecgmask.transfer import compute_embeddings, embeddings, embeddings_path

from .fakes import CountingEncoder, FakeCache


def test_embeddings_are_stored_once_and_reused(tmp_path):
    cache = FakeCache(n_patients=8)
    torch.manual_seed(0)
    encoder = CountingEncoder(width=4)
    save_encoder(tmp_path, encoder)
    first = embeddings(encoder, cache, tmp_path, batch_size=5)
    assert encoder.calls == math.ceil(len(cache) / 5)
    path = tmp_path / f"embeddings-{cache.meta['key']}.npy"
    assert embeddings_path(tmp_path, cache) == path and path.is_file()
    assert first.shape == (len(cache), encoder.out_dim) and first.dtype == np.float32
    mtime = path.stat().st_mtime_ns

    encoder.calls = 0
    second = embeddings(encoder, cache, tmp_path)
    assert encoder.calls == 0  # the stored file was read, the encoder never ran
    assert path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(first, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["encoder.pt", path.name])  # no temporary left

    # another downstream cache gets its own file
    other = FakeCache(n_patients=3, key="fake1")
    embeddings(encoder, other, tmp_path)
    assert (tmp_path / "embeddings-fake1.npy").is_file() and encoder.calls > 0


def test_embeddings_recomputed_when_encoder_is_newer_or_file_is_wrong(tmp_path):
    cache = FakeCache(n_patients=4)
    encoder = CountingEncoder(width=4)
    save_encoder(tmp_path, encoder)
    embeddings(encoder, cache, tmp_path)
    path = embeddings_path(tmp_path, cache)

    later = time.time() + 10  # a rewritten checkpoint (a resumed pretraining) makes the file stale
    os.utime(tmp_path / "encoder.pt", (later, later))
    encoder.calls = 0
    embeddings(encoder, cache, tmp_path)
    assert encoder.calls > 0

    np.save(path, np.zeros((3, encoder.out_dim), dtype=np.float32))  # wrong number of rows
    encoder.calls = 0
    out = embeddings(encoder, cache, tmp_path)
    assert encoder.calls > 0 and out.shape[0] == len(cache)


def test_embeddings_use_eval_mode_and_leave_the_encoder_untouched():
    cache = FakeCache(n_patients=4)
    torch.manual_seed(0)
    encoder = ResNet1d18(width=4)
    encoder.train()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    out = compute_embeddings(encoder, cache, batch_size=3)
    assert encoder.training  # mode restored
    for k, v in encoder.state_dict().items():  # BN running stats not updated
        assert torch.equal(v, before[k]), k
    encoder.eval()
    with torch.no_grad():
        expected = encoder(cache.batch(np.arange(len(cache)))).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
