"""Transfer to the downstream tasks (`ecgmask.tasks`): frozen-encoder embeddings, linear probe,
end-to-end training; single-label and multi-label tasks (`ecgmask.transfer.objective`).

`python -m ecgmask.transfer --help` runs one configuration without Ray.
"""

from ecgmask.transfer.config import MODES, ProbeConfig
from ecgmask.transfer.embeddings import compute_embeddings, embeddings, embeddings_path
from ecgmask.transfer.end_to_end import train_end_to_end
from ecgmask.transfer.linear import linear_probe
from ecgmask.transfer.objective import Objective, objective_for
from ecgmask.transfer.probe import run_probe, task_splits

__all__ = [
    "MODES",
    "Objective",
    "ProbeConfig",
    "compute_embeddings",
    "embeddings",
    "embeddings_path",
    "linear_probe",
    "objective_for",
    "run_probe",
    "task_splits",
    "train_end_to_end",
]
