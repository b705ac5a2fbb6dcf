"""The sweeps under a storage and the state of each: what `sweep/run.py --list` prints.

A sweep is a folder with a `plan.json`. It is `running` while a driver holds its lock (the
lock names that driver), `finished` when every planned trial has a done or failed record,
and `interrupted` otherwise (`--resume --name <it>` continues it).
"""

from __future__ import annotations

from sweep.store import files as store
from sweep.store.layout import PROBE, PRETRAIN, SweepLayout, join


def sweep_names(storage: str) -> list[str]:
    """The names of the sweeps (folders with a plan) under a storage."""
    return [n for n in store.list_names(storage) if store.exists(SweepLayout(join(storage, n)).plan)]


def _records(folder: str) -> set[str]:
    return {n[: -len(".json")] for n in store.list_names(folder) if n.endswith(".json")}


def sweep_state(sweep_dir: str, plan: dict) -> str:
    """`running (driver pid N on host H)`, `finished (...)` or `interrupted (...)`."""
    from sweep.store.lock import running_driver

    busy = running_driver(sweep_dir)
    if busy:
        return "running (" + busy.split("(", 1)[-1]
    if plan.get("search"):  # a searched space writes no per-trial records: its end is Tune's
        return f"not running (searched space, {plan['search'].get('num_samples', '?')} samples planned)"
    layout = SweepLayout(sweep_dir)
    ended = failed = planned = 0
    for stage in (PRETRAIN, PROBE):
        keys = {t["key"] for t in plan.get(stage, []) if "key" in t}
        done = _records(layout.done_dir(stage))
        lost = _records(join(layout.failed_dir, stage))
        planned += len(keys)
        ended += len(keys & (done | lost))
        failed += len(keys & (lost - done))
    counts = f"{ended}/{planned} trials ended" + (f", {failed} failed" if failed else "")
    return f"finished ({counts})" if ended == planned else f"interrupted ({counts})"


def list_lines(storage: str) -> list[str]:
    """One line per sweep under a storage: name, space, profile and state."""
    names = sweep_names(storage)
    if not names:
        return [f"no sweeps under {storage}"]
    width = max(len(n) for n in names)
    lines = [f"sweeps under {storage}:"]
    for name in names:
        path = join(storage, name)
        try:
            plan = store.read_json(SweepLayout(path).plan) or {}
        except (OSError, ValueError) as err:
            lines.append(f"  {name:<{width}}  unreadable plan.json ({err})")
            continue
        lines.append(f"  {name:<{width}}  {plan.get('space', '?')}/{plan.get('profile', '?')}  {sweep_state(path, plan)}")
    return lines
