"""Where trials stage a checkpoint before Tune copies it into the sweep.

A trial writes each checkpoint to a fresh folder, reports it, and removes the folder. A
trial killed in between leaves the folder behind (a few MB each), so the folders live where
the next start finds them:

- a local (or NFS) sweep: `<sweep>/staging/`, emptied by the driver when it starts (it holds
  the sweep's lock, so no trial of the sweep is running then);
- a sweep under a URI: `<temp dir>/ecgmask-staging/<sweep hash>/` on the trial's node; each
  new folder's name carries the host and PID that made it, and the folders of dead PIDs of
  this host are removed when the next one is made.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from pathlib import Path

from ecgmask.data.cache import pid_alive
from sweep.store.layout import STAGING, is_uri


def staging_root(sweep_dir: str) -> Path:
    sweep_dir = str(sweep_dir)
    if is_uri(sweep_dir):
        digest = hashlib.sha1(sweep_dir.rstrip("/").encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "ecgmask-staging" / digest
    return Path(sweep_dir) / STAGING


def _owner_gone(name: str, host: str) -> bool:
    """A staging folder `<key>@<host>@<pid>@<random>` made on this host by a dead process."""
    parts = name.split("@")
    if len(parts) != 4 or parts[1] != host or not parts[2].isdigit():
        return False
    return not pid_alive(int(parts[2]))


def new_staging_dir(sweep_dir: str, key: str) -> str:
    """A new empty folder for one checkpoint of trial `key`; the caller removes it."""
    root = staging_root(sweep_dir)
    root.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    for entry in root.iterdir():
        if _owner_gone(entry.name, host):
            shutil.rmtree(entry, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{key}@{host}@{os.getpid()}@", dir=root)


def clear_staging(sweep_dir: str) -> None:
    """Removes the staging folders of a local sweep (the driver, before any trial starts)."""
    if not is_uri(sweep_dir):
        shutil.rmtree(staging_root(sweep_dir), ignore_errors=True)
