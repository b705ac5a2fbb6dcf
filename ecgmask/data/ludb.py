"""LUDB (Kalyakulina et al. 2020) as a downstream source: 200 real 12-lead ECGs (10 s, 500 Hz)
with cardiologists' delineation of every P, QRS and T wave, the ground truth for which part
of a real ECG is QRS.

The release folder holds `RECORDS` (`data/1` ... `data/200`) and, per record, `data/<n>.hea`
+ `.dat` (leads `i ... v6`) and one WFDB annotation file per lead (`data/<n>.i`, `.ii`, ...,
`.v6`: `(` onset, `p`/`N`/`t` peak, `)` offset). `LudbSource(root)` labels each record from
its header comments:

- `rhythm` from `#Rhythm: ...`: sinus rhythm, sinus arrhythmia and irregular sinus rhythm
  -> SR; sinus bradycardia -> SB; sinus tachycardia -> GSVT; atrial fibrillation and
  atrial flutter -> AFIB (method.md's classes); any other rhythm rejects the record;
- `sex` from `#<sex>: F|M`, `age` from `#<age>: 51`;
- the QRS track: the union over all 12 leads of the cardiologists' QRS intervals (a sample
  is QRS when any lead's annotation says so: the QRS of the heart, as the synthetic
  generator's is), inside the span the annotations cover (LUDB delineates the middle of
  each record, not its first and last beats).

Each record is its own patient (200 subjects); there are no folds (`split_indices` splits by
patient).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ecgmask.data.labels import SEX_CLASSES
from ecgmask.data.qrs import read_annotations
from ecgmask.data.record import EcgRecord, RecordError, parse_age
from ecgmask.data.sources import WorkItem
from ecgmask.data.tree import file_stats
from ecgmask.data.wfdb_reader import read_wfdb_record

LEAD_EXTENSIONS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
RHYTHMS = {
    "sinus rhythm": "SR",
    "sinus arrhythmia": "SR",
    "irregular sinus rhythm": "SR",
    "sinus bradycardia": "SB",
    "sinus tachycardia": "GSVT",
    "atrial fibrillation": "AFIB",
    "atrial flutter": "AFIB",  # "Atrial flutter, typical."
}


def rhythm_from_comment(text: str) -> str | None:
    """'Sinus bradycardia.' -> 'SB'; 'Atrial flutter, typical.' -> 'AFIB'; None if unknown."""
    words = re.sub(r"[.\s]+$", "", text.strip().lower())
    if words in RHYTHMS:
        return RHYTHMS[words]
    head = words.split(",")[0].strip()
    return RHYTHMS.get(head)


def parse_header_labels(comments: list[str]) -> dict:
    """{age, sex, rhythm_text} from LUDB's header comments (`<age>: 51`, `<sex>: F`,
    `Rhythm: Sinus rhythm.`)."""
    out = {"age": None, "sex": None, "rhythm_text": None}
    for line in comments:
        key, sep, value = line.strip().lstrip("#").partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "<age>":
            out["age"] = parse_age(value.strip())
        elif key == "<sex>":
            sex = value.strip().upper()
            out["sex"] = sex if sex in SEX_CLASSES else None
        elif key == "rhythm":
            out["rhythm_text"] = value.strip()
    return out


@dataclass(frozen=True)
class LudbSource:
    """Implements `ecgmask.data.sources.Source` (kind `downstream`) for an LUDB release folder."""

    root: Path
    kind: str = field(default="downstream", init=False)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def name(self) -> str:
        return self.root.resolve().name or str(self.root)

    def describe(self) -> dict:
        root = str(self.root.resolve())
        return {"type": "ludb", "root": root, "qrs": "union over the 12 leads' annotations", "where": root}

    def input_stats(self) -> list[tuple[str, int, int]]:
        root = self.root.resolve()
        records = root / "RECORDS"
        stats = [(str(records), records.stat().st_size, records.stat().st_mtime_ns)] if records.is_file() else []
        return stats + file_stats(root / "data")

    def items(self) -> list[WorkItem]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"LUDB root {self.root} is not a directory")
        listing = self.root / "RECORDS"
        if not listing.is_file():
            raise FileNotFoundError(f"{listing}: missing; is {self.root} an LUDB release folder?")
        items = []
        for line in listing.read_text().split():
            hea = self.root / f"{line.strip()}.hea"
            name = f"ludb{Path(line).name}"  # '1' alone would clash with other corpora's names
            problem = None if hea.is_file() else f"missing header: {hea.name} listed in RECORDS"
            items.append(WorkItem(path=str(hea), name=name, patient_id=name, source=self.name, problem=problem))
        return items

    def read(self, item: WorkItem) -> EcgRecord:
        import wfdb

        hea = Path(item.path)
        rec = read_wfdb_record(hea)
        labels = parse_header_labels(wfdb.rdheader(str(hea.with_suffix(""))).comments)
        if labels["rhythm_text"] is None:
            raise RecordError("no rhythm: the header has no '#Rhythm:' line")
        rhythm = rhythm_from_comment(labels["rhythm_text"])
        if rhythm is None:
            raise RecordError(f"rhythm outside AFIB/GSVT/SB/SR: {labels['rhythm_text']}")
        if labels["sex"] is None:
            raise RecordError("unknown sex: the header has no '#<sex>: F|M' line")
        qrs = read_annotations(hea, extensions=LEAD_EXTENSIONS)
        if qrs is None:
            raise RecordError(f"no QRS annotations: none of {hea.stem}.{{{','.join(LEAD_EXTENSIONS)}}}")
        return replace(rec, name=item.name, patient_id=item.patient_id, age=labels["age"], sex=labels["sex"],
                       dx=(labels["rhythm_text"].rstrip("."),), rhythm=rhythm,
                       extra={**rec.extra, "qrs": qrs[0], "qrs_span": qrs[1]})
