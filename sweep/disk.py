"""Disk space: the driver's check before each stage, and naming a full disk in errors.

`check_stage(stage, configs, context)` estimates what the stage will write to the sweep's
storage from the plan (the trials not yet done) and the model sizes (parameters counted on
the `meta` device: nothing is allocated), and raises `NotEnoughSpace` in one line when the
free space is below that estimate. The estimate is a lower bound (a pretraining trial: two
checkpoints at once, the one Tune keeps and the one being staged, plus its published
encoder; a probe stage: one embeddings file per encoder), so a refusal means the stage
clearly cannot fit. A storage URI is not checked.

A full disk reaches a trial as whatever the writer made of ENOSPC (torch.save says
`basic_ios::clear: iostream error` or `unexpected pos`); `explain(error, path)` names the
cause when the error is a write error and the file system holding `path` is (nearly) full.
"""

from __future__ import annotations

import errno
import os
import shutil

from sweep.store import layout
from sweep.store import files as store

FLOAT_BYTES = 4
ADAM_STATE = 3  # weights, first and second moments
# what a failed write looks like from torch.save / numpy / Python on a full file system
WRITE_ERROR_SIGNS = ("No space left on device", "Errno 28", "basic_ios::clear", "iostream error", "unexpected pos",
                     "PytorchStreamWriter failed", "file write failed")
NEARLY_FULL_BYTES = 64 * 2**20  # below this (or 1 % of the file system), a write error is taken as a full disk


class NotEnoughSpace(RuntimeError):
    """The sweep's file system cannot hold what the next stage will write."""


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def usage(path: str) -> tuple[str, int, int] | None:
    """(the nearest existing folder of `path`, its free bytes, its file system's size); None for a URI."""
    if path is None or layout.is_uri(str(path)):
        return None
    where = os.path.abspath(str(path))
    while not os.path.exists(where) and os.path.dirname(where) != where:
        where = os.path.dirname(where)
    try:
        du = shutil.disk_usage(where)
    except OSError:
        return None
    return where, du.free, du.total


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def pretrain_bytes(config: dict, profile) -> int:
    """A lower bound of what one pretraining trial writes: two checkpoints (state.pt: the
    networks and their Adam moments; encoder.pt) and the published encoder."""
    import torch

    from ecgmask.models import Projector, ResNet1d18, UNet1d

    config = {**config, **config.get("pretrain", {})}  # identity (augmentation) and PretrainConfig fields
    width = int(config.get("width") or profile.width)
    with torch.device("meta"):
        encoder = ResNet1d18(width=width)
        networks = _params(encoder) + _params(Projector(encoder.out_dim, hidden=4 * encoder.out_dim))
        if "advmask" in str(config.get("augmentation", "")):
            networks += _params(UNet1d(12, n_masks=int(config.get("n_masks") or 2), width=int(config.get("masker_width") or profile.masker_width)))
    encoder_pt = _params(encoder) * FLOAT_BYTES
    checkpoint = networks * FLOAT_BYTES * ADAM_STATE + encoder_pt
    return 2 * checkpoint + encoder_pt


def probe_bytes(configs: list[dict], context) -> int:
    """A lower bound of what a probe stage writes: one float32 embeddings file per encoder."""
    try:
        n_windows = int(store.read_json(os.path.join(context.data["downstream"], "meta.json"))["n_windows"])
    except (TypeError, KeyError, ValueError, OSError):
        return 0
    encoders = {c["pretrain_key"] for c in configs if c.get("pretrain_key")}
    width = int(context.profile.width)
    return len(encoders) * n_windows * 8 * width * FLOAT_BYTES  # ResNet1d18.out_dim == 8 * width


def stage_bytes(stage: str, configs: list[dict], context) -> int:
    sweep = context.layout
    todo = [c for c in configs if store.read_json(sweep.done(stage, c["key"])) is None]
    if stage in (layout.PRETRAIN, layout.SEARCH):
        return sum(pretrain_bytes(c, context.profile) for c in todo)
    return probe_bytes(todo, context)


def check_stage(stage: str, configs: list[dict], context) -> None:
    """Raises NotEnoughSpace when the sweep's file system has less free space than the stage's
    lower-bound estimate."""
    found = usage(context.sweep_dir)
    if found is None or not configs:
        return
    where, free, total = found
    need = stage_bytes(stage, configs, context)
    if need > free:
        raise NotEnoughSpace(
            f"{stage}: not enough disk space at {where}: the stage writes at least {human(need)} "
            f"({len(configs)} trials), {human(free)} free of {human(total)}; free some space or choose another --storage"
        )


def is_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno == errno.ENOSPC


def explain(error: str, path: str | None) -> str:
    """`error` with its cause named when it is a write error on a (nearly) full file system:
    `no space left on device (errno 28) at PATH: 1.2 MiB free of 20.0 MiB; the trial said: ...`."""
    if not error or "errno 28" in error or not any(sign in error for sign in WRITE_ERROR_SIGNS):
        return error
    found = usage(path)
    if found is None:
        return error
    where, free, total = found
    if free > max(NEARLY_FULL_BYTES, total // 100) and "No space left on device" not in error:
        return error
    return f"no space left on device (errno 28) at {where}: {human(free)} free of {human(total)}; the trial said: {error}"
