"""The 12 standard leads: their names and order, picking them out of a record's signals by name,
completing an 8-lead record to 12 by the limb-lead identities, and rejecting an unusable lead.

A record that holds only the 8 independent leads I, II, V1..V6 (GE MUSE exports and several
databases store no more) is completed to 12 by III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
aVF = II - I/2; one that lacks an independent lead is rejected.
"""

from __future__ import annotations

import numpy as np

from ecgmask.data.record import RecordError

LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip
_LEAD_KEYS = {name.lower(): i for i, name in enumerate(LEADS)}
# The leads a 12-lead ECG records independently; the other four follow from I and II.
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DERIVED_LEADS: tuple[str, ...] = ("III", "aVR", "aVL", "aVF")


def select_leads(sig_names: list[str]) -> list[int]:
    """Indices into `sig_names` of the 12 standard leads, in `LEADS` order.

    Matching is by name, case-insensitive ('avr' == 'aVR'); extra signals are ignored.
    Raises RecordError naming the signals present and the leads missing.
    """
    found = _find_leads(sig_names)
    missing = [LEADS[i] for i in range(len(LEADS)) if i not in found]
    if missing:
        raise RecordError(_fewer_message(sig_names, missing))
    return [found[i] for i in range(len(LEADS))]


def _find_leads(sig_names: list[str]) -> dict[int, int]:
    """{index in LEADS: position in sig_names} for the standard leads present (first match)."""
    found: dict[int, int] = {}
    for pos, name in enumerate(sig_names):
        lead = _LEAD_KEYS.get(str(name).strip().lower())
        if lead is not None and lead not in found:
            found[lead] = pos
    return found


def _fewer_message(sig_names: list[str], missing: list[str]) -> str:
    present = ", ".join(sig_names) if sig_names else "none"
    return f"fewer than 12 leads: has {present}; missing {', '.join(missing)}"


def plan_leads(sig_names: list[str]) -> tuple[list[int], bool]:
    """Which signals to read: (indices into `sig_names`, derived).

    All 12 leads present: their indices in `LEADS` order, derived False. Otherwise, when the
    8 independent leads are present: their indices in `INDEPENDENT_LEADS` order, derived True
    (`complete_leads` then computes the 4 limb leads, all four from I and II, so that they
    obey the identities exactly). Else RecordError naming the missing independent leads.
    """
    found = _find_leads(sig_names)
    missing = [LEADS[i] for i in range(len(LEADS)) if i not in found]
    if not missing:
        return [found[i] for i in range(len(LEADS))], False
    keys = [LEADS.index(lead) for lead in INDEPENDENT_LEADS]
    lacking = [LEADS[i] for i in keys if i not in found]
    if lacking:
        raise RecordError(
            f"{_fewer_message(sig_names, missing)}; independent leads missing: {', '.join(lacking)} "
            f"(only {', '.join(DERIVED_LEADS)} can be derived)"
        )
    return [found[i] for i in keys], True


def complete_leads(independent: np.ndarray) -> np.ndarray:
    """(8, n) I, II, V1..V6 -> (12, n) float32 in `LEADS` order by the limb-lead identities."""
    x = np.asarray(independent, dtype=np.float32)
    if x.shape[0] != len(INDEPENDENT_LEADS):
        raise ValueError(f"complete_leads needs the {len(INDEPENDENT_LEADS)} leads {', '.join(INDEPENDENT_LEADS)}, "
                         f"got {x.shape[0]} signals")  # fmt: skip
    lead_i, lead_ii = x[0], x[1]
    out = np.empty((len(LEADS), x.shape[1]), dtype=np.float32)
    out[0], out[1] = lead_i, lead_ii
    out[2] = lead_ii - lead_i  # III
    out[3] = -0.5 * (lead_i + lead_ii)  # aVR
    out[4] = lead_i - 0.5 * lead_ii  # aVL
    out[5] = lead_ii - 0.5 * lead_i  # aVF
    out[6:] = x[2:]
    return out



def check_leads(signal: np.ndarray) -> None:
    """RecordError for an all-NaN or flat (constant) lead; `signal` is (12, n) in LEADS order."""
    if signal.shape[1] == 0:
        raise RecordError("no samples: the record is empty")
    lo = signal.min(axis=1)
    hi = signal.max(axis=1)
    if np.isnan(lo).any() or np.isnan(hi).any():  # some NaN: look closer
        finite = np.isfinite(signal)
        all_nan = [LEADS[i] for i in range(signal.shape[0]) if not finite[i].any()]
        if all_nan:
            raise RecordError(f"all-NaN lead: {', '.join(all_nan)}")
        lo = np.nanmin(signal, axis=1)
        hi = np.nanmax(signal, axis=1)
    flat = [LEADS[i] for i in range(signal.shape[0]) if hi[i] == lo[i]]
    if flat:
        raise RecordError(f"flat lead (constant signal): {', '.join(flat)}")
