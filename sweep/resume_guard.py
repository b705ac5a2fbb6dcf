"""What a sweep runs under, and the check that `--resume` keeps every bit of it.

A sweep's results are only comparable when every trial ran under the same conditions: the
space, the profile and every profile value in force (after `--set`), the data, the seeds
and the slice of the space (rows, tasks, fractions). The driver stores them in `plan.json`
under `in_force`; `--resume` recomputes them from its own command line and refuses any
difference, naming each one, before anything is written.
"""

from __future__ import annotations

from search_spaces.plan import SweepPlan

IN_FORCE_KEY = "in_force"  # the entry of plan.json


def in_force(*, plan: SweepPlan, profile, data: dict | None, seeds) -> dict:
    """What a command puts in force. `profile` is the resolved Profile (overrides applied);
    `data` None when the caches are not known yet (a dry run on the default study)."""
    values = profile.to_dict()
    out = {
        "space": plan.space,
        "profile": values.pop("name"),
        "set": values,  # every profile value in force, whether or not --set changed it
        "seeds": [int(s) for s in seeds],
    }
    if plan.search is None:
        out["rows"] = sorted({t["row"] for t in plan.pretrain + plan.probe})
        out["tasks"] = sorted({t["task"] for t in plan.probe})
        out["fractions"] = sorted({float(t["fraction"]) for t in plan.probe})
    if data is not None:
        out["data"] = dict(data)
    return out


def stored_in_force(stored_plan: dict) -> dict:
    """What a plan.json was run under; for one written before `in_force` existed, what can be
    read from its other entries."""
    if IN_FORCE_KEY in stored_plan:
        return stored_plan[IN_FORCE_KEY]
    from ecgmask.profiles import PROFILES

    out = {k: stored_plan[k] for k in ("space", "profile", "seeds", "data") if k in stored_plan}
    profile = PROFILES.get(stored_plan.get("profile"))
    if profile is not None:
        values = profile.with_overrides(**stored_plan.get("profile_overrides", {})).to_dict()
        values.pop("name")
        out["set"] = values
    if stored_plan.get("probe"):
        out["rows"] = sorted({t["row"] for t in stored_plan.get("pretrain", []) + stored_plan["probe"]})
        out["tasks"] = sorted({t["task"] for t in stored_plan["probe"]})
        out["fractions"] = sorted({float(t["fraction"]) for t in stored_plan["probe"]})
    return out


def _text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value) or "(none)"
    return str(value)


def differences(stored: dict, current: dict) -> list[str]:
    """`name old -> new` for every entry both sides know that differs (dict entries key by
    key: `set.epochs 3 -> 1`). A different profile is named once, not value by value."""
    out = []
    for key in current:
        if key not in stored:
            continue
        if key == "set" and stored.get("profile") != current.get("profile"):
            continue
        old, new = stored[key], current[key]
        if isinstance(new, dict) and isinstance(old, dict):
            for name in sorted(set(old) | set(new)):
                if old.get(name) != new.get(name):
                    out.append(f"{key}.{name} {_text(old.get(name))} -> {_text(new.get(name))}")
        elif old != new:
            out.append(f"{key} {_text(old)} -> {_text(new)}")
    return out


def resume_differences(stored_plan: dict, current: dict) -> str | None:
    """The one-line refusal of a --resume whose settings differ from plan.json, or None."""
    diffs = differences(stored_in_force(stored_plan), current)
    return ("--resume: differs from plan.json: " + "; ".join(diffs)) if diffs else None
