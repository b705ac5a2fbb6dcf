"""Transfer to the downstream tasks: frozen-encoder embeddings, linear probe, end-to-end training.

`python -m ecgmask.transfer --help` runs one configuration without Ray.
"""

from ecgmask.transfer.config import MODES, TASKS, ProbeConfig
from ecgmask.transfer.embeddings import compute_embeddings, embeddings, embeddings_path
from ecgmask.transfer.end_to_end import train_end_to_end
from ecgmask.transfer.linear import linear_probe
from ecgmask.transfer.probe import run_probe, task_splits

__all__ = [
    "MODES",
    "TASKS",
    "ProbeConfig",
    "compute_embeddings",
    "embeddings",
    "embeddings_path",
    "linear_probe",
    "run_probe",
    "task_splits",
    "train_end_to_end",
]
