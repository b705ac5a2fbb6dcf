"""Checks of sweep/run.py's arguments, all made before Ray starts (also under --dry-run).

Each check raises `BadArgument` with one line naming the option, the value and the problem;
the CLI prints it argparse-style and exits 2. Nothing here starts Ray.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from pathlib import Path

from ecgmask.errors import first_line

STORAGE_TIMEOUT_S = 10.0  # how long a URI storage may take to answer


class BadArgument(ValueError):
    """An argument that cannot run; the message is one line."""


# --------------------------------------------------------------------------- numbers


def at_least(option: str, value: float | None, low: float) -> None:
    """`value` (None: not given) is a finite number >= low."""
    if value is not None and not (math.isfinite(value) and value >= low):
        raise BadArgument(f"{option} {value:g}: must be >= {low:g}")


def positive(option: str, value: float | None) -> None:
    """`value` (None: not given) is a finite number > 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise BadArgument(f"{option} {value:g}: must be > 0")


def seeds(text: str) -> tuple[int, ...]:
    """`1,10,42`: at least one, integers >= 0 (numpy's seeds), distinct."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise BadArgument(f"--seeds {text!r}: give at least one seed")
    values = []
    for part in parts:
        try:
            values.append(int(part))
        except ValueError:
            raise BadArgument(f"--seeds {text!r}: {part!r} is not an integer") from None
    if any(v < 0 for v in values):
        raise BadArgument(f"--seeds {text!r}: seeds are integers >= 0")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise BadArgument(f"--seeds {text!r}: {','.join(map(str, repeated))} given more than once")
    return tuple(values)


def fractions(text: str | None) -> list[float] | None:
    """`1,0.1,0.01`: label fractions in (0, 1]."""
    if text is None:
        return None
    out = []
    for part in (t.strip() for t in text.split(",") if t.strip()):
        try:
            value = float(part)
        except ValueError:
            raise BadArgument(f"--fractions {text!r}: {part!r} is not a number") from None
        if not 0 < value <= 1:
            raise BadArgument(f"--fractions {text!r}: {part} is not in (0, 1]")
        out.append(value)
    return out


# --------------------------------------------------------------------------- storage


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def local_storage(storage: str) -> None:
    """The storage directory exists or can be made, and a file can be written in it."""
    path = Path(os.path.abspath(storage))
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise BadArgument(f"--storage {storage}: {existing} is a file, not a directory")
    try:
        # what the sweep will do first: write a file there (no directory is made here)
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".ecgmask-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise BadArgument(f"--storage {storage}: cannot write in {existing} ({err.strerror or first_line(err)})") from None


def uri_storage(storage: str, *, timeout_s: float | None = None) -> None:
    """The bucket (or its prefix) answers within `timeout_s` (default STORAGE_TIMEOUT_S)."""
    import pyarrow.fs

    timeout_s = STORAGE_TIMEOUT_S if timeout_s is None else timeout_s
    answer: dict = {}

    def probe():
        try:
            fs, path = pyarrow.fs.FileSystem.from_uri(storage)
            answer["bucket"] = fs.get_file_info(path.split("/", 1)[0])
        except Exception as err:  # pyarrow raises OSError, ValueError or its own errors
            answer["error"] = err

    thread = threading.Thread(target=probe, name="storage-check", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise BadArgument(f"--storage {storage}: unreachable (no answer within {timeout_s:g} s)")
    if "error" in answer:
        raise BadArgument(f"--storage {storage}: unreachable ({first_line(answer['error'])})")
    if answer["bucket"].type == pyarrow.fs.FileType.NotFound:
        raise BadArgument(f"--storage {storage}: no such bucket")


def storage(storage: str) -> None:
    from sweep.store.layout import is_uri

    if is_uri(storage):
        uri_storage(storage)
    else:
        local_storage(storage)


# --------------------------------------------------------------------------- caches


def caches(data: dict) -> dict:
    """Opens each cache given by --data (`EcgCache.open` checks its files); the second one
    must be a downstream cache (the probes need its labels). Returns {path: its meta}."""
    from ecgmask.data import EcgCache

    metas = {}
    for kind, path in data.items():
        if not os.path.isdir(path):
            raise BadArgument(f"--data {path}: no such cache directory ({kind}; build it with sweep/prepare.py)")
        try:
            cache = EcgCache.open(path)
        except Exception as err:  # any failure to open is this option's problem, told in one line
            raise BadArgument(f"--data {path}: not a usable {kind} cache ({first_line(err)})") from None
        found = cache.meta.get("kind")
        if kind == "downstream" and found != kind:
            raise BadArgument(f"--data {path}: a {found} cache where the {kind} cache goes (order: PRETRAIN_CACHE DOWNSTREAM_CACHE)")
        metas[path] = cache.meta
    return metas


def caches_fit(metas: dict, profile) -> None:
    """Each --data cache ({path: meta}, from `caches`) must have the profile's sampling rate and
    window length (the models are sized by them, and the estimate times them): a cache made for
    another profile is refused, naming the prepare.py options that make a matching one."""
    for path, meta in metas.items():
        kind = meta.get("kind", "")
        fs, length = int(meta["fs"]), int(meta["length"])
        if (fs, length) != (int(profile.fs), int(profile.length)):
            raise BadArgument(
                f"--data {path}: a {kind} cache at {fs} Hz with {length}-sample windows, but the {profile.name} profile "
                f"runs at {profile.fs:g} Hz with {profile.length}-sample windows; make a matching one with "
                f"sweep/prepare.py ... --profile {profile.name} (--fs {profile.fs:g} --length {profile.length} --stride {profile.stride})"
            )
