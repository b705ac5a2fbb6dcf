"""Read one 12-lead ECG record in WFDB form (PhysioNet/CinC Challenge 2020/2021 and plain WFDB).

A record is `NAME.hea` plus its signal file(s): the Challenge layout stores the samples in a
MATLAB v4 file `NAME.mat` (variable `val`, int16, nsig x n, signal format `16+24`), plain
WFDB records in `.dat` files. `read_wfdb_record(hea_path)` returns an `EcgRecord` with the
12 standard leads (picked by name, case-insensitive, in `LEADS` order whatever order or extra
signals the record has: PTB records carry 15) in millivolts, plus the header comments
`#Age`, `#Sex`, `#Dx`. An 8-lead record is completed to 12 (`ecgmask.data.leads`) and marked
`derived_leads=True`.

Fast path: Challenge `.mat` records (every signal in one MATLAB v4 int16 matrix) are read with
one `np.fromfile` after checking the v4 header; the header is parsed here rather than by
`wfdb.rdheader`, which costs milliseconds a record. Anything else (`.dat` files, other
formats, headers this parser does not handle) goes through `wfdb.rdrecord`. Both give the same
values (tests/data/test_wfdb_reader.py checks it).

Every way a record can be unusable raises `RecordError` with a reason a person understands
("category: detail"); the cache builder writes it to `rejected.csv` and goes on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgmask.data.leads import check_leads, complete_leads, plan_leads
from ecgmask.data.qrs import read_annotations
from ecgmask.data.record import EcgRecord, RecordError, parse_comments

# Bytes per sample for the WFDB formats whose file size we can check before reading.
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0,
                     "160": 2.0, "212": 1.5, "310": 4 / 3, "311": 4 / 3}  # fmt: skip
INVALID_16 = -32768  # WFDB's "no sample" value for 16-bit formats



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
    invalid = d == INVALID_16
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
