"""`python -m ecgmask.transfer` (`ecgmask/transfer/__main__.py`): prints the metrics, refuses in words."""

from __future__ import annotations

import torch

from ecgmask.checkpoint import save_encoder
from ecgmask.models import ResNet1d18

from .fakes import KEYS, synthetic_downstream_cache


def test_cli_prints_the_metrics(tmp_path, capsys):
    from ecgmask.transfer.__main__ import main

    cache_dir = synthetic_downstream_cache(tmp_path, 40, seed=11)
    torch.manual_seed(0)
    save_encoder(tmp_path / "ckpt", ResNet1d18(width=4))
    argv = ["--cache", str(cache_dir), "--checkpoint", str(tmp_path / "ckpt"), "--task", "sex", "--fraction", "0.5",
            "--mode", "linear", "--seed", "0", "--profile", "laptop", "--steps", "2", "--eval-every", "1", "--device", "cpu", "--json"]
    assert main(argv) == 0
    import json

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(result) and result["epochs_run"] <= 2
    assert list((tmp_path / "ckpt").glob("embeddings-*.npy"))

    # a linear probe without a checkpoint is refused with a clear message, not a traceback
    assert main(["--cache", str(cache_dir), "--mode", "linear", "--steps", "1"]) == 2
    assert "checkpoint" in capsys.readouterr().err
