"""The driver's closing lines: what did not go to plan (failed trials, a full disk named as
such, probes skipped because their encoder failed to pretrain, trials that recovered silently
because a checkpoint could not be read) and where this driver's time went."""

from __future__ import annotations

from sweep import disk

SKIPPED_SIGN = "SkippedInput"  # trainables.probe.SkippedInput: the encoder's pretraining failed


def failure_lines(failed: dict, sweep_dir: str) -> list[str]:
    """`failed trials:` and `skipped (their pretraining failed):`, one line per trial."""
    skipped = {k: v for k, v in failed.items() if SKIPPED_SIGN in v}
    others = {k: disk.explain(v, sweep_dir) for k, v in failed.items() if k not in skipped}
    lines = []
    if others:
        lines.append("failed trials:")
        lines += [f"  {key}: {error}" for key, error in sorted(others.items())]
    if skipped:
        lines.append("skipped trials (their encoder failed to pretrain; nothing ran):")
        lines += [f"  {key}: {_skip_reason(error)}" for key, error in sorted(skipped.items())]
    return lines


def _skip_reason(error: str) -> str:
    """From `... SkippedInput: probe trial 'k' skipped: pretraining trial 'p' failed: X (failed before...)`
    the part from `pretraining trial`."""
    at = error.find("pretraining trial")
    text = error[at:] if at >= 0 else error
    tail = " (failed before; not retried)"
    return text[: -len(tail)] if text.endswith(tail) else text


def recovery_lines(sweep_dir: str) -> list[str]:
    """`recovered trials:`, one line per trial that started again on its own (sweep.store.recoveries)."""
    from sweep.store import recoveries

    found = recoveries.read_all(sweep_dir)
    if not found:
        return []
    return ["recovered trials:", *(f"  {key}: {message}" for key, message in sorted(found.items()))]


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def time_split_line(parts: list[tuple[str, float]], total_s: float) -> str:
    """`time: corpus 0:00:02, pretrain 0:24:10, ..., other 0:00:31, total 0:36:40 (this driver)`;
    "other" is what no part covers (Ray's start-up, the checks, writing the plan). A resumed
    sweep counts only what this driver did."""
    other = max(0.0, total_s - sum(s for _, s in parts))
    shown = ", ".join(f"{name} {_clock(s)}" for name, s in [*parts, ("other", other)])
    return f"time: {shown}, total {_clock(total_s)} (this driver)"
