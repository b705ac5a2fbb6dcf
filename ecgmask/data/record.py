"""The record type every reader returns: `EcgRecord` (12 leads in mV plus what is known of the
patient and the labels a source adds), `RecordError` (a record that cannot be used, with the
reason a person understands, "category: detail"), and the parsers of the fields header
comments carry (`#Age: 63`, `#Sex: Male`, `#Dx: ...`, both `#Age: 63` and `# age: 63` forms).

Every way a record can be unusable raises `RecordError`; the cache builder writes the reason
to `rejected.csv` and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class RecordError(Exception):
    """A record that cannot be used; `str(err)` is the reason written to rejected.csv."""


@dataclass
class EcgRecord:
    """One 12-lead record: `signal` is (12, n) float32 in mV, leads in `LEADS` order."""

    name: str
    path: Path
    fs: float
    signal: np.ndarray
    age: float | None = None
    sex: str | None = None  # 'M' | 'F' | None
    dx: tuple[str, ...] = ()
    patient_id: str = ""
    derived_leads: bool = False  # III, aVR, aVL, aVF computed from I and II (an 8-lead record)
    extra: dict = field(default_factory=dict)
    # labels a source adds (the cache's columns); None when unknown
    rhythm: str | None = None  # 'AFIB' | 'GSVT' | 'SB' | 'SR'
    superclass: str | None = None  # PTB-XL: comma-separated NORM,MI,STTC,CD,HYP ('' for none)
    fold: int | None = None  # the dataset's own fold (PTB-XL strat_fold)
    notes: tuple[str, ...] = ()  # why a kept record lacks a label ("category: detail")

    @property
    def duration_s(self) -> float:
        return self.signal.shape[1] / self.fs


# ---------------------------------------------------------------------------- header comments


def parse_sex(value) -> str | None:
    """'Male'/'male'/'M'/'MALE' -> 'M', 'Female'/... -> 'F', anything else -> None."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("m", "male", "man"):
        return "M"
    if text in ("f", "female", "woman"):
        return "F"
    return None


def parse_age(value) -> float | None:
    """'63' -> 63.0; 'NaN', 'Unknown', '', negative or absurd -> None."""
    if value is None:
        return None
    try:
        age = float(str(value).strip())
    except ValueError:
        return None
    if not np.isfinite(age) or age < 0 or age > 130:
        return None
    return age


def parse_dx(value) -> tuple[str, ...]:
    """'426783006, 164865005' -> ('426783006', '164865005'); non-numeric tokens are dropped."""
    if value is None:
        return ()
    return tuple(tok.strip() for tok in str(value).split(",") if tok.strip().isdigit())


def parse_comments(comments: list[str]) -> dict:
    """Age, sex and Dx from header comments in `#Age: 63` or `# age: 63` form.

    Returns {'age': float|None, 'sex': 'M'|'F'|None, 'dx': tuple[str, ...]}; a missing or
    unreadable field is None (or () for dx): a pretraining corpus keeps such records.
    """
    fields: dict[str, str] = {}
    for line in comments:
        text = line.strip().lstrip("#").strip()
        key, sep, value = text.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "gender":
            key = "sex"
        if key in ("age", "sex", "dx") and key not in fields:
            fields[key] = value.strip()
    return {
        "age": parse_age(fields.get("age")),
        "sex": parse_sex(fields.get("sex")),
        "dx": parse_dx(fields.get("dx")),
    }
