"""What a sweep shows while it runs: trial names from the plan, a short progress table, one
line per stage as trials finish, and everything else in the sweep's log file.

- `trial_name(stage, trial)`: `pretrain/advmask+3kg/s1`, `probe/3kg/arrhythmia/0.01/s10`,
  `tune/advmask(tuned)/<trial id>`; `trial_dirname(stage, trial)` the plan key, which is
  file-name safe (`advmask_plus_3kg-s1`). Both go to `tune.TuneConfig`.
- `StageTable`: Tune's progress reporter: the trials by name, their status and two or three
  metrics of the stage, every `period_s`. Ray 2.60's default output engine ignores a
  `progress_reporter` (ray-project/ray#38202, open since 2.6); `legacy_output()` switches to
  the one that uses it.
- `StageLines`: a Tune callback that prints one line for the stage each time trials finish
  (at most one every `every_s` seconds, and always for a failure and at the end): done,
  running, failed, elapsed and an estimate of the time left.
- `Console`: while it is active, the terminal gets only the sweep's own lines (`say`);
  Tune's table, Ray's log messages and the trials' output go to the log file
  (`SweepLayout.log`), and with `verbose` to the terminal as well.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from ray.tune import Callback
from ray.tune.progress_reporter import ProgressReporter

from search_spaces.plan import slug
from sweep import disk, signals
from sweep.store import layout

# the columns of the progress table, per stage: result key -> header
METRIC_COLUMNS = {
    layout.PRETRAIN: {"epoch": "epoch", "nt_xent": "NT-Xent", "samples_per_s": "samples/s"},
    layout.PROBE: {"val_accuracy": "val acc", "test_accuracy": "test acc"},
    layout.SEARCH: {"epoch": "epoch", "nt_xent": "NT-Xent", "val_accuracy": "val acc"},
}
NEW_OUTPUT_ENV = "RAY_AIR_NEW_OUTPUT"  # "0": the output engine that honours progress_reporter


def legacy_output() -> None:
    """Ray 2.60's default output engine ignores `RunConfig.progress_reporter` (tune.py:
    "AIR_VERBOSITY is set, ignoring passed-in ProgressReporter"); set before `Tuner.fit`."""
    os.environ[NEW_OUTPUT_ENV] = "0"


# --------------------------------------------------------------------------- names


def trial_name(stage: str, trial) -> str:
    """The trial as the plan names it (used by the table, the logs, MLflow and W&B)."""
    c = trial.config or {}
    if stage == layout.PRETRAIN and c.get("row") is not None:
        return f"{stage}/{c['row']}/s{c.get('seed')}"
    if stage == layout.PROBE and c.get("row") is not None:
        return f"{stage}/{c['row']}/{c.get('task')}/{float(c.get('fraction')):g}/s{c.get('seed')}"
    if c.get("row") is not None:
        return f"{stage}/{c['row']}/{trial.trial_id}"
    return f"{stage}/{trial.trial_id}"


def trial_dirname(stage: str, trial) -> str:
    """The trial's folder in its experiment: the plan's key (unique in the stage), or the
    trial id for a searched stage, whose samples share one key."""
    key = (trial.config or {}).get("key")
    if stage == layout.SEARCH or not key:
        return str(trial.trial_id)
    return slug(str(key))


# --------------------------------------------------------------------------- the terminal and the log


class _Stream:
    """A text stream that writes to the log file and, when given, to the terminal."""

    def __init__(self, log, terminal=None):
        self._log, self._terminal = log, terminal

    def write(self, text: str) -> int:
        self._log.write(text)
        if self._terminal is not None:
            self._terminal.write(text)
        return len(text)

    def flush(self) -> None:
        self._log.flush()
        if self._terminal is not None:
            self._terminal.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:  # some libraries ask; the log file is a real file
        return self._log.fileno()


_ACTIVE: "Console | None" = None


def say(line: str) -> None:
    """A line of the sweep's own: on the terminal (and in the log while a Console is active)."""
    if _ACTIVE is not None:
        _ACTIVE.say(line)
    else:
        print(line, flush=True)


class Console:
    """`with Console(path, verbose=False): ...` sends what is printed inside to the log file."""

    def __init__(self, log_path: str | os.PathLike, *, verbose: bool = False):
        self.log_path = str(log_path)
        self.verbose = verbose
        self._saved = None

    def say(self, line: str) -> None:
        self._terminal.write(line + "\n")
        self._terminal.flush()
        if not self.verbose:  # verbose: the terminal stream is the log's tee already
            self._log.write(line + "\n")
            self._log.flush()

    def __enter__(self) -> "Console":
        global _ACTIVE
        os.makedirs(os.path.dirname(self.log_path) or ".", exist_ok=True)
        self._log = open(self.log_path, "a", buffering=1, encoding="utf-8")
        self._log.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
        out, err = sys.stdout, sys.stderr
        self._terminal = out
        new_out = _Stream(self._log, out if self.verbose else None)
        new_err = _Stream(self._log, err if self.verbose else None)
        # Ray's loggers hold the streams they were created with: point them at the log too
        handlers = []
        for logger in [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]:
            for handler in logger.handlers:
                # Ray's own handler (a StreamHandler) keeps the stderr of its creation
                if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) and handler.stream in (out, err, sys.__stdout__, sys.__stderr__):
                    handlers.append((handler, handler.stream))
                    handler.setStream(new_err if handler.stream in (err, sys.__stderr__) else new_out)
        self._saved = (out, err, handlers)
        sys.stdout, sys.stderr = new_out, new_err
        if self.verbose:
            self._terminal = _Stream(self._log, out)
        _ACTIVE = self
        return self

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        out, err, handlers = self._saved
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err
        for handler, stream in handlers:
            handler.setStream(stream)
        _ACTIVE = None
        self._log.close()


# --------------------------------------------------------------------------- the table


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class StageTable(ProgressReporter):
    """Tune's progress table for one stage: name, status and the stage's metrics, every
    `period_s` seconds: the running and failed trials and the latest finished ones."""

    def __init__(self, stage: str, *, period_s: float = 30.0, max_rows: int = 20):
        self.stage = stage
        self.columns = METRIC_COLUMNS.get(stage, {})
        self.period_s = period_s
        self.max_rows = max_rows
        self._last = 0.0
        self._start = time.time()

    def setup(self, start_time=None, total_samples=None, metric=None, mode=None, **kwargs):
        self._start = start_time or time.time()
        self._total = total_samples

    def should_report(self, trials, done: bool = False) -> bool:
        return done or time.time() - self._last >= self.period_s

    def report(self, trials, done: bool, *sys_info: str) -> None:
        self._last = time.time()
        print(self.render(trials, done), flush=True)

    def render(self, trials, done: bool = False) -> str:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        status = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        head = f"== {self.stage}{' (done)' if done else ''}: {status} | {duration(time.time() - self._start)}"
        order = {"RUNNING": 0, "ERROR": 1, "PAUSED": 2, "PENDING": 3, "TERMINATED": 4}
        finished = [t for t in trials if t.status == "TERMINATED"][-5:]
        shown = [t for t in trials if t.status in ("RUNNING", "ERROR", "PAUSED")] + finished
        shown += [t for t in trials if t.status == "PENDING"][: max(0, self.max_rows - len(shown))]
        shown = sorted(shown, key=lambda t: order.get(t.status, 5))[: self.max_rows]
        names = [str(t) for t in shown]
        width = max([len("trial"), *map(len, names)])
        header = f"  {'trial':<{width}}  {'status':<10}" + "".join(f"  {h:>10}" for h in self.columns.values())
        lines = [head, header]
        for name, t in zip(names, shown):
            result = t.last_result or {}
            lines.append(f"  {name:<{width}}  {t.status:<10}" + "".join(f"  {_cell(result.get(k)):>10}" for k in self.columns))
        hidden = len(trials) - len(shown)
        if hidden > 0:
            lines.append(f"  ... {hidden} more")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the stage lines


def duration(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def error_line(trial) -> str:
    """The last line of the trial's stored error (the exception and its message)."""
    try:
        text = str(trial.get_error() or "")
    except Exception:  # noqa: BLE001 - a trial without a readable error file still gets its line
        text = ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "failed"


class StageLines(Callback):
    """One line for the stage as trials finish: `pretrain  12/33 done, 2 running, 0 failed |
    3m05s elapsed, ~5m20s left`; at most one every `every_s` seconds, plus one per failure
    and one at the end. The estimate is the time between trial ends since the first one ended
    (Tune's start-up left out; concurrency included) times the trials left."""

    def __init__(self, stage: str, total: int, *, every_s: float = 10.0):
        self.stage = stage
        self.total = total
        self.every_s = every_s
        self._reset()

    def _reset(self) -> None:
        self._start = time.monotonic()
        self._last = float("-inf")
        self._done: set[str] = set()
        self._failed: set[str] = set()
        self._earlier: set[str] = set()  # finished before this driver started (--resume)
        self._ends: list[float] = []  # when each trial of this driver ended
        self._seen = False
        self._said = ""

    def setup(self, **info) -> None:
        self._reset()

    def on_step_begin(self, iteration: int, trials, **info) -> None:
        signals.on_tune_step()  # a Ctrl-C / SIGTERM that came before Tune's own handler was in place
        if not self._seen:
            self._seen = True
            self._earlier = {t.trial_id for t in trials if t.status == "TERMINATED"}
            self._done |= self._earlier

    def _recovered(self, trial) -> None:
        """A trial that started again because its checkpoint was unreadable (sweep.store.recoveries)."""
        from sweep.store import recoveries

        storage = getattr(trial, "storage", None)
        key = (trial.config or {}).get("key")
        message = recoveries.read(str(storage.storage_fs_path), self.stage, key) if storage is not None and key else None
        if message:
            say(f"{self.stage:<8}  {key}: {message}")

    def on_trial_complete(self, iteration: int, trials, trial, **info) -> None:
        self._recovered(trial)
        self._ends.append(time.monotonic())
        self._failed.discard(trial.trial_id)
        self._done.add(trial.trial_id)
        self._line(trials, force=len(self._done) + len(self._failed) >= self.total)

    def on_trial_error(self, iteration: int, trials, trial, **info) -> None:
        self._recovered(trial)
        self._ends.append(time.monotonic())
        self._failed.add(trial.trial_id)
        say(f"{self.stage:<8}  FAILED {trial}: {disk.explain(error_line(trial), getattr(trial, 'path', None))}")
        self._line(trials, force=True)

    def on_experiment_end(self, trials, **info) -> None:
        self._line(trials, force=True, final=True)

    def _line(self, trials, *, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        line = self.describe(trials, final=final)
        if line != self._said:  # the end right after a failure's line says nothing new
            say(line)
            self._said = line

    def describe(self, trials, *, final: bool = False) -> str:
        total = max(self.total, len(trials))
        done, failed = len(self._done), len(self._failed)
        running = sum(1 for t in trials if t.status == "RUNNING" and t.trial_id not in self._done | self._failed)
        elapsed = time.monotonic() - self._start
        line = f"{self.stage:<8}  {done}/{total} done, {running} running, {failed} failed | {duration(elapsed)} elapsed"
        left = total - done - failed
        if final or left <= 0 or len(self._ends) < 2:
            return line
        # the pace since the first trial of this driver ended (start-up excluded), kept up for the rest
        per_trial = (self._ends[-1] - self._ends[0]) / (len(self._ends) - 1)
        return line + f", ~{duration(per_trial * left)} left (estimate)"
