"""The preprocessed, memory-mapped ECG cache.

`build_cache(sources, out_root, params)` reads every record of the sources (in worker
processes, all cores by default), preprocesses it (`ecgmask.data.preprocess`) and writes
`out_root/<kind>-<key>/`:

- `signals.npy`: (N windows, 12, length) float16, appended window by window while the
  ingest runs (memory does not grow with the corpus); open it with memory mapping;
- `records.parquet`: one row per window: record, source, patient_id, age, sex, dx (comma
  codes: SNOMED, or SCP statements for PTB-XL), rhythm, superclass, fold, window (index of
  the window within its record), qrs_source ('annotation' where the record came with QRS
  annotations, else None);
- `qrs.npy`: (N windows, 2, ceil(length / 8)) uint8, each window's QRS track (True inside
  a QRS complex) and annotated track (True where the annotations say what is QRS and what
  is not) packed by `np.packbits`, resampled and windowed like the signal; all False where
  `qrs_source` is None (`EcgCache.qrs_track` unpacks them; `ecgmask.data.qrs`);
- `rejected.csv`: path, reason for every record left out (bad data, missing labels in a
  downstream set, a duplicate name, an unreadable path, or excluded on purpose);
- `meta.json`: fs, length, stride, kind, key, n_windows, n_records and the ingest summary.
  It is written last; the directory is built under a temporary name and renamed when
  complete, so a cache directory with this name is whole unless something damaged it
  afterwards, which `check_cache` finds (`EcgCache.open` runs it; `build_cache` rebuilds
  a keyed cache that fails it instead of reusing it).

The builder knows no source type: everything source-specific (what to read, how, which
labels a downstream record needs, how to describe it) is behind the `Source` protocol of
`ecgmask.data.sources`, implemented by `WfdbSource`, `ChapmanSource` and `PtbxlSource`.

The key hashes the input files (path, size, mtime), the sources, the preprocessing parameters
and the exclusions, so the same inputs reuse the cache and any change builds a new one.
`exclude_prefixes` drops records whose name starts with a prefix (e.g. 'JS', the Chapman
records inside the Challenge data); `exclude_caches` drops records whose name or patient id
appears in another (downstream) cache, under its own name or the name the Challenge gave its copy
(PTB-XL's `00001_hr` is the Challenge's `HR00001`); a Chapman cache that matches no record
of a tree holding the Challenge's `JS*` copies (its CSV form: nothing maps those file names to
JS numbers) is refused unless `JS` is an excluded prefix. A record name seen twice (the same record in two
folders) is read once: later copies are rejected naming the first.

Ingest workers end with the ingest: a worker whose ingest process died exits by itself
(`_die_with_parent`), and temporary directories left by a killed ingest are removed by the
next build in the same root once their owner is gone.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

if TYPE_CHECKING:  # imported where used: worker processes start without pandas
    import pandas as pd

from ecgmask.data.labels import RHYTHM_CLASSES
from ecgmask.data.leads import LEADS
from ecgmask.data.preprocess import PreprocessParams, preprocess
from ecgmask.data.qrs import ANNOTATED, window_track
from ecgmask.data.qrs import pack as pack_qrs
from ecgmask.data.record import RecordError
from ecgmask.data.sources import Source, WorkItem, as_sources
from ecgmask.errors import first_line

CACHE_VERSION = 3  # 3: qrs.npy and qrs_source; bump when the cache layout or preprocessing changes meaning
_NPY_HEADER_BYTES = 128
RECORDS_PER_WORKER = 200  # with workers=None, start one worker per this many records (up to all cores)
META_REQUIRED = ("fs", "length", "stride", "kind", "key", "n_windows")
COLUMNS = ("record", "source", "patient_id", "age", "sex", "dx", "rhythm", "superclass", "fold")
_PARENT_POLL_S = 0.5  # how often a worker checks that its ingest is still alive
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class NoUsableRecords(RuntimeError):
    """Raised when an ingest leaves nothing to train on; the message says why."""


class CacheError(ValueError):
    """A directory that is not a whole ECG cache. The message is one line naming the file
    and the problem."""


# ---------------------------------------------------------------------------- checking a cache


def check_cache(path: str | os.PathLike) -> dict:
    """meta.json of the cache at `path` after checking that the cache is whole.

    Checks meta.json (readable, with fs, length, stride, kind, key, n_windows),
    signals.npy (a .npy whose header says (n_windows, 12, length) float16 and whose size
    matches the header) and records.parquet (n_windows rows). Raises CacheError otherwise.
    """
    path = Path(path)
    if not path.is_dir():
        raise CacheError(f"{path}: not a directory, so not an ECG cache")
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise CacheError(f"{meta_file}: missing, so {path} is not a complete ECG cache")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CacheError(f"{meta_file}: unreadable ({first_line(err)})") from None
    if not isinstance(meta, dict):
        raise CacheError(f"{meta_file}: not a JSON object")
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise CacheError(f"{meta_file}: incomplete, no {', '.join(missing)}")
    n, length = meta["n_windows"], meta["length"]
    if not all(isinstance(v, int) and v >= 0 for v in (n, length)):
        raise CacheError(f"{meta_file}: n_windows {n!r} and length {length!r} must be counts")

    signals = path / "signals.npy"
    if not signals.is_file():
        raise CacheError(f"{signals}: missing")
    try:
        with open(signals, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except (OSError, ValueError, EOFError) as err:
        raise CacheError(f"{signals}: not a readable .npy array ({first_line(err)})") from None
    want = (n, len(LEADS), length)
    if tuple(shape) != want or dtype != np.float16 or fortran:
        raise CacheError(
            f"{signals}: holds {'Fortran-order ' if fortran else ''}{dtype} {tuple(shape)}, "
            f"meta.json says float16 {want}"
        )
    size = signals.stat().st_size
    expected = offset + int(np.prod(want)) * 2
    if size != expected:
        raise CacheError(f"{signals}: {size} bytes, its header needs {expected} (truncated or overwritten)")

    table = path / "records.parquet"
    if not table.is_file():
        raise CacheError(f"{table}: missing")
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(table).metadata.num_rows
    except Exception as err:  # pyarrow raises its own error types for damaged files
        raise CacheError(f"{table}: not a readable parquet table ({first_line(err)})") from None
    if rows != n:
        raise CacheError(f"{table}: {rows} rows, meta.json says {n} windows")
    return meta


# ---------------------------------------------------------------------------- the cache


class EcgCache:
    """A built cache: `.signals` (memory-mapped), `.records`, `.meta`, `.path`."""

    def __init__(self, path: Path, records: pd.DataFrame, meta: dict):
        self.path = Path(path)
        self.records = records
        self.meta = meta
        self._signals = None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "EcgCache":
        """Open a cache after `check_cache`; raises CacheError naming the damaged file."""
        import pandas as pd

        path = Path(path)
        meta = check_cache(path)
        try:
            records = pd.read_parquet(path / "records.parquet")
        except Exception as err:  # damage past the parquet footer that check_cache reads
            raise CacheError(f"{path / 'records.parquet'}: unreadable ({first_line(err)})") from None
        return cls(path, records, meta)

    def qrs_track(self, indices) -> tuple[np.ndarray, np.ndarray] | None:
        """((B, L) bool QRS track, (B, L) bool annotated track) of windows `indices` (all
        False for a window whose record had no annotations: see `records.qrs_source`), or
        None for a cache built before the cache stored them."""
        from ecgmask.data.qrs import unpack

        path = self.path / "qrs.npy"
        if not path.is_file():
            return None
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        both = unpack(np.load(path, mmap_mode="r")[idx], int(self.meta["length"]))
        return both[:, 0], both[:, 1]

    @property
    def signals(self) -> np.ndarray:
        if self._signals is None:
            self._signals = np.load(self.path / "signals.npy", mmap_mode="r")
        return self._signals

    def __len__(self) -> int:
        return int(self.meta["n_windows"])

    def __repr__(self) -> str:
        return f"EcgCache({str(self.path)!r}, kind={self.meta['kind']!r}, n_windows={len(self)})"

    # A memmap pickles by copying its data; reopen it in the other process instead.
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_signals"] = None
        return state

    def batch(self, indices, device=None, out=None):
        """Windows `indices` as a (B, 12, L) float32 tensor (on `device` if given).

        The float16 rows are gathered from the memory map first; with a device they are moved
        as float16 (half the bytes) and widened there. `out`, a float32 tensor of the right
        shape, is filled and returned instead of a fresh one (a large fresh allocation costs
        its page faults on every call).
        """
        import torch

        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        half = torch.from_numpy(np.ascontiguousarray(self.signals[idx]))
        if device is not None:
            half = half.to(device, non_blocking=True)
        if out is not None:
            return out.copy_(half)
        return half.float()


# ---------------------------------------------------------------------------- reading one record


def process_item(source: Source, item: WorkItem, params: PreprocessParams) -> tuple:
    """Read (with the source's label rule) + preprocess one record (runs in a worker process).

    Returns ('ok', path, info, windows float16) or ('rejected', path, reason, None). Every
    exception becomes a reason: bad data never ends an ingest with a traceback.
    """
    path = item.path
    try:
        rec = source.read(item)
        windows = preprocess(rec.signal, rec.fs, params).astype(np.float16)
        qrs = rec.extra.get("qrs")
        if qrs is not None:
            qrs = window_track(qrs, rec.fs, rec.signal.shape[1], params.fs, params.length, params.stride,
                               span=rec.extra.get("qrs_span"))
        info = {
            "record": rec.name,
            "source": item.source,
            "patient_id": rec.patient_id,
            "age": float("nan") if rec.age is None else float(rec.age),
            "sex": rec.sex,
            "dx": ",".join(rec.dx),
            "rhythm": rec.rhythm,
            "superclass": rec.superclass,
            "fold": rec.fold,
            "notes": list(rec.notes),
            "duration_s": rec.duration_s,
            "n_windows": int(windows.shape[0]),
            "derived_leads": bool(rec.derived_leads),
            "qrs_source": None if qrs is None else ANNOTATED,
            "qrs": None if qrs is None else pack_qrs(qrs),
        }
        return ("ok", path, info, windows)
    except RecordError as err:
        return ("rejected", path, str(err), None)
    except MemoryError:
        raise
    except Exception as err:  # a reader bug or an odd file: reject the record, keep going
        return ("rejected", path, f"unexpected error: {type(err).__name__}: {err}", None)


# ---------------------------------------------------------------------------- running items


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: the worker ends when the ingest process `parent_pid` does.

    forkserver workers are children of the fork server, not of the ingest; the fork server
    exits when the ingest dies (its pipe closes), so on Linux the kernel's parent-death
    signal ends the worker at once. Everywhere, a watch thread ends it within
    _PARENT_POLL_S when the ingest is gone or the worker was re-parented.
    """
    server = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl here: the watch thread below still ends the worker

    def watch() -> None:
        while True:
            if os.getppid() != server or not pid_alive(parent_pid):
                os._exit(1)
            time.sleep(_PARENT_POLL_S)

    threading.Thread(target=watch, name="ingest-parent-watch", daemon=True).start()


def _run_items(work: list[tuple[Source, WorkItem]], params: PreprocessParams, workers: int) -> Iterator[tuple]:
    """Results of `process_item` in input order, at most a few per worker in flight.

    A window of futures bounds memory whatever the corpus size; a worker that dies (killed
    for memory, say) breaks the pool loudly instead of leaving the ingest waiting forever.
    """
    func = partial(process_item, params=params)
    if workers <= 1:
        for source, item in work:
            yield func(source, item)
        return
    ctx = mp.get_context("forkserver")  # no fork of a possibly threaded parent
    ctx.set_forkserver_preload(["ecgmask.data.cache"])
    in_flight: deque = deque()
    pending = iter(work)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:  # fmt: skip
        try:
            for source, item in itertools.islice(pending, 4 * workers):
                in_flight.append(pool.submit(func, source, item))
            while in_flight:
                try:
                    result = in_flight.popleft().result()
                except BrokenProcessPool:
                    raise RuntimeError(
                        "an ingest worker process died (out of memory?); nothing was written"
                    ) from None
                for source, item in itertools.islice(pending, 1):
                    in_flight.append(pool.submit(func, source, item))
                yield result
        finally:
            for future in in_flight:
                future.cancel()


class _NpyAppender:
    """Write a (N, *inner) .npy by appending rows; the header is fixed up on close."""

    def __init__(self, path: Path, inner: tuple[int, ...], dtype):
        self.path = path
        self.inner = tuple(inner)
        self.dtype = np.dtype(dtype)
        self.n = 0
        self._f = open(path, "wb")
        self._f.write(b"\0" * _NPY_HEADER_BYTES)

    def append(self, rows: np.ndarray) -> None:
        if rows.shape[1:] != self.inner:
            raise ValueError(f"rows of shape {rows.shape[1:]} do not match {self.inner}")
        self._f.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.n += rows.shape[0]

    def close(self) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.n, *self.inner)}  # fmt: skip
        text = repr(header).encode("latin1")
        magic = np.lib.format.magic(1, 0)
        room = _NPY_HEADER_BYTES - len(magic) - 2
        if len(text) + 1 > room:
            raise ValueError("npy header does not fit")
        text = text + b" " * (room - len(text) - 1) + b"\n"
        self._f.seek(0)
        self._f.write(magic + np.uint16(room).astype("<u2").tobytes() + text)
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()

    def abort(self) -> None:
        if not self._f.closed:
            self._f.close()


# ---------------------------------------------------------------------------- keys and summaries


def cache_key(sources, params: PreprocessParams, exclude_prefixes=(), exclude_caches=()) -> str:
    """Hash of the input files (path, size, mtime), sources, parameters and exclusions."""
    sources = as_sources(sources)
    h = hashlib.sha256()
    spec = {
        "version": CACHE_VERSION,
        "sources": [s.describe() for s in sources],
        "params": params.to_dict(),
        "exclude_prefixes": sorted(exclude_prefixes),
        "exclude_caches": sorted(EcgCache.open(c).meta["key"] for c in exclude_caches),
    }
    if exclude_caches:  # a cache built before excluded names were mapped left the Challenge's HR copies in
        spec["exclude_names"] = EXCLUDED_NAMES_RULE
    h.update(json.dumps(spec, sort_keys=True).encode())
    for source in sources:
        h.update("".join(f"{p}\0{size}\0{mtime}\n" for p, size, mtime in source.input_stats()).encode())
    return h.hexdigest()


def _reason_category(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def _counts(counter: Counter, classes, other: str) -> dict:
    out = {c: counter.get(c, 0) for c in classes}
    if counter.get(other):
        out[other] = counter[other]
    return out


def _summarize(kind: str, n_inputs: int, infos: list[dict], rejected: list[tuple[str, str]]) -> dict:
    rhythm = Counter(i["rhythm"] or "unlabelled" for i in infos)
    sex = Counter(i["sex"] or "unknown" for i in infos)
    summary = {
        "n_inputs": n_inputs,
        "kept_records": len(infos),
        "n_windows": int(sum(i["n_windows"] for i in infos)),
        "hours": float(sum(i["duration_s"] for i in infos) / 3600.0),
        "derived": int(sum(i.get("derived_leads", False) for i in infos)),  # 8-lead records completed
        "qrs_annotated": int(sum(i.get("qrs_source") is not None for i in infos)),  # records with a QRS track
        "rejected": dict(Counter(_reason_category(r) for _, r in rejected).most_common()),
        "rhythm": _counts(rhythm, RHYTHM_CLASSES, "unlabelled"),
        "sex": _counts(sex, ("F", "M"), "unknown"),
    }
    labelled = [i["superclass"] for i in infos if i["superclass"] is not None]
    if labelled:  # multi-label: a record counts once for each of its classes
        classes = Counter(c for text in labelled for c in text.split(",") if c)
        summary["superclass"] = {**dict(sorted(classes.items())), **({"none": sum(1 for t in labelled if not t)})}
    notes = Counter(_reason_category(n) for i in infos for n in i["notes"])
    if notes:
        summary["kept_without_label"] = dict(notes.most_common())
    return summary


def format_summary(meta: dict, path: Path | None = None) -> str:
    """A few lines a person reads after an ingest: kept, rejected by reason, hours, balance."""
    s = meta["summary"]
    kept = s["kept_records"]
    lines = [
        f"{meta['kind']} cache {path or ''} (fs {meta['fs']} Hz, length {meta['length']}, "
        f"stride {meta['stride']}, normalization {meta.get('normalization', 'lead')})".replace("  ", " "),
        f"  records: {s['n_inputs']} found, {kept} kept ({s['n_windows']} windows, "
        f"{s['hours']:.2f} h of ECG), {s['n_inputs'] - kept} rejected",
    ]
    if s.get("derived"):
        lines.append(f"  derived: {s['derived']} kept records had only I, II, V1-V6; III, aVR, aVL, aVF "
                     "computed by the limb-lead identities")  # fmt: skip
    if s.get("qrs_annotated"):
        lines.append(f"  QRS track: {s['qrs_annotated']} kept records came with QRS annotations")
    for reason, count in s["rejected"].items():
        lines.append(f"    {count:6d}  {reason}")
    for reason, count in s.get("kept_without_label", {}).items():
        lines.append(f"  kept without a label: {count} {reason}")
    for name in ("rhythm", "sex", "superclass"):
        if name not in s:
            continue
        parts = [f"{c} {n} ({100.0 * n / kept:.1f}%)" if kept else f"{c} {n}" for c, n in s[name].items()]
        lines.append(f"  {name}: " + ", ".join(parts))
    return "\n".join(lines)


def pid_alive(pid: int) -> bool:
    """True while a process `pid` exists (a zombie counts: its owner has not reaped it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_tmp(out_root: Path) -> None:
    """Remove `.tmp-<stem>-<pid>` build directories whose owner process is gone."""
    for tmp in out_root.glob(".tmp-*-*"):
        try:
            pid = int(tmp.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if tmp.is_dir() and not pid_alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


def _discard(directory: Path) -> None:
    """Remove a damaged cache directory: renamed out of the way first, so that its name is
    free at once even if removing its files takes a while."""
    trash = directory.parent / f".tmp-discard-{directory.name}-{os.getpid()}"
    shutil.rmtree(trash, ignore_errors=True)
    os.rename(directory, trash)
    shutil.rmtree(trash, ignore_errors=True)


# The Challenge 2020/21 renamed the downstream sets it holds: PTB-XL's NNNNN_hr / NNNNN_lr
# (ecg_id NNNNN) is HRNNNNN; Chapman-Shaoxing is JS00001-JS10646 (with Ningbo after it), but
# nothing public maps its CSV file names (MUSE_...) to those numbers.
PTBXL_NAME = re.compile(r"(\d{5})_(?:hr|lr)")
CHALLENGE_CHAPMAN = re.compile(r"JS\d+")
EXCLUDED_NAMES_RULE = "challenge-names-1"  # in the key of a cache built with exclude_caches


def challenge_names(names) -> set[str]:
    """The Challenge's names of PTB-XL records: `00001_hr` -> `HR00001` (other names: none)."""
    return {f"HR{m.group(1)}" for m in map(PTBXL_NAME.fullmatch, map(str, names)) if m}


def _source_types(meta: dict) -> set[str]:
    return {str(s.get("type")) for s in meta.get("sources", []) if isinstance(s, dict)}


def check_exclusions(exclude_caches, names_in_tree) -> None:
    """ValueError (one line) for an excluded Chapman cache that matches no record of a tree
    holding Challenge JS records (its CSV form: file names the Challenge's JS names cannot be
    matched with), so the downstream ECGs would silently stay in pretraining. `names_in_tree`:
    the names of the records not already left out by a prefix."""
    names_in_tree = set(names_in_tree)
    if not any(CHALLENGE_CHAPMAN.fullmatch(n) for n in names_in_tree):
        return
    for c in exclude_caches:
        cache = EcgCache.open(c)
        names = set(cache.records["record"].astype(str))
        if "chapman" in _source_types(cache.meta) and not names & names_in_tree:
            raise ValueError(
                f"exclude cache {c}: a Chapman-Shaoxing cache none of whose names ({min(names)}, ...) is in "
                f"the tree, which holds the Challenge's JS copies of Chapman; it would exclude nothing, so "
                f"use --exclude-prefix JS (exclude_prefixes=['JS']) instead")


def _excluded_identities(exclude_caches) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    patients: set[str] = set()
    for c in exclude_caches:
        cache = EcgCache.open(c)
        records = cache.records
        names.update(records["record"].astype(str))
        if "ptbxl" in _source_types(cache.meta):
            names.update(challenge_names(records["record"]))
        patients.update(records["patient_id"].astype(str))
    return names, patients


# ---------------------------------------------------------------------------- building


def build_cache(
    sources,
    out_root: str | os.PathLike,
    params: PreprocessParams | None = None,
    *,
    exclude_prefixes: Iterable[str] = (),
    exclude_caches: Iterable[str | os.PathLike] = (),
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Build (or reuse) the keyed cache `out_root/<kind>-<key>/` and return its path.

    `sources`: one `ecgmask.data.sources.Source` or several of one kind. An existing cache
    with the key is reused when `check_cache` passes and rebuilt when it fails.
    `workers=None` starts one worker process per RECORDS_PER_WORKER records, up to all cores
    (small ingests run in this process). Prints the ingest summary when `progress` is true.
    Raises NoUsableRecords when no record is left; the rejected list is then kept as
    `out_root/<kind>-<key>.rejected.csv`.
    """
    params = params or PreprocessParams()
    sources = as_sources(sources)
    kinds = {s.kind for s in sources}
    if len(kinds) != 1:
        raise ValueError("all sources of one cache must be of one kind (pretrain or downstream)")
    kind = kinds.pop()
    exclude_prefixes = tuple(p for p in exclude_prefixes if p)
    exclude_caches = tuple(Path(c) for c in exclude_caches)
    out_root = Path(out_root)
    key = cache_key(sources, params, exclude_prefixes, exclude_caches)
    stem = f"{kind}-{key[:16]}"
    final = out_root / stem
    if final.exists():
        try:
            meta = check_cache(final)
        except CacheError as err:
            if progress:
                print(f"rebuilding a damaged cache: {err}", flush=True)
            _discard(final)
        else:
            if progress:
                print(f"reusing {final}\n" + format_summary(meta, final), flush=True)
            return final

    out_root.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(out_root)
    tmp = out_root / f".tmp-{stem}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        meta = _ingest(sources, kind, key, params, tmp, exclude_prefixes, exclude_caches, workers, progress)
        if meta["n_windows"] == 0:
            shutil.copyfile(tmp / "rejected.csv", out_root / f"{stem}.rejected.csv")
            reasons = "; ".join(f"{n} {r}" for r, n in meta["summary"]["rejected"].items()) or "no records found"
            raise NoUsableRecords(
                f"nothing usable left: {meta['summary']['n_inputs']} record(s) in "
                f"{', '.join(s.describe()['where'] for s in sources)}, none kept "
                f"({reasons}); see {out_root / (stem + '.rejected.csv')}"
            )
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "meta.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # built meanwhile by someone else
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress:
        print(format_summary(meta, final), flush=True)
    return final


def _screen(work: list[tuple[Source, WorkItem]], exclude_prefixes, exclude_caches):
    """(work to read, rejected (path, reason)): listing problems, later copies of a record
    name, and exclusions are decided here, before any record is read."""
    rejected: list[tuple[str, str]] = []
    first_path: dict[str, str] = {}
    names, patients = _excluded_identities(exclude_caches) if exclude_caches else (set(), set())
    kept = []
    for source, item in work:
        if item.problem is not None:
            rejected.append((item.path, item.problem))
            continue
        if item.name in first_path:
            rejected.append((item.path, f"duplicate record name: {item.name} is already read from {first_path[item.name]}"))
            continue
        first_path[item.name] = item.path
        prefix = next((p for p in exclude_prefixes if item.name.startswith(p)), None)
        if prefix is not None:
            rejected.append((item.path, f"excluded: name starts with {prefix!r}"))
        elif item.name in names or item.patient_id in patients:
            rejected.append((item.path, "excluded: record or patient is in an excluded cache"))
        else:
            kept.append((source, item))
    if exclude_caches:
        check_exclusions(exclude_caches, (item.name for _, item in work if item.problem is None
                                          and not any(item.name.startswith(p) for p in exclude_prefixes)))
    return kept, rejected


def _ingest(sources, kind, key, params, tmp, exclude_prefixes, exclude_caches, workers, progress) -> dict:
    import pandas as pd
    from tqdm import tqdm

    start = time.perf_counter()
    work = [(s, item) for s in sources for item in s.items()]
    n_inputs = len(work)
    work, rejected = _screen(work, exclude_prefixes, exclude_caches)

    if workers is None:
        # a worker costs about a second to start; small ingests run in this process
        workers = min(len(os.sched_getaffinity(0)), len(work) // RECORDS_PER_WORKER)
    workers = max(1, min(int(workers), len(work)))
    writer = _NpyAppender(tmp / "signals.npy", (len(LEADS), params.length), np.float16)
    qrs_writer = _NpyAppender(tmp / "qrs.npy", (2, (params.length + 7) // 8), np.uint8)
    infos: list[dict] = []
    bar = tqdm(total=len(work), desc=f"ingest {kind}", unit="rec", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    try:
        for status, path, payload, windows in _run_items(work, params, workers):
            if status == "ok":
                writer.append(windows)
                qrs = payload.pop("qrs")
                qrs_writer.append(np.zeros((len(windows), *qrs_writer.inner), np.uint8) if qrs is None else qrs)
                infos.append(payload)
            else:
                rejected.append((path, payload))
            bar.update(1)
        writer.close()
        qrs_writer.close()
    finally:
        bar.close()
        writer.abort()
        qrs_writer.abort()

    with open(tmp / "rejected.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "reason"])
        w.writerows(rejected)
    counts = np.array([i["n_windows"] for i in infos], dtype=np.int64)
    table = pd.DataFrame({c: [i[c] for i in infos] for c in COLUMNS})
    table = table.loc[np.repeat(np.arange(len(infos)), counts)].reset_index(drop=True)
    table["age"] = table["age"].astype("float64")
    table["fold"] = table["fold"].astype("Int64")  # nullable: None outside datasets with folds
    table["window"] = np.concatenate([np.arange(n) for n in counts]) if len(counts) else np.array([], np.int64)
    table["qrs_source"] = pd.Series([infos[i]["qrs_source"] for i in np.repeat(np.arange(len(infos)), counts)],
                                    dtype="object")
    table.to_parquet(tmp / "records.parquet", index=False)

    meta = {
        "fs": params.fs,
        "length": params.length,
        "stride": params.stride,
        "normalization": params.normalization,
        "kind": kind,
        "key": key,
        "n_windows": int(writer.n),
        "n_records": len(infos),
        "leads": list(LEADS),
        "sources": [s.describe() for s in sources],
        "exclude_prefixes": list(exclude_prefixes),
        "exclude_caches": [str(c) for c in exclude_caches],
        "version": CACHE_VERSION,
        "ingest_seconds": time.perf_counter() - start,
        "summary": _summarize(kind, n_inputs, infos, rejected),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta
