"""Sweep storage: reading and writing the files a sweep keeps next to its Tune experiments.

Which file is where is `sweep.store.layout`'s business (`SweepLayout`); this module does the I/O:
atomic JSON records, publishing a finished directory, a node-local copy of a remote one, the
start audit trail and the failure records that make Tune's retries of a hopeless trial fail
at once. Local paths use the OS (atomic renames); URIs go through `pyarrow.fs`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

from sweep.store.layout import SweepLayout, is_uri, join


def _fs(uri: str):
    import pyarrow.fs

    return pyarrow.fs.FileSystem.from_uri(uri)


def exists(path: str) -> bool:
    if not is_uri(path):
        return os.path.exists(path)
    import pyarrow.fs

    fs, p = _fs(path)
    return fs.get_file_info(p).type != pyarrow.fs.FileType.NotFound


def write_json(path: str, obj: dict) -> None:
    """Writes `obj` so that a reader sees either nothing or the whole file."""
    text = json.dumps(obj, indent=1, sort_keys=True, default=str)
    if is_uri(path):
        fs, p = _fs(path)
        fs.create_dir(p.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(p) as f:  # object stores publish an object on close
            f.write(text.encode())
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def read_json(path: str) -> dict | None:
    """The stored object, or None when the file does not exist."""
    try:
        if is_uri(path):
            fs, p = _fs(path)
            with fs.open_input_stream(p) as f:
                return json.loads(f.read().decode())
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except OSError as err:  # pyarrow reports a missing object as OSError
        if not exists(path):
            return None
        raise OSError(f"{path}: cannot read ({err})") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


def list_names(path: str) -> list[str]:
    """Names directly under a directory (empty when it does not exist)."""
    if not is_uri(path):
        return sorted(os.listdir(path)) if os.path.isdir(path) else []
    import pyarrow.fs

    fs, p = _fs(path)
    infos = fs.get_file_info(pyarrow.fs.FileSelector(p, allow_not_found=True))
    return sorted(i.base_name for i in infos)


def publish_dir(local_dir: str, target: str) -> None:
    """Puts a finished local directory at `target`, replacing a partial one from a crashed run."""
    if is_uri(target):
        import pyarrow.fs

        fs, p = _fs(target)
        fs.delete_dir_contents(p, missing_dir_ok=True)
        pyarrow.fs.copy_files(local_dir, target)
        return
    target_path = Path(target)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    staging = target_path.parent / f".{target_path.name}.{uuid.uuid4().hex}.tmp"
    shutil.copytree(local_dir, staging)
    if target_path.exists():
        shutil.rmtree(target_path)
    os.replace(staging, target_path)


def put_file(local_path: str | os.PathLike, target: str) -> None:
    """Copies one local file to `target`, a local path or a URI."""
    if is_uri(target):
        import pyarrow.fs

        fs, p = _fs(target)
        pyarrow.fs.copy_files(str(local_path), p, destination_filesystem=fs)
        return
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local_path, target)


def localize_dir(path: str, cache_root: str | None = None) -> str:
    """A local directory with the contents of `path`: the path itself when it is local, a
    node-local copy (shared by every trial on the node) when it is a URI."""
    if not is_uri(path):
        return path
    import hashlib

    import pyarrow.fs
    from filelock import FileLock

    root = Path(cache_root or Path(tempfile.gettempdir()) / "ecgmask-checkpoints")
    local = root / hashlib.sha1(path.encode()).hexdigest()[:16]
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(local) + ".lock"):
        if not (local / ".complete").exists():
            if local.exists():
                shutil.rmtree(local)
            local.mkdir()  # copy_files makes the subfolders of the copy, not its top folder
            pyarrow.fs.copy_files(path, str(local))
            (local / ".complete").touch()
    return str(local)


def record_start(layout: SweepLayout, stage: str, key: str, **info) -> None:
    """One record per start of real work: host, pid, time and `info` (the trainables add the
    Ray node and the GPUs, `trainables.context.ray_placement`)."""
    run = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    write_json(
        join(layout.starts(stage, key), f"{run}.json"),
        {"key": key, "stage": stage, "host": socket.gethostname(), "pid": os.getpid(), "time": time.time(), **info},
    )


def start_records(layout: SweepLayout, stage: str, key: str) -> list[dict]:
    """The trial's start records, oldest first."""
    folder = layout.starts(stage, key)
    records = [read_json(join(folder, n)) for n in list_names(folder) if n.endswith(".json")]
    return sorted((r for r in records if r is not None), key=lambda r: r["time"])


def starts(layout: SweepLayout, stage: str, key: str) -> int:
    """How many times a trial started real work."""
    return len([n for n in list_names(layout.starts(stage, key)) if n.endswith(".json")])


class DeterministicFailure(RuntimeError):
    """Raised by a retried trial whose earlier attempt failed for a reason a retry cannot fix."""


class MissingInput(RuntimeError):
    """A trial's input (the encoder of a failed pretraining trial) does not exist."""


REPEATABLE_ERRORS = (ValueError, TypeError, KeyError, FloatingPointError, MissingInput)


def run_recording_failures(layout: SweepLayout, stage: str, key: str, fn, *args, **kwargs):
    """Runs fn; a bad-config or NaN error is recorded so that Tune's retries of this trial
    (which exist for workers that die) fail at once instead of repeating the same work."""
    earlier = read_json(layout.failed(stage, key))
    if earlier is not None:
        raise DeterministicFailure(f"trial {key}: {earlier['error']} (failed before; not retried)")
    try:
        return fn(*args, **kwargs)
    except REPEATABLE_ERRORS as err:
        write_json(layout.failed(stage, key), {"error": f"{type(err).__name__}: {err}"})
        raise


def clear_failures(layout: SweepLayout) -> None:
    """Forgets recorded failures (on --resume: the user may have fixed their cause)."""
    path = layout.failed_dir
    if is_uri(path):
        import pyarrow.fs

        fs, p = _fs(path)
        if fs.get_file_info(p).type != pyarrow.fs.FileType.NotFound:
            fs.delete_dir(p)
    elif os.path.isdir(path):
        shutil.rmtree(path)
