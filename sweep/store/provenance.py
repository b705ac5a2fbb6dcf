"""Where a result came from: the code's git commit, the library versions, the command, the machine.

The driver records `sweep_provenance(argv)` once in plan.json; every trial adds
`trial_provenance(...)` (its own host, device and versions, with the driver's commit and
command) to its final result, so a result read on its own still says what produced it.
`analysis/make_table1.py` prints the plan's record under the table. Imports neither Ray nor
torch at module level (the analysis reads these records without them).
"""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the libraries whose versions decide the numbers (torch kernels, Ray's scheduling, numpy RNG, WFDB reading)
LIBRARIES = ("torch", "ray", "numpy", "wfdb")
KEY = "provenance"  # where plan.json and each trial's final result keep the record


def git_state(root: Path = ROOT) -> dict:
    """{"git_commit": sha or None, "git_dirty": bool or None}: None when `root` is not a git
    checkout (an installed copy, a cluster node without .git) or git is missing."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit.strip(), "git_dirty": None if status is None else bool(status.strip())}


def versions() -> dict:
    """python and each of LIBRARIES, as installed in this process's environment (None if absent)."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device: str = "auto") -> str:
    """What `ecgmask.device.resolve_device(device)` picks here, with the GPU model on CUDA."""
    from ecgmask.device import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(resolved)})"
    return str(resolved)


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: the interpreter, the script and its arguments, shell-quoted."""
    argv = list(sys.argv if argv is None else argv)
    return shlex.join([Path(sys.executable).name, *argv])


def sweep_provenance(argv: list[str] | None = None) -> dict:
    """The driver's record for plan.json: commit, versions, command, host and device."""
    return {
        **git_state(),
        **versions(),
        "command": command_line(argv),
        "host": socket.gethostname(),
        "device": device_name(),
    }


def trial_provenance(driver: dict | None, *, device: str = "auto") -> dict:
    """A trial's record: the driver's commit and command (a worker may have no .git), and the
    worker's own versions, host and device."""
    driver = driver or {}
    return {
        "git_commit": driver.get("git_commit"),
        "git_dirty": driver.get("git_dirty"),
        "command": driver.get("command"),
        **versions(),
        "host": socket.gethostname(),
        "device": device_name(device),
    }


def footer(record: dict | None) -> str:
    """One line for under a table: `code <commit>[ (dirty)]; python x, torch y, ...`."""
    if not record:
        return "provenance: not recorded (a sweep written before provenance was kept)"
    commit = record.get("git_commit")
    code = f"code {commit[:12]}" if commit else "code: not a git checkout"
    if commit and record.get("git_dirty"):
        code += " (uncommitted changes)"
    libs = ", ".join(f"{name} {record[name]}" for name in ("python", *LIBRARIES) if record.get(name))
    where = ", ".join(str(record[k]) for k in ("host", "device") if record.get(k))
    return f"{code}; {libs}" + (f"; ran on {where}" if where else "")
