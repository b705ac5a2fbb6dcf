"""Ctrl-C (SIGINT) and SIGTERM stop a sweep: the stage running ends the way Tune ends an
interrupted experiment (its state saved, unfinished trials left to resume), no later stage
starts, and the driver exits 128 + the signal (130, 143) with the command that resumes.

`install()` puts the handlers in place (again after `ray.init`, which sets its own SIGTERM
handler). A signal received while Tune runs a stage is passed to Tune's own graceful stop
(the SIGUSR1 handler Tune installs for each `fit`; Tune's SIGINT handler is turned off so
that both signals come here first); `StageLines.on_step_begin` passes on one that arrived
before Tune's handler was in place. `check()` between stages raises `Interrupted`. A signal
outside a stage (building the data, starting Ray) raises `Interrupted` at once; a second
signal always does.
"""

from __future__ import annotations

import os
import shlex
import signal

TUNE_SIGINT_ENV = "TUNE_DISABLE_SIGINT_HANDLER"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The driver was asked to stop by a signal."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


_received: int | None = None
_in_stages = False  # inside run_sweep: Tune ends the stage, the next check() raises
_passed_on = False


def received() -> int | None:
    return _received


def _pass_to_tune(frame=None) -> bool:
    """Tune's own stop (the handler `tune.run` installs for SIGUSR1): saves and ends `fit`."""
    global _passed_on
    handler = signal.getsignal(signal.SIGUSR1)
    if callable(handler):
        handler(signal.SIGUSR1, frame)
        _passed_on = True
        return True
    return False


def _handle(signum, frame) -> None:
    global _received
    if _received is not None or not _in_stages:
        _received = _received or signum
        raise Interrupted(_received)
    _received = signum
    _pass_to_tune(frame)


def install() -> None:
    """Our handlers for SIGINT and SIGTERM (main thread only), Tune's SIGINT handler off."""
    os.environ[TUNE_SIGINT_ENV] = "1"
    for signum in SIGNALS:
        signal.signal(signum, _handle)


class installed:
    """`with signals.installed(): ...`: our handlers inside, the previous ones (and Tune's
    SIGINT setting) back after, with no signal remembered from an earlier use."""

    def __enter__(self):
        global _received, _passed_on
        _received, _passed_on = None, False
        self._saved = {s: signal.getsignal(s) for s in SIGNALS}
        self._env = os.environ.get(TUNE_SIGINT_ENV)
        install()
        return self

    def __exit__(self, *exc) -> None:
        global _received, _passed_on
        _received, _passed_on = None, False  # a later sweep in this process starts uninterrupted
        for signum, handler in self._saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if self._env is None:
            os.environ.pop(TUNE_SIGINT_ENV, None)
        else:
            os.environ[TUNE_SIGINT_ENV] = self._env


def on_tune_step() -> None:
    """Called by Tune at every step of a stage: a signal that came before Tune's handler
    was installed is passed on now."""
    if _received is not None and not _passed_on:
        _pass_to_tune()


class stages:
    """`with signals.stages(): run_sweep(...)`: a signal ends the current stage the way Tune
    ends an interrupted experiment instead of raising in the middle of it."""

    def __enter__(self):
        global _in_stages, _passed_on
        _in_stages, _passed_on = True, False
        check()
        return self

    def __exit__(self, *exc) -> None:
        global _in_stages
        _in_stages = False


def check() -> None:
    """Raises Interrupted when a signal has been received (between stages)."""
    if _received is not None:
        raise Interrupted(_received)


def resume_command(argv: list[str], name: str) -> str:
    """The command line that continues this sweep: the same options, --name and --resume."""
    args = [a for a in argv[1:] if a != "--resume"]
    if not any(a == "--name" or a.startswith("--name=") for a in args):
        args += ["--name", name]
    return shlex.join(["python", argv[0] if argv else "sweep/run.py", *args, "--resume"])
