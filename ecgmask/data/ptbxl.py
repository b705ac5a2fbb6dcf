"""PTB-XL (Wagner et al. 2020) as a downstream source: labels from its tables, its own folds.

The release folder holds `ptbxl_database.csv` (one row per ECG: `ecg_id`, `patient_id`,
`age`, `sex` (0 = male, 1 = female), `scp_codes` (a Python dict string such as
"{'NORM': 100.0, 'SR': 0.0}": SCP statement -> likelihood), `strat_fold` (1-10, by patient),
`filename_lr`, `filename_hr`), `scp_statements.csv` (index = statement code; columns
`diagnostic` (1.0 for diagnostic statements), `diagnostic_class` (NORM/MI/STTC/CD/HYP),
`rhythm`, ...) and the WFDB records under `records100/` (100 Hz) and `records500/` (500 Hz).

`PtbxlSource(root, fs)` reads the records at the rate that needs no upsampling for the target
`fs` (the smallest of 100 and 500 that is >= fs; 500 above that) and labels each record:

- `rhythm`: from its rhythm statements, merged into the four classes of method.md: SR (and
  SARRH, sinus arrhythmia, which method.md counts with sinus rhythm as "sinus
  irregularity"), SBRAD -> SB, AFIB and AFLT -> AFIB, STACH/SVTAC/PSVT -> GSVT. Any other
  rhythm, none, or two classes give None; the record is kept (sex and superclass still
  apply) and the reason is counted in the ingest summary;
- `superclass`: the standard PTB-XL rule (the benchmark code's `aggregate_diagnostic`): every
  statement with `diagnostic == 1` maps to its `diagnostic_class`, whatever its likelihood
  (0 counts as present); comma-separated in NORM, MI, STTC, CD, HYP order, '' for none;
- `sex`: 'M' | 'F'; `age`: years (PTB-XL writes 300 for ages over 89: unknown here);
- `fold`: `strat_fold`, which `split_indices` uses as is (10 test, 9 validation);
- `dx`: the record's SCP statements; `patient_id`: PTB-XL's patient id.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ecgmask.data.record import EcgRecord, parse_age
from ecgmask.data.sources import WorkItem
from ecgmask.data.tree import file_stats
from ecgmask.data.wfdb_reader import read_wfdb_record
from ecgmask.tasks import get_task

if TYPE_CHECKING:
    import pandas as pd

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
RATES: tuple[int, ...] = (100, 500)  # records100/ (filename_lr), records500/ (filename_hr)
SUPERCLASSES: tuple[str, ...] = get_task("superdiagnostic").classes  # the task registry's, in its order
SCP_TO_RHYTHM: dict[str, str] = {
    "SR": "SR",  # sinus rhythm
    "SARRH": "SR",  # sinus arrhythmia: method.md's "sinus irregularity", merged with SR
    "SBRAD": "SB",  # sinus bradycardia
    "AFIB": "AFIB",  # atrial fibrillation
    "AFLT": "AFIB",  # atrial flutter
    "STACH": "GSVT",  # sinus tachycardia
    "SVTAC": "GSVT",  # supraventricular tachycardia
    "PSVT": "GSVT",  # paroxysmal supraventricular tachycardia
}
_DATABASE_COLUMNS = ("ecg_id", "patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr")


def parse_scp_codes(text) -> dict[str, float]:
    """"{'NORM': 100.0, 'SR': 0.0}" -> {'NORM': 100.0, 'SR': 0.0}; ValueError if it is not one."""
    try:
        codes = ast.literal_eval(str(text))
    except (ValueError, SyntaxError):
        raise ValueError(f"scp_codes {str(text)[:60]!r} is not a dict of statements") from None
    if not isinstance(codes, dict) or not all(isinstance(k, str) for k in codes):
        raise ValueError(f"scp_codes {str(text)[:60]!r} is not a dict of statements")
    return codes


def rhythm_from_scp(codes) -> tuple[str | None, str | None]:
    """(class, None) when the statements name exactly one rhythm class, else (None, reason)."""
    codes = sorted(codes)
    classes = sorted({SCP_TO_RHYTHM[c] for c in codes if c in SCP_TO_RHYTHM})
    if len(classes) == 1:
        return classes[0], None
    if not classes:
        return None, f"rhythm outside AFIB/GSVT/SB/SR: SCP {','.join(codes) or 'none'}"
    return None, f"conflicting rhythm labels: {'/'.join(classes)} (SCP {','.join(codes)})"


def superclass_from_scp(codes, diagnostic_class: dict[str, str]) -> str:
    """Comma-separated diagnostic superclasses of the statements ('' for none)."""
    found = {diagnostic_class[c] for c in codes if c in diagnostic_class}
    return ",".join(c for c in SUPERCLASSES if c in found)


def read_statements(root: Path) -> dict[str, str]:
    """{statement code: diagnostic class} for the diagnostic statements of scp_statements.csv."""
    import pandas as pd

    path = root / STATEMENTS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (PTB-XL's statement table)")
    table = pd.read_csv(path, index_col=0)
    missing = [c for c in ("diagnostic", "diagnostic_class") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    diagnostic = table[table["diagnostic"] == 1]
    unknown = sorted(set(diagnostic["diagnostic_class"].dropna()) - set(SUPERCLASSES))
    if unknown:
        raise ValueError(f"{path}: diagnostic_class {', '.join(map(str, unknown))} is not one of {', '.join(SUPERCLASSES)}")
    return {str(code): str(cls) for code, cls in diagnostic["diagnostic_class"].dropna().items()}


def read_database(root: Path) -> pd.DataFrame:
    import pandas as pd

    path = root / DATABASE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; is {root} a PTB-XL release folder?")
    table = pd.read_csv(path)
    missing = [c for c in _DATABASE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def _sex(value) -> str | None:
    try:
        code = float(value)
    except (TypeError, ValueError):
        return None
    return {0.0: "M", 1.0: "F"}.get(code)


def _whole(value) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


@dataclass(frozen=True)
class PtbxlSource:
    """PTB-XL at `root`, read at the rate suited to the target `fs`; a downstream source
    (`ecgmask.data.sources.Source`) that keeps records without a rhythm class."""

    root: Path
    fs: int = 500
    kind: str = field(default="downstream", init=False)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))
        if not self.fs > 0:
            raise ValueError(f"PtbxlSource: target fs must be positive, got {self.fs!r}")

    @property
    def rate(self) -> int:
        """100 or 500: the smallest stored rate >= fs (500 when none is)."""
        return min((r for r in RATES if r >= self.fs), default=max(RATES))

    @property
    def name(self) -> str:
        return self.root.resolve().name or str(self.root)

    def describe(self) -> dict:
        root = str(self.root.resolve())
        return {"type": "ptbxl", "root": root, "records": f"records{self.rate}", "where": root}

    def input_stats(self) -> list[tuple[str, int, int]]:
        """The two tables and the records folder read at this rate: what the cache key hashes."""
        root = self.root.resolve()
        tables = [root / DATABASE, root / STATEMENTS]
        stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in tables if p.is_file()]
        return stats + file_stats(root / f"records{self.rate}")

    def items(self) -> list[WorkItem]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"PTB-XL root {self.root} is not a directory")
        diagnostic_class = read_statements(self.root)
        column = "filename_lr" if self.rate == 100 else "filename_hr"
        items = []
        for row in read_database(self.root).to_dict("records"):
            ecg_id = _whole(row["ecg_id"])
            filename = row[column]
            if not isinstance(filename, str) or not filename.strip():
                path = str(self.root / DATABASE)
                items.append(WorkItem(path=f"{path}#ecg_id={row['ecg_id']}", name=f"ecg{row['ecg_id']}",
                                      patient_id="", source=self.name,
                                      problem=f"missing file name: no {column} for ecg_id {row['ecg_id']}"))  # fmt: skip
                continue
            path = str(self.root / f"{filename.strip()}.hea")
            name = Path(filename.strip()).name
            patient = _whole(row["patient_id"])
            patient_id = str(patient) if patient is not None else f"ecg{ecg_id}"  # unknown: its own patient
            try:
                codes = parse_scp_codes(row["scp_codes"])
            except ValueError as err:
                items.append(WorkItem(path=path, name=name, patient_id=patient_id, source=self.name,
                                      problem=f"unparseable scp_codes: {err}"))  # fmt: skip
                continue
            rhythm, reason = rhythm_from_scp(codes)
            fields = {
                "age": parse_age(row["age"]),
                "sex": _sex(row["sex"]),
                "dx": tuple(sorted(codes)),
                "rhythm": rhythm,
                "rhythm_reason": reason,
                "superclass": superclass_from_scp(codes, diagnostic_class),
                "fold": _whole(row["strat_fold"]),
            }
            items.append(WorkItem(path=path, name=name, patient_id=patient_id, source=self.name, fields=fields))
        return items

    def read(self, item: WorkItem) -> EcgRecord:
        rec = read_wfdb_record(item.path)
        f = item.fields
        return replace(
            rec,
            patient_id=item.patient_id,
            age=f["age"],
            sex=f["sex"],
            dx=f["dx"],
            rhythm=f["rhythm"],
            superclass=f["superclass"],
            fold=f["fold"],
            notes=(f["rhythm_reason"],) if f["rhythm_reason"] else (),
        )

