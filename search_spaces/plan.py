"""SweepPlan: the trials of one sweep, as plain configs (what `plan(profile, seeds)` returns).

A grid space lists its pretraining trials and its probe trials. Every trial has a `key`
unique in its stage (it names its files in the sweep directory and lets `--resume` match it);
a probe names the pretraining trial whose encoder it reads (`pretrain_key`, None for
`scratch` and `random`). A search space (`tune`) lists no trials but a `SearchSpec`.

The trial-config contract: a trial is its identity (`IDENTITY`: key, row, augmentation, seed,
task, fraction, mode, pretrain_key; what results are labelled with) plus its run configs'
other fields as nested mappings, `pretrain: {PretrainConfig field: value}` and
`probe: {ProbeConfig field: value}`. `pretrain_fields` and `probe_fields` are the one place
that turns a trial into those configs' arguments (the settings check, the trainables and the
benchmarks call them).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ecgmask.tasks import PAPER_TASKS, get_task
from ecgmask.transfer.config import CHECKPOINT_MODES, MODES

DEFAULT_SEEDS = (1, 10, 42)  # the reference code's seeds (method.md)
TABLE1_FRACTIONS = (1.0, 0.1, 0.01)
NO_PRETRAINING_MODES = tuple(m for m in MODES if m not in CHECKPOINT_MODES)  # scratch, random: no encoder to read
# a trial's identity: it names and labels the trial; augmentation and seed are also PretrainConfig
# fields, task, fraction, seed and mode ProbeConfig fields
IDENTITY = ("key", "row", "augmentation", "seed", "task", "fraction", "mode", "pretrain_key")
PRETRAIN, PROBE = "pretrain", "probe"  # a trial's nested config sections
LABELS = tuple(k for k in IDENTITY if k != "pretrain_key")  # what a trial's results are labelled with
PROBE_IDENTITY = ("task", "fraction", "seed", "mode")


def slug(text: str) -> str:
    """A file-name-safe form of a label: `advmask(N=3)` -> `advmask_N3`."""
    text = text.replace("+", "_plus_").replace("=", "")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


@dataclass(frozen=True)
class Row:
    """One row of a results table: an augmentation pretrained with some parameters, or a
    baseline without pretraining (mode `scratch` or `random`)."""

    name: str
    augmentation: str = "none"
    mode: str = "linear"
    params: dict = field(default_factory=dict)  # PretrainConfig fields (n_masks, alpha, ...): its trials' `pretrain`
    probe_params: dict = field(default_factory=dict)  # ProbeConfig fields of its probes: their `probe`

    @property
    def pretrained(self) -> bool:
        return self.mode not in NO_PRETRAINING_MODES


@dataclass(frozen=True)
class SearchSpec:
    """A searched space (Optuna + ASHA): one trainable pretrains and probes each sample."""

    param_space: dict  # PretrainConfig field -> ray.tune distribution (the trial's searched `pretrain` fields)
    fixed: dict  # the rest of the trial: identity (augmentation, task, fraction, mode, seed, ...), `pretrain`, `probe`
    metric: str
    mode: str
    num_samples: int
    max_concurrent: int
    grace_period: int = 1
    reduction_factor: int = 2


@dataclass
class SweepPlan:
    space: str
    profile: str
    pretrain: list[dict] = field(default_factory=list)
    probe: list[dict] = field(default_factory=list)
    search: SearchSpec | None = None
    description: str = ""

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        for stage, trials in (("pretrain", self.pretrain), ("probe", self.probe)):
            keys = [t.get("key") for t in trials]
            if any(not k for k in keys):
                raise ValueError(f"space {self.space!r}: a {stage} trial has no key")
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                raise ValueError(f"space {self.space!r}: duplicate {stage} keys {dup}")
        pretrain_keys = {t["key"] for t in self.pretrain}
        for t in self.probe:
            ref = t.get("pretrain_key")
            if t.get("mode") in NO_PRETRAINING_MODES:
                if ref is not None:
                    raise ValueError(f"space {self.space!r}: probe {t['key']} ({t['mode']}) must not name a pretraining trial")
            elif ref not in pretrain_keys:
                raise ValueError(f"space {self.space!r}: probe {t['key']} reads pretraining trial {ref!r}, which the plan lacks")

    def select(
        self,
        *,
        rows: list[str] | None = None,
        tasks: list[str] | None = None,
        fractions: list[float] | None = None,
    ) -> "SweepPlan":
        """A smaller plan (for quick runs and tests): only these rows / tasks / fractions.

        `tasks` may name any task of the registry (ecgmask/tasks.py): a task the plan does not
        probe yet is probed like its first task (same rows, seeds, fractions and encoders), so
        `--tasks superdiagnostic` runs the grid on that task."""
        if rows is not None:
            unknown = sorted(set(rows) - {t["row"] for t in self.pretrain + self.probe})
            if unknown:
                raise ValueError(f"space {self.space!r} has no row(s) {unknown}")
        base = self
        if tasks is not None:
            for name in tasks:
                get_task(name)  # a ValueError naming the registry's tasks
            base = self.with_tasks(tasks)
        if fractions is not None:
            unknown = sorted({float(f) for f in fractions} - {float(t["fraction"]) for t in self.probe})
            if unknown:
                raise ValueError(f"space {self.space!r} has no fraction(s) {unknown}")

        def keep(t: dict) -> bool:
            return (
                (rows is None or t["row"] in rows)
                and (tasks is None or "task" not in t or t["task"] in tasks)
                and (fractions is None or "fraction" not in t or float(t["fraction"]) in {float(f) for f in fractions})
            )

        probe = [t for t in base.probe if keep(t)]
        used = {t["pretrain_key"] for t in probe if t.get("pretrain_key")}
        pretrain = [t for t in self.pretrain if keep(t) and (t["key"] in used or not probe)]
        return SweepPlan(self.space, self.profile, pretrain, probe, self.search, self.description)

    def with_tasks(self, tasks: list[str]) -> "SweepPlan":
        """This plan plus, for every task in `tasks` that it does not probe, a copy of the
        probes of its first task retargeted to that task (keys from `probe_key`)."""
        present = list(dict.fromkeys(t["task"] for t in self.probe if "task" in t))
        missing = [name for name in dict.fromkeys(tasks) if name not in present]
        if not missing:
            return self
        if not present:
            raise ValueError(f"space {self.space!r} has no probe trials to run on task(s) {missing}")
        template = [t for t in self.probe if t.get("task") == present[0]]
        extra = [{**t, "task": name, "key": probe_key(t["row"], t["seed"], name, t["fraction"])}
                 for name in missing for t in template]
        return SweepPlan(self.space, self.profile, self.pretrain, self.probe + extra, self.search, self.description)

    def summary(self) -> dict:
        return {
            "space": self.space,
            "profile": self.profile,
            "pretrain_trials": len(self.pretrain),
            "probe_trials": len(self.probe),
            "search_samples": self.search.num_samples if self.search else 0,
        }

    def to_json(self) -> dict:
        out = {**self.summary(), "description": self.description, "pretrain": self.pretrain, "probe": self.probe}
        if self.search is not None:
            spec = asdict(self.search)
            spec["param_space"] = {k: repr(v) for k, v in self.search.param_space.items()}
            out["search"] = spec
        return out


def _fields_of(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def _what(trial: dict, stage: str) -> str:
    return f"{'pretraining' if stage == PRETRAIN else stage} trial {trial.get('key')!r}"


def _section(trial: dict, section: str, cls, stage: str) -> dict:
    """The trial's `section` mapping, every key a field of `cls` (a clear error otherwise)."""
    values = trial.get(section) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{_what(trial, stage)}: `{section}` must be a mapping of {cls.__name__} fields, got {type(values).__name__}")
    unknown = sorted(set(values) - _fields_of(cls))
    if unknown:
        raise ValueError(f"{_what(trial, stage)}: unknown config key(s) {[f'{section}.{k}' for k in unknown]} ({cls.__name__} fields: {sorted(_fields_of(cls))})")
    return {k: v for k, v in values.items() if v is not None}  # None: a field the trial leaves to the profile


def _check_keys(trial: dict, stage: str) -> None:
    unknown = sorted(set(trial) - set(IDENTITY) - {PRETRAIN, PROBE})
    if unknown:
        raise ValueError(f"{_what(trial, stage)}: unknown config key(s) {unknown} (a trial holds {list(IDENTITY)} and the mappings {PRETRAIN!r}, {PROBE!r})")


def labels(trial: dict) -> dict:
    """The identity a trial's results carry (analysis reads row, task, fraction, seed from them)."""
    return {k: trial[k] for k in LABELS if k in trial}


def pretrain_fields(trial: dict, cls) -> dict:
    """The `cls.from_profile` arguments (cls: PretrainConfig, or a stand-in with its fields) of a
    trial: its augmentation and seed plus its `pretrain` mapping. An unknown key is a ValueError."""
    _check_keys(trial, PRETRAIN)
    values = {k: trial[k] for k in ("augmentation", "seed") if trial.get(k) is not None}
    return {**values, **_section(trial, PRETRAIN, cls, PRETRAIN)}


def probe_fields(trial: dict, cls) -> dict:
    """The `cls.from_profile` arguments (cls: ProbeConfig or a stand-in) of a trial: its task,
    fraction, seed and mode plus its `probe` mapping. An unknown or missing key is a ValueError."""
    _check_keys(trial, PROBE)
    missing = [k for k in PROBE_IDENTITY if trial.get(k) is None]
    if missing:
        raise ValueError(f"{_what(trial, PROBE)}: config lacks {missing}")
    return {**{k: trial[k] for k in PROBE_IDENTITY}, **_section(trial, PROBE, cls, PROBE)}


def pretrain_key(row: Row, seed: int) -> str:
    return f"{slug(row.name)}-s{seed}"


def probe_key(row_name: str, seed: int, task: str, fraction: float) -> str:
    return f"{slug(row_name)}-s{seed}-{task}-f{float(fraction):g}"


def grid_plan(
    *,
    space: str,
    profile: str,
    rows: list[Row],
    seeds: tuple[int, ...] = DEFAULT_SEEDS,
    tasks: tuple[str, ...] = PAPER_TASKS,  # any task of ecgmask/tasks.py can be asked for with select(tasks=...)
    fractions: tuple[float, ...] = TABLE1_FRACTIONS,
    description: str = "",
) -> SweepPlan:
    """Rows x seeds pretraining trials; rows x seeds x tasks x fractions probes. The probe of
    seed s reads the encoder pretrained with seed s."""
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"space {space!r}: duplicate row names {names}")
    if not seeds:
        raise ValueError(f"space {space!r}: no seeds")
    pretrain: list[dict[str, Any]] = []
    probe: list[dict[str, Any]] = []
    for row in rows:
        for seed in seeds:
            pkey = pretrain_key(row, seed) if row.pretrained else None
            if row.pretrained:
                pretrain.append({"key": pkey, "row": row.name, "augmentation": row.augmentation, "seed": int(seed), PRETRAIN: dict(row.params)})
            for task in tasks:
                for fraction in fractions:
                    probe.append(
                        {
                            "key": probe_key(row.name, seed, task, fraction),
                            "row": row.name,
                            "augmentation": row.augmentation,
                            "task": task,
                            "fraction": float(fraction),
                            "seed": int(seed),
                            "mode": row.mode,
                            "pretrain_key": pkey,
                            PROBE: dict(row.probe_params),
                        }
                    )
    return SweepPlan(space, profile, pretrain, probe, None, description)
