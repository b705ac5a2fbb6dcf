"""Every setting of a sweep, overridable by dotted key and checked before Ray starts.

    --set profile.epochs=10          a field of the profile (ecgmask.profiles.Profile)
    --set pretrain.lr=3e-4           a field of every pretraining run (ecgmask.pretrain.PretrainConfig)
    --set probe.lr=0.01              a field of every probe (ecgmask.transfer.ProbeConfig)
    --set epochs=3                   an undotted key is a profile field (the older spelling)
    --config FILE.yaml               the same keys from a file: `profile: {epochs: 10}` or
                                     `pretrain.lr: 3.0e-4`; --set wins over the file

A value is cast to its field's type (`none` for an optional field). The fields that name a
trial (pretraining augmentation and seed; probe task, fraction, seed and mode) come from the
plan and cannot be set, nor can a parameter the space itself varies (n_masks in `masks`...).
`Settings.apply(plan)` returns a new plan with pretrain.* in every pretraining trial's
`pretrain` mapping and probe.* in every probe trial's `probe` mapping (the trial-config
contract, search_spaces/plan.py); `validate(plan, profile)` then builds every trial's
PretrainConfig / ProbeConfig (with the trainables' own `pretrain_fields` / `probe_fields`)
and every augmentation, so a bad value or a space that names an augmentation the core lacks
fails in one line before any cluster starts.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ecgmask.profiles import Profile
from search_spaces.plan import PRETRAIN, PROBE, pretrain_fields, probe_fields

SECTIONS = ("profile", "pretrain", "probe")
# fields a trial's identity decides (the plan's), never a setting
FIXED = {
    "profile": ("name",),
    "pretrain": ("augmentation", "seed", "augmentation_params"),  # spaces set the last
    "probe": ("task", "fraction", "seed", "mode"),
}


class SettingsError(ValueError):
    """A key or value that cannot be set; the message is one line naming the valid keys."""


def _classes() -> dict[str, type]:
    from ecgmask.pretrain.config import PretrainConfig
    from ecgmask.transfer.config import ProbeConfig

    return {"profile": Profile, "pretrain": PretrainConfig, "probe": ProbeConfig}


def field_types(section: str) -> dict[str, type]:
    """name -> annotated type of the settable fields of a section."""
    cls = _classes()[section]
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in FIXED[section]}


def _hint() -> str:
    per = {s: ", ".join(field_types(s)) for s in SECTIONS}
    return "; ".join(f"{s}.{{{names}}}" for s, names in per.items())


def _options(annotation) -> tuple[tuple[type, ...], bool]:
    """(the concrete types, whether None is allowed) of `int`, `float | None`, ..."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = typing.get_args(annotation)
        return tuple(a for a in args if a is not type(None)), type(None) in args
    return (annotation,), False


def cast(key: str, value, annotation):
    """`value` (text from --set, or a YAML scalar) as the field's type; SettingsError if it is not one."""
    kinds, optional = _options(annotation)
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
        if optional:
            return None
        raise SettingsError(f"{key} cannot be none")
    for kind in kinds:
        try:
            if kind is bool:
                if isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    return value.strip().lower() in ("1", "true", "yes", "on")
                continue
            if kind is int:
                if isinstance(value, bool):
                    continue
                if isinstance(value, int):
                    return value
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                if isinstance(value, str):
                    return int(value.strip())
                continue
            if kind is float:
                if isinstance(value, bool):
                    continue
                if isinstance(value, (int, float)):
                    return float(value)
                if isinstance(value, str):
                    return float(value.strip())  # YAML reads 3e-4 (no dot) as text
                continue
            if kind is str:
                if isinstance(value, str):
                    return value
                continue
        except ValueError:
            continue
    names = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
    wanted = " or ".join(names.get(k, k.__name__) for k in kinds) + (" or none" if optional else "")
    raise SettingsError(f"{key} is {wanted}, not {value!r}")


def check_profile_value(name: str, value) -> None:
    """A profile's integers are sizes, counts and patiences (>= 1), its floats learning rates
    (finite, > 0); the run configs check their own fields when `validate` builds them."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int) and value < 1:
        raise SettingsError(f"profile.{name} must be >= 1, got {value}")
    if isinstance(value, float) and not (math.isfinite(value) and value > 0):
        raise SettingsError(f"profile.{name} must be a finite number > 0, got {value}")


def split_key(key: str) -> tuple[str, str]:
    """`section.field` -> (section, field); an undotted profile field is profile.<field>."""
    key = key.strip()
    section, dot, name = key.partition(".")
    if not dot:
        if key in field_types("profile"):
            return "profile", key
        raise SettingsError(f"unknown setting {key!r}: use a dotted key, one of {_hint()}")
    if section not in SECTIONS:
        raise SettingsError(f"unknown setting {key!r}: the section must be one of {list(SECTIONS)}; valid keys: {_hint()}")
    if name in FIXED[section]:
        raise SettingsError(f"{key}: set by each trial of the plan, not a setting; valid keys: {_hint()}")
    if name not in field_types(section):
        raise SettingsError(f"unknown setting {key!r}: {section} has {', '.join(field_types(section))}")
    return section, name


@dataclass
class Settings:
    """The overrides in force, by section: {"profile": {...}, "pretrain": {...}, "probe": {...}}."""

    profile: dict = field(default_factory=dict)
    pretrain: dict = field(default_factory=dict)
    probe: dict = field(default_factory=dict)

    def set(self, key: str, value) -> None:
        section, name = split_key(key)
        value = cast(f"{section}.{name}", value, field_types(section)[name])
        if section == "profile":
            check_profile_value(name, value)
        if isinstance(value, float) and not math.isfinite(value):  # one rule for every float of every section
            raise SettingsError(f"{section}.{name} must be a finite number, got {value}")
        getattr(self, section)[name] = value

    def to_json(self) -> dict:
        return {s: dict(getattr(self, s)) for s in SECTIONS}

    def run_settings(self) -> dict:
        """The pretrain.* and probe.* settings (the profile's values are recorded with the profile)."""
        return {"pretrain": dict(self.pretrain), "probe": dict(self.probe)}

    def __bool__(self) -> bool:
        return any(getattr(self, s) for s in SECTIONS)

    def resolve_profile(self, profile: Profile) -> Profile:
        return profile.with_overrides(**self.profile) if self.profile else profile

    def apply(self, plan):
        """A new plan (the given one is left as it is) with pretrain.* in every pretraining
        trial's `pretrain` and probe.* in every probe trial's `probe`; a searched space gets
        both in its fixed config."""
        pretrain, probe = dict(self.pretrain), dict(self.probe)
        if plan.search is not None:
            spec = plan.search
            clash = sorted(set(pretrain) & set(spec.param_space))
            if clash:
                raise SettingsError(f"pretrain.{clash[0]}: the {plan.space!r} space searches it; it cannot also be set")
            fixed = {**spec.fixed, PRETRAIN: {**spec.fixed.get(PRETRAIN, {}), **pretrain}, PROBE: {**spec.fixed.get(PROBE, {}), **probe}}
            return dataclasses.replace(plan, search=dataclasses.replace(spec, fixed=fixed))
        varied = {k for t in plan.pretrain for k in t.get(PRETRAIN, {})}
        clash = sorted(set(pretrain) & varied)
        if clash:
            raise SettingsError(f"pretrain.{clash[0]}: the {plan.space!r} space sets it per row; it cannot also be set for every trial")
        return dataclasses.replace(
            plan,
            pretrain=[{**t, PRETRAIN: {**t.get(PRETRAIN, {}), **pretrain}} for t in plan.pretrain],
            probe=[{**t, PROBE: {**t.get(PROBE, {}), **probe}} for t in plan.probe],
        )


def read_config(path: str | Path) -> dict:
    """The settings of a YAML file as {dotted key: value}: nested (`pretrain: {lr: 3.0e-4}`)
    or dotted (`pretrain.lr: 3.0e-4`) keys."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SettingsError(f"--config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise SettingsError(f"--config {path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"--config {path}: expected a mapping of settings such as `pretrain: {{lr: 3.0e-4}}`, got {type(data).__name__}")
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for name, inner in value.items():
                out[f"{key}.{name}"] = inner
        else:
            out[str(key)] = value
    return out


def parse(pairs: list[str], config: str | None = None) -> Settings:
    """--config FILE first, then each --set KEY=VALUE on top."""
    settings = Settings()
    if config:
        for key, value in read_config(config).items():
            try:
                settings.set(key, value)
            except SettingsError as err:
                raise SettingsError(f"--config {config}: {err}") from None
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise SettingsError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set pretrain.lr=3e-4; valid keys: {_hint()}")
        try:
            settings.set(key, text)
        except SettingsError as err:
            raise SettingsError(f"--set {pair}: {err}") from None
    return settings


def validate(plan, profile: Profile) -> None:
    """Builds what every trial would build from its config (PretrainConfig, its augmentation,
    ProbeConfig) without training anything; the first problem is a SettingsError naming the trial."""
    from ecgmask.augment import build
    from ecgmask.pretrain.config import PretrainConfig
    from ecgmask.transfer.config import ProbeConfig

    built: set[tuple] = set()

    def pretrain_config(trial: dict, what: str):
        try:
            fields = pretrain_fields(trial, PretrainConfig)
        except ValueError as err:  # names the trial already
            raise SettingsError(str(err)) from None
        try:
            cfg = PretrainConfig.from_profile(profile, **fields)
            options = cfg.augmentation_options()
            signature = (cfg.augmentation, repr(options))
            if signature not in built:  # one build per distinct augmentation and options
                build(cfg.augmentation, fs=profile.fs, options=options)
                built.add(signature)
        except (TypeError, ValueError) as err:
            raise SettingsError(f"{what}: {err}") from None

    def probe_config(trial: dict, what: str):
        try:
            fields = probe_fields(trial, ProbeConfig)
        except ValueError as err:  # names the trial already
            raise SettingsError(str(err)) from None
        try:
            ProbeConfig.from_profile(profile, **fields)
        except (TypeError, ValueError) as err:
            raise SettingsError(f"{what}: {err}") from None

    if plan.search is not None:
        fixed = plan.search.fixed
        pretrain_config(fixed, f"space {plan.space!r}")
        probe_config({"mode": "linear", **fixed}, f"space {plan.space!r}")
        return
    for trial in plan.pretrain:
        pretrain_config(trial, f"pretraining trial {trial['key']}")
    for trial in plan.probe:
        probe_config(trial, f"probe trial {trial['key']}")
