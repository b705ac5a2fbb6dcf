"""Recoveries a trial made on its own, kept in the sweep so the driver can say so.

A pretraining trial whose Tune checkpoint cannot be read (a truncated or damaged state.pt)
starts again from epoch 0 instead of failing; it writes
`<sweep>/recovered/<stage>/<key>.json` with one line (`checkpoint_000002 unreadable
(RuntimeError: ...), restarted from epoch 0`), which the stage lines and the driver's
summary print.
"""

from __future__ import annotations

from sweep.store import files as store
from sweep.store.layout import join

FOLDER = "recovered"


def path(sweep_dir: str, stage: str, key: str) -> str:
    return join(sweep_dir, FOLDER, stage, f"{key}.json")


def record(sweep_dir: str, stage: str, key: str, message: str) -> None:
    store.write_json(path(sweep_dir, stage, key), {"key": key, "stage": stage, "message": message})


def read(sweep_dir: str, stage: str, key: str) -> str | None:
    try:
        found = store.read_json(path(sweep_dir, stage, key))
    except (OSError, ValueError):
        return None
    return found["message"] if found else None


def read_all(sweep_dir: str) -> dict[str, str]:
    """`stage/key` -> message, for every recovery recorded in the sweep."""
    out = {}
    root = join(sweep_dir, FOLDER)
    for stage in store.list_names(root):
        for name in store.list_names(join(root, stage)):
            if name.endswith(".json"):
                message = read(sweep_dir, stage, name[: -len(".json")])
                if message:
                    out[f"{stage}/{name[: -len('.json')]}"] = message
    return out
