"""Dataset-level labels: the four merged rhythm classes (Zheng et al. 2020) from SNOMED codes
and from the Chapman CSV, and the values of the `sex` column. What a task is (its column,
classes, metric) lives in the task registry, `ecgmask.tasks`.

Rhythm classes, exactly as method.md lists them:
  AFIB: atrial fibrillation 164889003, atrial flutter 164890007          (CSV: AFIB, AF)
  GSVT: SVT 426761007, sinus tachycardia 427084000, atrial tachycardia 713422000,
        AVNRT 251166008, AVRT 233897008, SAAWR 17366009                  (CSV: SVT, ST, AT,
                                                                          AVNRT, AVRT, SAAWR)
  SB:   sinus bradycardia 426177001                                      (CSV: SB)
  SR:   sinus rhythm 426783006, sinus irregularity                       (CSV: SR, SI, SA)
Sinus irregularity appears in the CSV release as SI/SA; in SNOMED form (the Challenge's JS*
records) it is sinus arrhythmia 427393009, which is mapped to SR with it.

A record whose codes name no class, or more than one, gets no rhythm (None) and a reason:
downstream caches exclude it rather than guess.
"""

from __future__ import annotations

import numpy as np

from ecgmask.tasks import get_task

# the classes are the task registry's (one definition); the mappings below name only these
RHYTHM_CLASSES: tuple[str, ...] = get_task("arrhythmia").classes
SEX_CLASSES: tuple[str, ...] = get_task("sex").classes

SNOMED_TO_RHYTHM: dict[str, str] = {
    "164889003": "AFIB",  # atrial fibrillation
    "164890007": "AFIB",  # atrial flutter
    "426761007": "GSVT",  # supraventricular tachycardia
    "427084000": "GSVT",  # sinus tachycardia
    "713422000": "GSVT",  # atrial tachycardia
    "251166008": "GSVT",  # AV nodal re-entrant tachycardia
    "233897008": "GSVT",  # AV re-entrant tachycardia
    "17366009": "GSVT",  # sinus atrium to atrial wandering rhythm
    "426177001": "SB",  # sinus bradycardia
    "426783006": "SR",  # sinus rhythm
    "427393009": "SR",  # sinus arrhythmia (sinus irregularity)
}

# Rhythm codes of the original Chapman-Shaoxing Diagnostics.csv -> (class, SNOMED code).
CSV_RHYTHM: dict[str, tuple[str, str]] = {
    "AFIB": ("AFIB", "164889003"),
    "AF": ("AFIB", "164890007"),
    "SVT": ("GSVT", "426761007"),
    "ST": ("GSVT", "427084000"),
    "AT": ("GSVT", "713422000"),
    "AVNRT": ("GSVT", "251166008"),
    "AVRT": ("GSVT", "233897008"),
    "SAAWR": ("GSVT", "17366009"),
    "SB": ("SB", "426177001"),
    "SR": ("SR", "426783006"),
    "SI": ("SR", "427393009"),
    "SA": ("SR", "427393009"),
}


def rhythm_from_snomed(codes) -> tuple[str | None, str | None]:
    """(class, None) for codes naming exactly one class, else (None, reason)."""
    codes = tuple(str(c).strip() for c in codes if str(c).strip())
    classes = sorted({SNOMED_TO_RHYTHM[c] for c in codes if c in SNOMED_TO_RHYTHM})
    if len(classes) == 1:
        return classes[0], None
    if not classes:
        shown = ",".join(codes) if codes else "none"
        return None, f"rhythm outside AFIB/GSVT/SB/SR: Dx {shown}"
    return None, f"conflicting rhythm labels: {'/'.join(classes)} (Dx {','.join(codes)})"


def rhythm_from_csv(code) -> tuple[str | None, str | None, str]:
    """(class, reason, SNOMED code) for a Diagnostics.csv `Rhythm` value."""
    text = "" if code is None or (isinstance(code, float) and np.isnan(code)) else str(code).strip()
    hit = CSV_RHYTHM.get(text.upper())
    if hit is None:
        return None, f"rhythm outside AFIB/GSVT/SB/SR: {text or 'missing'!r}", ""
    return hit[0], None, hit[1]
