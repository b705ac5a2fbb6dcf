"""SimCLR pretraining of the 1D ResNet-18, with any registered augmentation or the
adversarial masker (method.md, Objectives); resumable to the bit.

    cfg = PretrainConfig.from_profile("laptop", augmentation="advmask+3kg", seed=0)
    trainer = Pretrainer(cfg, EcgCache.open(path))
    while not (m := trainer.run_epoch())["stop"]: ...
    trainer.save_checkpoint(out_dir)

View 1 is the normalised ECG, view 2 `augmentation.adversarial_view(x, generator)`. Every
micro-batch is one forward per view and ONE backward; for an adversarial augmentation the
view reaches the masks through a gradient reversal, so that backward gives the encoder the
gradient of NT-Xent(x, masked x) with the masks as constants and the masker the gradient of
-NT-Xent + sparsity penalty, on the same weights; both optimisers then step together every
`accumulation` micro-batches (trainer.py explains the step).

    config.py    PretrainConfig, and `augmentation_options()` (what `ecgmask.augment.build` takes)
    trainer.py   Pretrainer: the step, the epoch loop, early stopping, the checkpoint state
    run.py       pretrain(config, cache_path, out_dir): one run to the end, resuming
    cli.py       `python -m ecgmask.pretrain --help` runs one configuration without Ray
"""

from ecgmask.pretrain.cli import main
from ecgmask.pretrain.config import PretrainConfig
from ecgmask.pretrain.run import pretrain
from ecgmask.pretrain.trainer import STATE_FILE, BatchLosses, Pretrainer

__all__ = ["STATE_FILE", "BatchLosses", "PretrainConfig", "Pretrainer", "main", "pretrain"]
