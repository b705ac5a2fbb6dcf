"""Ingest and cache-read speed, and ingest memory, measured side by side in one run.

  python benchmarks/ingest.py [--records 1000] [--scale 4] [--fs 500 --length 5000 --stride 2000]

1. Writes a synthetic Challenge-layout corpus (`ecgmask.data.corpora.synthetic.write_synthetic_tree`).
2. Baseline: a bare single-process `wfdb.rdrecord` loop over the same records (reading only).
3. Full ingest: `build_cache` (read, resample, despike, window, z-score, write), all cores,
   process start-up included. Prints both rates in records/s and their ratio (goal >= 2).
4. Training-time read: random batches of 256 windows from the cache as float32 tensors;
   prints the median time (goal < 10 ms).
5. Memory: the peak resident memory of the whole ingest (the process and its workers) for
   the corpus and for a `--scale` times larger one (the same records listed `--scale` times
   through symlinked folders). It should stay flat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def peak_ingest_memory(roots: list[Path], out: Path, params: dict, workers: int | None) -> tuple[float, int, float]:
    """(peak MiB of the ingest process tree, windows written, seconds), in a fresh process."""
    code = (
        "import json, sys\n"
        "from ecgmask.data import WfdbSource, PreprocessParams, build_cache, EcgCache\n"
        f"p = build_cache(WfdbSource({[str(r) for r in roots]!r}), {str(out)!r}, PreprocessParams(**{params!r}),"
        f" workers={workers!r}, progress=False)\n"
        "print(json.dumps({'n': len(EcgCache.open(p))}))\n"
    )
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    peak = 0

    def sample():
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss_bytes(proc.pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out_text, _ = proc.communicate()
    t.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest for the memory check failed (exit {proc.returncode})")
    return peak / 2**20, json.loads(out_text.strip().splitlines()[-1])["n"], seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)  # fmt: skip
    ap.add_argument("--records", type=int, default=1000, help="records in the corpus (default: 1000)")
    ap.add_argument("--scale", type=int, default=4, help="size of the larger corpus for the memory check (default: 4)")
    ap.add_argument("--fs", type=int, default=500)
    ap.add_argument("--length", type=int, default=5000)
    ap.add_argument("--stride", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None, help="ingest processes (default: all cores)")
    ap.add_argument("--batches", type=int, default=50, help="random batches to time (default: 50)")
    ap.add_argument("--dir", type=Path, default=None, help="working folder (default: a temporary one)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import torch
    import wfdb

    from ecgmask.data import EcgCache, PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.corpora.synthetic import write_synthetic_tree
    from ecgmask.data.tree import list_wfdb_headers

    workers = args.workers or len(os.sched_getaffinity(0))
    params = {"fs": args.fs, "length": args.length, "stride": args.stride}
    work = args.dir or Path(tempfile.mkdtemp(prefix="ecgmask-bench-"))
    tree = write_synthetic_tree(work / "tree", args.records, seed=123, progress=True)
    headers = list_wfdb_headers(tree)
    n = len(headers)
    print(f"corpus: {n} records in {tree}; {workers} worker(s) on {os.cpu_count()} cores; params {params}")

    for h in headers[:20]:  # warm the page cache and imports for both sides alike
        wfdb.rdrecord(str(h.with_suffix("")))
    start = time.perf_counter()
    for h in headers:
        wfdb.rdrecord(str(h.with_suffix("")))
    t_wfdb = time.perf_counter() - start

    out = work / "caches"
    start = time.perf_counter()
    path = build_cache(WfdbSource([tree]), out / "speed", PreprocessParams(**params), workers=workers, progress=False)
    t_ingest = time.perf_counter() - start
    rate_wfdb, rate_ingest = n / t_wfdb, n / t_ingest
    print(f"wfdb.rdrecord loop (read only, 1 process): {rate_wfdb:8.1f} records/s ({t_wfdb:.2f} s)")
    print(f"build_cache full ingest ({workers} workers): {rate_ingest:8.1f} records/s ({t_ingest:.2f} s)")
    print(f"ratio ingest / rdrecord: {rate_ingest / rate_wfdb:.2f}x (goal >= 2x)")
    start = time.perf_counter()
    build_cache(WfdbSource([tree]), out / "speed", PreprocessParams(**params), workers=workers, progress=False)
    print(f"second run (cache reused): {1e3 * (time.perf_counter() - start):.1f} ms")

    cache = EcgCache.open(path)
    rng = np.random.default_rng(0)
    bs = min(256, len(cache))
    times, out_times, read_times = [], [], []
    torch.set_num_threads(1)
    buffer = torch.empty(bs, 12, args.length)
    for _ in range(args.batches):
        idx = rng.choice(len(cache), size=bs, replace=False)
        t0 = time.perf_counter()
        x = cache.batch(idx)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cache.batch(idx, out=buffer)
        out_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cache.signals[idx]
        read_times.append(time.perf_counter() - t0)
    assert x.dtype == torch.float32 and x.shape == (bs, 12, args.length) and torch.equal(x, buffer)
    print(f"random batch of {bs} windows (12 x {args.length}) -> float32 tensor, median of {args.batches} "
          f"(goal < 10 ms): {1e3 * np.median(times):.2f} ms; into a reused tensor (out=) "
          f"{1e3 * np.median(out_times):.2f} ms; the float16 rows alone {1e3 * np.median(read_times):.2f} ms "
          f"(cache of {len(cache)} windows, 1 thread)")  # fmt: skip

    # Memory: the same records once, and `scale` times through symlinked copies of the tree.
    big = work / f"x{args.scale}"
    big.mkdir(exist_ok=True)
    for k in range(args.scale):
        link = big / f"copy{k}"
        if not link.exists():
            link.symlink_to(tree.resolve(), target_is_directory=True)
    mem1, n1, s1 = peak_ingest_memory([tree], out / "mem1", params, workers)
    mem4, n4, s4 = peak_ingest_memory([big], out / f"mem{args.scale}", params, workers)
    print(f"peak ingest memory (process + workers): {n} records -> {mem1:.0f} MiB ({n1} windows, {s1:.1f} s); "
          f"{args.scale * n} records -> {mem4:.0f} MiB ({n4} windows, {s4:.1f} s); "
          f"ratio {mem4 / mem1:.2f} (flat = 1)")  # fmt: skip


if __name__ == "__main__":
    main()
