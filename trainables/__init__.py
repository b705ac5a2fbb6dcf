"""Ray Tune function trainables: thin wrappers around `ecgmask.pretrain` and `ecgmask.transfer`.

- `pretrain_trainable`: one pretraining run, checkpointed and resumable;
- `probe_trainable`: one transfer run of a published encoder (or none: scratch, random);
- `search_trainable`: pretraining with a probe after every epoch (for searched spaces);
- `loop`: the epoch loop the two pretraining trainables share;
"""

from trainables.context import TrialContext
from trainables.pretrain import pretrain_trainable
from trainables.probe import probe_trainable
from trainables.search import search_trainable

__all__ = ["TrialContext", "pretrain_trainable", "probe_trainable", "search_trainable"]
