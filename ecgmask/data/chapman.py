"""Chapman-Shaoxing, the downstream set, in either of its two forms.

`ChapmanSource(root)` picks the form from what `root` holds:
- the original CSV release: `root/Diagnostics.csv` (or `.xlsx`, which needs openpyxl) with
  columns `FileName`, `Rhythm`, `Gender`, `PatientAge`, and `root/ECGDataDenoised/<FileName>.csv`
  (5000 rows x 12 leads, 500 Hz, microvolts; with or without a header row of lead names;
  without one the columns are taken in the standard order I, II, ..., V6);
- the WFDB form inside the Challenge data: a tree of JS*.hea + .mat with SNOMED `#Dx` codes,
  read by `ecgmask.data.wfdb_reader.read_wfdb_record`.

Either way a downstream record needs a rhythm in AFIB/GSVT/SB/SR and a known sex; records
without are excluded with a reason (see `ecgmask.data.labels`). Each CSV record is its own
patient (Chapman has one ECG per patient): `patient_id` is the FileName.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from ecgmask.data.labels import rhythm_from_csv, rhythm_from_snomed
from ecgmask.data.leads import check_leads, select_leads
from ecgmask.data.record import EcgRecord, RecordError, parse_age, parse_sex
from ecgmask.data.sources import WorkItem
from ecgmask.data.tree import file_stats
from ecgmask.data.wfdb_reader import read_wfdb_record
from ecgmask.data.wfdb_source import wfdb_items

CSV_FS = 500
CSV_SAMPLES = 5000
CSV_UNITS_PER_MV = 1000.0  # the CSV release stores microvolts


def read_diagnostics(root: Path) -> pd.DataFrame:
    """The Diagnostics table (csv preferred, xlsx if that is all there is)."""
    import pandas as pd

    csv = root / "Diagnostics.csv"
    if csv.is_file():
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    else:
        xlsx = root / "Diagnostics.xlsx"
        try:
            table = pd.read_excel(xlsx, dtype=str, keep_default_na=False)
        except ImportError:
            raise ValueError(
                f"{xlsx} needs openpyxl to read; save it as Diagnostics.csv next to it"
            ) from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("FileName", "Rhythm", "Gender", "PatientAge") if c not in table.columns]
    if missing:
        raise ValueError(f"{root}/Diagnostics: missing column(s) {', '.join(missing)}")
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_chapman_csv(
    csv_path: str | os.PathLike, *, expected_samples: int = CSV_SAMPLES
) -> np.ndarray:
    """(12, n) float32 mV from one ECGDataDenoised CSV. Raises RecordError for bad files."""
    import pandas as pd

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise RecordError(f"missing signal file: {csv_path.name}")
    with open(csv_path, "r", errors="replace") as f:
        first = f.readline()
    has_header = not all(_is_number(t) for t in first.split(",") if t.strip())
    try:
        frame = pd.read_csv(csv_path, header=0 if has_header else None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError) as err:
        raise RecordError(f"unreadable signal file: {csv_path.name}: {err}") from None
    if has_header:
        chosen = select_leads([str(c) for c in frame.columns])
    else:
        if frame.shape[1] < 12:
            raise RecordError(f"fewer than 12 leads: {csv_path.name} has {frame.shape[1]} columns")
        chosen = list(range(12))
    data = frame.to_numpy(dtype=np.float32)[:, chosen].T / CSV_UNITS_PER_MV
    n = data.shape[1]
    if n < expected_samples:
        raise RecordError(
            f"truncated signal file: {csv_path.name} has {n} of {expected_samples} samples"
        )
    if n > expected_samples:
        raise RecordError(
            f"wrong sample count: {csv_path.name} has {n} samples, expected {expected_samples}"
        )
    if n and not np.isfinite(data[:, -1]).all():
        raise RecordError(f"truncated signal file: {csv_path.name} ends in an incomplete row")
    return np.ascontiguousarray(data)


def read_chapman_csv_record(item: WorkItem, *, fs: float, expected_samples: int) -> EcgRecord:
    """Read one CSV-form record described by a work item (see ChapmanSource.items)."""
    signal = read_chapman_csv(item.path, expected_samples=expected_samples)
    check_leads(signal)
    rhythm, reason, code = rhythm_from_csv(item.fields["rhythm"])
    sex_raw = item.fields["sex"]
    return EcgRecord(
        name=item.name,
        path=Path(item.path),
        fs=float(fs),
        signal=signal,
        age=parse_age(item.fields["age"]),
        sex=parse_sex(sex_raw),
        dx=(code,) if code else (),
        patient_id=item.patient_id,
        rhythm=rhythm,
        extra={"rhythm_reason": reason, "sex_raw": sex_raw},
    )


def require_downstream_labels(rec: EcgRecord, rhythm_reason: str | None) -> EcgRecord:
    """The downstream rule: a rhythm class and a known sex, else RecordError with the reason."""
    if rec.rhythm is None:
        raise RecordError(rhythm_reason or "rhythm outside AFIB/GSVT/SB/SR")
    if rec.sex is None:
        raw = rec.extra.get("sex_raw")
        raise RecordError(f"unknown sex: {raw!r}" if raw is not None else "unknown sex: no Male/Female #Sex in the header")
    return rec


@dataclass(frozen=True)
class ChapmanSource:
    """Chapman-Shaoxing at `root`, CSV or WFDB form (detected); a downstream source
    (`ecgmask.data.sources.Source`): records need a rhythm class and a known sex."""

    root: Path
    expected_samples: int = CSV_SAMPLES
    fs: int = CSV_FS
    kind: str = field(default="downstream", init=False)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def form(self) -> str:
        if (self.root / "Diagnostics.csv").is_file() or (self.root / "Diagnostics.xlsx").is_file():
            return "csv"
        return "wfdb"

    @property
    def name(self) -> str:
        return self.root.resolve().name or str(self.root)

    def input_stats(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file under the root: what the cache key hashes."""
        return file_stats(self.root.resolve())

    def describe(self) -> dict:
        root = str(self.root.resolve())
        return {"type": "chapman", "root": root, "fs": self.fs, "expected_samples": self.expected_samples,
                "where": root}  # fmt: skip

    def items(self) -> list[WorkItem]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"Chapman root {self.root} is not a directory")
        if self.form == "wfdb":
            return wfdb_items([self.root], source_name=lambda root: self.name)
        table = read_diagnostics(self.root)
        signal_dir = self.root / "ECGDataDenoised"
        items = []
        for row in table.itertuples(index=False):
            name = str(row.FileName).strip()
            if name.lower().endswith(".csv"):
                name = name[:-4]
            # one ECG per patient in Chapman: the record is its own patient
            fields = {"rhythm": row.Rhythm, "sex": row.Gender, "age": row.PatientAge}
            items.append(WorkItem(path=str(signal_dir / f"{name}.csv"), name=name, patient_id=name,
                                  source=self.name, fields=fields))  # fmt: skip
        return items

    def read(self, item: WorkItem) -> EcgRecord:
        if item.path.endswith(".hea"):  # the WFDB form: rhythm from the SNOMED #Dx
            rec = read_wfdb_record(item.path)
            rhythm, reason = rhythm_from_snomed(rec.dx)
            rec = replace(rec, rhythm=rhythm)
        else:
            rec = read_chapman_csv_record(item, fs=self.fs, expected_samples=self.expected_samples)
            reason = rec.extra["rhythm_reason"]
        return require_downstream_labels(rec, reason)
