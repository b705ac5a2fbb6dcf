"""The local Ray cluster of a killed driver, ended by the next driver of the same sweep.

A driver SIGKILLed (or dead by OOM) leaves its local cluster's agents behind:
`ray::DashboardAgent` and `ray::RuntimeEnvAgent` live on, reparented to init, and ignore
SIGTERM for a minute or more. The driver that starts a local cluster writes
`<sweep>/ray_cluster.json` (host, driver pid, session directory); the next driver of that
sweep, once it holds the sweep's lock (so the writer is gone), ends the processes that
still belong to that session: those whose command line names the session directory or that
hold a file open in it (the agents rename themselves, but keep their logs there open).
Nothing else is touched: another Ray instance on the machine has its own session directory.
"""

from __future__ import annotations

import os
import signal
import socket
import time

from ecgmask.data.cache import pid_alive
from sweep.store import files as store
from sweep.store.layout import is_uri, join

RECORD = "ray_cluster.json"
GRACE_S = 2.0  # SIGTERM, then SIGKILL after this long (the agents ignore SIGTERM)


def record_path(sweep_dir: str) -> str:
    return join(sweep_dir, RECORD)


def record_session(sweep_dir: str, session_dir: str) -> None:
    """Notes the local cluster this driver started, for the next driver of the sweep."""
    if is_uri(sweep_dir) or not session_dir:
        return
    store.write_json(record_path(sweep_dir), {"host": socket.gethostname(), "driver_pid": os.getpid(), "session_dir": str(session_dir)})


def session_processes(session_dir: str) -> list[int]:
    """The processes of this machine that belong to a Ray session: its directory is on their
    command line, or they hold a file open inside it."""
    session_dir = os.path.abspath(session_dir).rstrip("/")
    needle = session_dir + "/"
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"{session_dir} " in cmdline + " " or needle in cmdline or f"{session_dir}," in cmdline:
            found.append(pid)
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target == session_dir or target.startswith(needle):
                found.append(pid)
                break
    return found


def end_processes(pids: list[int], *, grace_s: float = GRACE_S) -> list[int]:
    """SIGTERM, then SIGKILL what is still alive after `grace_s`; returns the pids signalled."""
    signalled = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            signalled.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(p) for p in signalled):
        time.sleep(0.1)
    for pid in signalled:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return signalled


def end_leftovers(sweep_dir: str, *, announce=print) -> list[int]:
    """Ends what is left of the local cluster of this sweep's previous driver (call while
    holding the sweep's lock); returns the pids ended."""
    if is_uri(sweep_dir) or not os.path.isdir("/proc"):
        return []
    try:
        record = store.read_json(record_path(sweep_dir))
    except (OSError, ValueError):
        return []
    if not record or record.get("host") != socket.gethostname() or not record.get("session_dir"):
        return []
    driver = int(record.get("driver_pid") or 0)
    if driver == os.getpid() or (driver and pid_alive(driver) and driver in session_processes(record["session_dir"])):
        return []  # that driver still runs (it cannot: we hold the lock; but never end a live one's cluster)
    pids = session_processes(record["session_dir"])
    if pids:
        announce(f"ending {len(pids)} leftover process(es) of the killed driver's Ray session {record['session_dir']} (pids {', '.join(map(str, pids))})")
        end_processes(pids)
    os.remove(record_path(sweep_dir))
    return pids


def main(argv=None) -> int:
    """`python -m sweep.leftovers [--watch] SESSION_DIR`: the processes still alive of a Ray
    session; with --watch, each change (seconds since the start) until none is left."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sweep.leftovers", description=main.__doc__)
    parser.add_argument("session_dir")
    parser.add_argument("--watch", action="store_true")
    args = parser.parse_args(argv)

    def names() -> list[str]:
        out = []
        for pid in session_processes(args.session_dir):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    out.append(f"{pid} {f.read().split(bytes(1))[0].decode(errors='replace')[:40]}")
            except OSError:
                pass
        return sorted(out)

    start, last = time.monotonic(), None
    while True:
        now = names()
        if now != last:
            print(f"{time.monotonic() - start:6.1f} s: {len(now)} left: {', '.join(now) or '-'}", flush=True)
            last = now
        if not args.watch or not now:
            return 0
        time.sleep(1.0)


if __name__ == "__main__":
    raise SystemExit(main())
