"""One driver per sweep: a lock file in the sweep directory, held while the driver runs.

`<sweep>/driver.lock` is locked with `fcntl.flock` for the driver's lifetime and names the
host and PID that hold it. The kernel (or the NFS server, for an NFS mount) drops the lock
when that process dies, so a second driver on the same sweep is refused exactly while the
first one lives. A lock left behind by a driver that died is taken over with a message:
when it names this host, the named process must be gone; when it names another host, its
driver cannot be checked from here and the lock file must be removed by hand.

A sweep under a URI (`s3://...`) has no file that can be locked: its lock is a local file
keyed by the URI, which stops a second driver on this machine only.

Why `fcntl.flock` and not the `filelock` package (a dependency already): filelock 3.x opens
the lock file with O_TRUNC on every attempt, so a refused second driver would erase the
holder's host and PID before it could name them (the bound `filelock>=3.12` admits 3.x);
4.x falls back on its own to a marker-file lock where flock is missing, which is not the
stale-lock rule above (the kernel's word that the holder is gone); and filelock has no
non-blocking shared probe, so `running_driver` (make_table1.py, `--list`) would have to take
the exclusive lock for a moment and could make a driver starting just then fail.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from sweep.store.layout import LOCK_FILE as LOCK_NAME
from sweep.store.layout import is_uri


class SweepBusy(RuntimeError):
    """Another live driver owns the sweep (or may: a lock from another host)."""


def lock_path(sweep_dir: str) -> Path:
    """The lock file of a sweep: in the sweep for a local path, in the temp dir for a URI."""
    if is_uri(sweep_dir):
        digest = hashlib.sha1(str(sweep_dir).rstrip("/").encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "ecgmask-sweep-locks" / f"{digest}.lock"
    return Path(sweep_dir) / LOCK_NAME


def _owner(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    if not text:
        return {}
    try:
        owner = json.loads(text)
    except json.JSONDecodeError:
        return {"text": text}
    return owner if isinstance(owner, dict) else {"text": text}


def _describe(owner: dict) -> str:
    if "pid" not in owner:
        return repr(owner.get("text", "?"))
    return f"pid {owner['pid']} on host {owner.get('host', '?')}"


class SweepLock:
    """The lock of one sweep, held by this process until `release()` (or exit)."""

    def __init__(self, sweep_dir: str, path: Path, fd: int):
        self.sweep_dir = sweep_dir
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Empties the file (a clean end, not a stale lock) and unlocks it. The file stays:
        removing a locked file would let two drivers lock two different files."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "SweepLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _try_lock(fd: int, sweep_dir: str, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        owner = _owner(fd)
        os.close(fd)
        raise SweepBusy(f"sweep {sweep_dir} is in use by another driver ({_describe(owner)}, lock {path}); wait for it to end or stop it") from None


def acquire(sweep_dir: str, *, announce=None) -> SweepLock:
    """Locks the sweep for this process (creating the sweep directory of a local sweep).
    Raises SweepBusy when a live driver holds it. `announce(line)` reports a stale lock
    taken over (default: stderr)."""
    path = lock_path(sweep_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    _try_lock(fd, sweep_dir, path)
    previous = _owner(fd)
    host = socket.gethostname()
    if previous:
        # the lock is free, so its holder is gone; on this host that is certain (flock is
        # the kernel's), from another host it cannot be checked
        if previous.get("host") not in (None, host):
            os.close(fd)
            raise SweepBusy(
                f"sweep {sweep_dir}: lock {path} names {_describe(previous)}, which cannot be checked from {host}; "
                "if that driver is no longer running, remove the lock file"
            )
        (announce or (lambda line: print(line, file=sys.stderr, flush=True)))(
            f"sweep {sweep_dir}: taking over the stale lock of {_describe(previous)}, which is no longer running"
        )
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps({"host": host, "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S"), "argv": sys.argv}).encode())
    os.fsync(fd)
    return SweepLock(sweep_dir, path, fd)


def check_free(sweep_dir: str) -> None:
    """Raises SweepBusy when a live driver holds the sweep; creates nothing (for --dry-run)."""
    path = lock_path(sweep_dir)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    _try_lock(fd, sweep_dir, path)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def running_driver(sweep_dir: str) -> str | None:
    """`sweep still running (driver pid N on host H)` while a driver holds the sweep's lock,
    else None (for readers such as make_table1.py; takes nothing)."""
    path = lock_path(sweep_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            os.close(fd)
            return None
        owner = _owner(fd)
        os.close(fd)
        return f"sweep still running (driver {_describe(owner)})"
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    return None
