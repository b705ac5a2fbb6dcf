"""The settable keys of `--set` / `--config` for `sweep/run.py --help`: each with its type and
default, read from the dataclasses themselves (PretrainConfig, ProbeConfig, Profile) so that
the help cannot drift from what `--set` accepts."""

from __future__ import annotations

import dataclasses
import types
import typing


def _classes() -> dict[str, type]:
    from ecgmask.pretrain.config import PretrainConfig
    from ecgmask.profiles import Profile
    from ecgmask.transfer.config import ProbeConfig

    return {"pretrain": PretrainConfig, "probe": ProbeConfig, "profile": Profile}


def type_name(annotation) -> str:
    """`int`, `float | None`, ... as a reader writes them."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def settable_keys() -> list[tuple[str, str, str]]:
    """(key, type, default) of every settable field; a profile field's default is its value in
    each profile (laptop first: sweep/run.py's default)."""
    from ecgmask.profiles import PROFILES
    from sweep.settings import FIXED  # what a trial's identity decides: never a setting

    order = ["laptop", *sorted(n for n in PROFILES if n != "laptop")]
    out = []
    for section, cls in _classes().items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in FIXED.get(section, ()):
                continue
            if section == "profile":
                default = ", ".join(f"{n} {getattr(PROFILES[n], f.name)!r}" for n in order if n in PROFILES)
            else:
                value = _default(f)
                default = "required" if value is dataclasses.MISSING else repr(value)
            out.append((f"{section}.{f.name}", type_name(hints[f.name]), default))
    return out


def help_text() -> str:
    """The `settings` section of --help: one line per key."""
    rows = settable_keys()
    width = max(len(k) for k, _, _ in rows)
    kind = max(len(t) for _, t, _ in rows)
    lines = ["settings (--set KEY=VALUE, or the same keys in --config FILE.yaml): key, type [default]",
             "  (pretrain.* and probe.* defaults are the dataclasses'; a trial takes the sizes its profile has, such as",
             "  epochs and width, from the profile: --dry-run prints the settings in force)"]
    lines += [f"  {key:<{width}}  {t:<{kind}}  [{default}]" for key, t, default in rows]
    return "\n".join(lines)
