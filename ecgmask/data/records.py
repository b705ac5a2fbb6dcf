"""Read 12-lead ECG records in WFDB form (PhysioNet/CinC Challenge 2020/2021 and plain WFDB).

A record is `NAME.hea` plus its signal file(s): the Challenge layout stores the samples in a
MATLAB v4 file `NAME.mat` (variable `val`, int16, nsig x n, signal format `16+24`), plain
WFDB records in `.dat` files. `read_wfdb_record(hea_path)` returns an `EcgRecord` with the
12 standard leads (picked by name, case-insensitive, in `LEADS` order whatever order or extra
signals the record has: PTB records carry 15) in millivolts, plus the header comments
`#Age`, `#Sex`, `#Dx` (both `#Age: 63` and `# age: 63` forms). A record that holds only the
8 independent leads I, II, V1..V6 (GE MUSE exports and several databases store no more) is
completed to 12 by the limb-lead identities III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
aVF = II - I/2 and marked `derived_leads=True`; one that lacks an independent lead is rejected.

Fast path: Challenge `.mat` records (every signal in one MATLAB v4 int16 matrix) are read with
one `np.fromfile` after checking the v4 header; the header is parsed here rather than by
`wfdb.rdheader`, which costs milliseconds a record. Anything else (`.dat` files, other
formats, headers this parser does not handle) goes through `wfdb.rdrecord`. Both give the same
values (tests/data/test_records.py checks it).

Every way a record can be unusable raises `RecordError` with a reason a person understands
("category: detail"); the cache builder writes it to `rejected.csv` and goes on.

`WfdbSource(roots)` names a pretraining corpus for `ecgmask.data.build_cache`: every
`*.hea` under the roots (recursively). `write_challenge_record` writes a record in the
Challenge layout (tests and benchmarks use it to make the files this module must read).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgmask.data.qrs import read_annotations

LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip
_LEAD_KEYS = {name.lower(): i for i, name in enumerate(LEADS)}
# The leads a 12-lead ECG records independently; the other four follow from I and II.
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
DERIVED_LEADS: tuple[str, ...] = ("III", "aVR", "aVL", "aVF")

# Bytes per sample for the WFDB formats whose file size we can check before reading.
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0,
                     "160": 2.0, "212": 1.5, "310": 4 / 3, "311": 4 / 3}  # fmt: skip
_INVALID_16 = -32768  # WFDB's "no sample" value for 16-bit formats


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


# ---------------------------------------------------------------------------- lead selection


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


# ---------------------------------------------------------------------------- header parsing


@dataclass
class _Signal:
    file_name: str
    fmt: str
    spf: int
    skew: int
    offset: int
    gain: float  # NaN when the header's gain field is not a number (checked per lead read)
    baseline: int
    name: str
    checksum: int | None = None  # 16-bit sum of the samples, when the header gives one
    gain_text: str = ""


@dataclass
class _Header:
    name: str
    nsig: int
    fs: float
    sig_len: int
    signals: list[_Signal]
    comments: list[str]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


_FMT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN_RE = re.compile(r"^([-+0-9.eE]+)(?:\((-?\d+)\))?(?:/\S+)?$")


def _parse_header_text(text: str) -> _Header:
    """Parse a single-segment WFDB header. Raises ValueError on anything it does not handle."""
    lines = text.splitlines()
    comments: list[str] = []
    body: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if body:  # comments before the record line are not record comments
                comments.append(stripped[1:].strip())
            continue
        body.append(stripped)
    if not body:
        raise ValueError("no record line")
    rec = body[0].split()
    if len(rec) < 2:
        raise ValueError(f"record line {body[0]!r} is too short")
    name = rec[0]
    if "/" in name:
        raise ValueError("multi-segment records are not handled by the fast parser")
    nsig = int(rec[1])
    fs = float(rec[2].split("/")[0].split("(")[0]) if len(rec) > 2 else 250.0
    if len(rec) <= 3:
        raise ValueError("header gives no sample count")
    sig_len = int(rec[3])
    if len(body) < 1 + nsig:
        raise ValueError(f"header declares {nsig} signals but has {len(body) - 1} signal lines")
    signals: list[_Signal] = []
    for line in body[1 : 1 + nsig]:
        parts = line.split()
        if len(parts) < 3:
            raise ValueError(f"signal line {line!r} is too short")
        m = _FMT_RE.match(parts[1])
        if not m:
            raise ValueError(f"signal format {parts[1]!r} not understood")
        fmt, spf, skew, offset = m.group(1), int(m.group(2) or 1), int(m.group(3) or 0), int(m.group(4) or 0)
        g = _GAIN_RE.match(parts[2])
        gain = _number(g.group(1)) if g else float("nan")  # not a number: rejected when the lead is read
        adc_zero = int(parts[4]) if len(parts) > 4 else 0
        baseline = int(g.group(2)) if g and g.group(2) is not None else adc_zero
        checksum = int(parts[6]) if len(parts) > 6 else None
        desc = " ".join(parts[8:]) if len(parts) > 8 else ""
        signals.append(_Signal(parts[0], fmt, spf, skew, offset, gain, baseline, desc, checksum, parts[2]))
    return _Header(name, nsig, fs, sig_len, signals, comments)


def read_header(hea_path: str | os.PathLike) -> _Header:
    """Parse `NAME.hea`; falls back to wfdb for headers the fast parser does not handle."""
    hea_path = Path(hea_path)
    try:
        text = hea_path.read_text(errors="replace")
    except OSError as err:
        raise RecordError(f"unreadable header: {err.strerror or err}") from None
    try:
        return _parse_header_text(text)
    except (ValueError, IndexError) as fast_err:
        try:
            import wfdb

            h = wfdb.rdheader(str(hea_path.with_suffix("")))
        except Exception as err:  # wfdb raises many types on bad headers
            raise RecordError(f"unparseable header: {fast_err}; wfdb: {err}") from None
        if getattr(h, "seg_name", None):
            raise RecordError("unparseable header: multi-segment records are not supported")
        if h.sig_len is None or h.n_sig is None:
            raise RecordError(f"unparseable header: {fast_err}")
        signals = [
            _Signal(h.file_name[i], str(h.fmt[i]), int((h.samps_per_frame or [1] * h.n_sig)[i] or 1),
                    int((h.skew or [0] * h.n_sig)[i] or 0), int((h.byte_offset or [0] * h.n_sig)[i] or 0),
                    float(h.adc_gain[i]), int(h.baseline[i]), h.sig_name[i],
                    None if h.checksum is None or h.checksum[i] is None else int(h.checksum[i]),
                    str(h.adc_gain[i]))
            for i in range(h.n_sig)
        ]  # fmt: skip
        return _Header(h.record_name, h.n_sig, float(h.fs), int(h.sig_len), signals, list(h.comments))


# ---------------------------------------------------------------------------- signal reading


def _read_mat_v4(path: Path, nsig: int, sig_len: int) -> np.ndarray | None:
    """(sig_len, nsig) int16 from a MATLAB v4 `val` matrix, or None if it is not int16 v4."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(20)
        if len(head) < 20:
            raise RecordError(f"truncated signal file: {path.name} has {size} bytes, no MATLAB header")
        mopt, mrows, ncols, imagf, namlen = (int(v) for v in np.frombuffer(head, "<i4"))
    if mopt != 30 or imagf != 0 or not 0 < namlen < 64:
        return None  # not little-endian int16 v4 (v5 file, doubles...): let wfdb/scipy read it
    if mrows != nsig:
        raise RecordError(
            f"wrong signal count: header lists {nsig} signals, {path.name} holds {mrows}"
        )
    if ncols != sig_len:
        raise RecordError(
            f"wrong sample count: header says {sig_len} samples, {path.name} holds {ncols}"
        )
    offset = 20 + namlen
    expected = offset + 2 * mrows * ncols
    if size < expected:
        raise RecordError(
            f"truncated signal file: {path.name} has {size} bytes, expected {expected}"
        )
    data = np.fromfile(path, dtype="<i2", count=mrows * ncols, offset=offset)
    return data.reshape(ncols, mrows)  # column-major nsig x n == row-major n x nsig


def _check_file_sizes(hea_path: Path, header: _Header) -> None:
    """Missing or truncated signal files, before wfdb turns them into obscure errors."""
    by_file: dict[str, list[_Signal]] = {}
    for s in header.signals:
        by_file.setdefault(s.file_name, []).append(s)
    for file_name, sigs in by_file.items():
        path = hea_path.parent / file_name
        if not path.is_file():
            raise RecordError(f"missing signal file: {file_name}")
        bps = _BYTES_PER_SAMPLE.get(sigs[0].fmt)
        if bps is None or any(s.fmt != sigs[0].fmt for s in sigs):
            continue
        frame = sum(s.spf for s in sigs)
        expected = sigs[0].offset + int(np.ceil(header.sig_len * frame * bps))
        size = path.stat().st_size
        if size < expected:
            raise RecordError(
                f"truncated signal file: {file_name} has {size} bytes, expected {expected}"
            )


def _fast_path_ok(header: _Header) -> bool:
    first = header.signals[0]
    return (
        first.file_name.lower().endswith(".mat")
        and all(
            s.file_name == first.file_name and s.fmt == "16" and s.spf == 1 and s.skew == 0
            and s.offset == first.offset
            for s in header.signals
        )
    )  # fmt: skip


def _digital_to_mv(digital: np.ndarray, chosen: list[int], sigs: list[_Signal]) -> np.ndarray:
    """Rows `chosen` of (n, nsig) int16 -> (len(chosen), n) float32 mV; WFDB's invalid value -> NaN.

    float32 arithmetic: equal to wfdb's float64 values to float32 precision.
    """
    gain = np.array([s.gain for s in sigs], dtype=np.float32)[:, None]
    base = np.array([s.baseline for s in sigs], dtype=np.float32)[:, None]
    d = digital.T[chosen]  # (len(chosen), n) int16, contiguous copy
    out = d.astype(np.float32)
    out -= base
    out /= gain
    invalid = d == _INVALID_16
    if invalid.any():
        out[invalid] = np.nan
    return out


def read_signals_wfdb(hea_path: Path, chosen: list[int], sigs: list[_Signal] | None = None) -> np.ndarray:
    """(len(chosen), n) float32 mV through `wfdb.rdrecord` (the general path).

    Read as digital values first so that the header's checksums of `sigs` (the chosen
    signals' header lines) are verified, then converted exactly as `physical=True` would.
    """
    import wfdb

    rec = wfdb.rdrecord(str(hea_path.with_suffix("")), channels=list(chosen), physical=False)
    if sigs is not None and all(s.spf == 1 for s in sigs):  # frames averaged otherwise: sums differ
        check_checksums(rec.d_signal, sigs)
    rec.dac(expanded=False, return_res=64, inplace=True)
    return np.ascontiguousarray(rec.p_signal.T, dtype=np.float32)


def check_calibration(sigs: list[_Signal]) -> None:
    """RecordError for a lead whose gain is not a positive number.

    WFDB reads a missing gain as 200 adu/mV; a gain field that is there but not a number
    is an error in the header, not a default, and a zero (uncalibrated) or negative gain
    gives no millivolts.
    """
    for s in sigs:
        if not np.isfinite(s.gain):
            raise RecordError(f"unparseable gain: {s.gain_text!r} for lead {s.name}")
        if s.gain <= 0:
            raise RecordError(f"non-positive gain: {s.gain_text!r} for lead {s.name} (uncalibrated or inverted)")


def check_checksums(digital: np.ndarray, sigs: list[_Signal]) -> None:
    """RecordError when a column of (n, k) `digital` does not sum to its header checksum.

    WFDB's checksum is the sum of the signal's samples modulo 65536 (written signed or
    unsigned); a header without one is not checked.
    """
    sums = digital.sum(axis=0, dtype=np.int64)
    bad = [s.name for s, total in zip(sigs, sums) if s.checksum is not None and (int(total) - s.checksum) % 65536]
    if bad:
        raise RecordError(
            f"checksum mismatch: {', '.join(bad)} in {sigs[0].file_name} (corrupt or altered signal file)"
        )


def patient_id_for(hea_path: Path, record_name: str) -> str:
    """The record name, or the PTB-style `patientNNN` folder a record sits in."""
    parent = hea_path.parent.name
    if re.fullmatch(r"patient\d+", parent, flags=re.IGNORECASE):
        return parent
    return record_name


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


def read_wfdb_record(hea_path: str | os.PathLike, *, use_fast_path: bool = True) -> EcgRecord:
    """Read one WFDB/Challenge record as 12 leads in mV. Raises RecordError for bad data."""
    hea_path = Path(hea_path)
    header = read_header(hea_path)
    if not header.fs > 0:
        raise RecordError(f"non-positive sampling rate: {header.fs:g} Hz in the header")
    if header.sig_len <= 0:
        raise RecordError("no samples: the header declares 0 samples")
    chosen, derived = plan_leads([s.name for s in header.signals])
    check_calibration([header.signals[i] for i in chosen])
    signal = None
    if use_fast_path and _fast_path_ok(header):
        mat = hea_path.parent / header.signals[0].file_name
        if not mat.is_file():
            raise RecordError(f"missing signal file: {mat.name}")
        # the MATLAB header is checked against the .hea (counts, size) in _read_mat_v4
        digital = _read_mat_v4(mat, header.nsig, header.sig_len)
        if digital is not None:
            check_checksums(digital[:, chosen], [header.signals[i] for i in chosen])
            signal = _digital_to_mv(digital, chosen, [header.signals[i] for i in chosen])
    if signal is None:
        _check_file_sizes(hea_path, header)
        try:
            signal = read_signals_wfdb(hea_path, chosen, [header.signals[i] for i in chosen])
        except RecordError:
            raise
        except Exception as err:  # wfdb raises bare ValueErrors etc. on malformed files
            raise RecordError(f"unreadable signal file: {type(err).__name__}: {err}") from None
    if derived:
        signal = complete_leads(signal)
    if signal.shape != (12, header.sig_len):
        raise RecordError(
            f"wrong sample count: header says {header.sig_len} samples, read {signal.shape[1]}"
        )
    check_leads(signal)
    info = parse_comments(header.comments)
    name = hea_path.stem
    # a generated tree's QRS complexes (NAME.qrs beside the header); real records have none
    qrs = read_annotations(hea_path, extensions=("qrs",))
    return EcgRecord(
        name=name,
        path=hea_path,
        fs=float(header.fs),
        signal=signal,
        age=info["age"],
        sex=info["sex"],
        dx=info["dx"],
        patient_id=patient_id_for(hea_path, name),
        derived_leads=derived,
        extra={} if qrs is None else {"qrs": qrs[0], "qrs_span": qrs[1]},
    )


def list_wfdb_headers(root: str | os.PathLike) -> list[Path]:
    """Every `*.hea` under `root` (recursively, hidden entries skipped), sorted."""
    return [Path(p) for p, _, _ in walk_tree(root, suffix=".hea")[0]]


def write_challenge_record(
    out_dir: str | os.PathLike,
    name: str,
    signal_mv: np.ndarray,
    fs: float,
    *,
    leads: tuple[str, ...] | list[str] = LEADS,
    comments: tuple[str, ...] | list[str] = (),
    gain: float = 1000.0,
) -> Path:
    """Write NAME.hea + NAME.mat in the Challenge layout (MATLAB v4 int16 `val`, `16+24`).

    `signal_mv` is (nsig, n) in mV; NaN is written as WFDB's invalid value -32768. Used by
    tests and benchmarks to make records the reader must handle.
    """
    import scipy.io

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.asarray(signal_mv, dtype=np.float64)
    digital = np.where(np.isfinite(x), np.round(x * gain), _INVALID_16)
    digital = np.clip(digital, -32768, 32767).astype(np.int16)
    scipy.io.savemat(out_dir / f"{name}.mat", {"val": digital}, format="4")
    lines = [f"{name} {x.shape[0]} {fs:g} {x.shape[1]}"]
    checksums = (digital.astype(np.int64).sum(axis=1) + 2**15) % 2**16 - 2**15  # signed, as WFDB writes
    for i, lead in enumerate(leads):
        first = int(digital[i, 0]) if x.shape[1] else 0
        lines.append(f"{name}.mat 16+24 {gain:g}/mV 16 0 {first} {int(checksums[i])} 0 {lead}")
    lines += [f"#{c}" for c in comments]
    (out_dir / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return out_dir / f"{name}.hea"


def walk_tree(
    root: str | os.PathLike, suffix: str | None = None
) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    """(files, problems) under `root`, recursively, hidden entries skipped.

    files: (path, size, mtime_ns) of every regular file (ending in `suffix`, if given), sorted
    by path. problems: (path, reason) of every folder, and every file ending in `suffix`, that
    could not be read (permissions, a broken link, a link into a loop of links): one bad path
    is listed, never the end of the walk. Links are followed, but a folder already walked (a
    link back up the tree, or a second link to one folder) is not walked again.
    """
    files: list[tuple[str, int, int]] = []
    problems: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()

    def wanted(name: str) -> bool:
        return suffix is None or name.endswith(suffix)

    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue  # reached again through a link: walked once already
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            problems.append((folder, f"unreadable folder: {err.strerror or err}"))
            continue
        subfolders = []
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=True):
                    subfolders.append(e.path)
                elif wanted(e.name):
                    if e.is_file(follow_symlinks=True):
                        st = e.stat(follow_symlinks=True)
                        files.append((e.path, st.st_size, st.st_mtime_ns))
                    elif e.is_symlink():
                        problems.append((e.path, f"unreadable file: broken link to {os.readlink(e.path)}"))
            except OSError as err:  # a link loop (ELOOP), a vanished entry, no permission
                if wanted(e.name) or e.is_symlink():
                    problems.append((e.path, f"unreadable path: {err.strerror or err}"))
        stack.extend(reversed(subfolders))
    return sorted(files), sorted(problems)


def file_stats(root: str | os.PathLike) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every regular file under `root` (see `walk_tree`)."""
    return walk_tree(root)[0]


def list_files(root: str | os.PathLike) -> list[Path]:
    """Every regular file under `root` (recursively, hidden entries skipped), sorted."""
    return [Path(p) for p, _, _ in file_stats(root)]


def wfdb_items(roots, source_name=None) -> list:
    """Work items for every `*.hea` under `roots`, and one with `problem` set for every path
    the walk could not read. `source_name(root)` names the `source` column (default: the
    root folder's name)."""
    from ecgmask.data.sources import WorkItem

    items = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"WFDB root {root} is not a directory")
        source = source_name(root) if source_name else (root.resolve().name or str(root))
        headers, problems = walk_tree(root, suffix=".hea")
        for path, _, _ in headers:
            name = Path(path).stem
            items.append(WorkItem(path=path, name=name, patient_id=patient_id_for(Path(path), name), source=source))
        for path, reason in problems:
            name = Path(path).stem
            items.append(WorkItem(path=path, name=name, patient_id=name, source=source, problem=reason))
    return items


@dataclass(frozen=True)
class WfdbSource:
    """A pretraining corpus: every WFDB/Challenge record under `roots` (searched recursively).

    Records keep unknown age, sex or Dx (`rhythm` is filled where the Dx names one class).
    `source` in the cache is the root folder's name. Implements `ecgmask.data.sources.Source`.
    """

    roots: tuple[Path, ...]
    kind: str = field(default="pretrain", init=False)

    def __post_init__(self):
        roots = (self.roots,) if isinstance(self.roots, (str, os.PathLike)) else self.roots
        object.__setattr__(self, "roots", tuple(Path(r) for r in roots))
        if not self.roots:
            raise ValueError("WfdbSource needs at least one root")

    def input_stats(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file under the roots: what the cache key hashes."""
        return [s for root in self.roots for s in file_stats(root.resolve())]

    def describe(self) -> dict:
        roots = [str(r.resolve()) for r in self.roots]
        return {"type": "wfdb", "roots": roots, "where": ", ".join(roots)}

    def items(self) -> list:
        return wfdb_items(self.roots)

    def read(self, item) -> EcgRecord:
        from dataclasses import replace

        from ecgmask.data.labels import rhythm_from_snomed

        rec = read_wfdb_record(item.path)
        return replace(rec, rhythm=rhythm_from_snomed(rec.dx)[0])
