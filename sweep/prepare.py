"""Build a preprocessed ECG cache (signals.npy + records.parquet + rejected.csv).

  python sweep/prepare.py synthetic --records 1000 --seed 0 --out .cache/data
  python sweep/prepare.py synthetic --profile laptop --out .cache/data   # sized for a laptop sweep
  python sweep/prepare.py deepfake --records 10000 --seed 0 --out .cache/data
  python sweep/prepare.py wfdb --root /data/challenge2021 --exclude-prefix JS --out .cache/data
  python sweep/prepare.py chapman --root /data/chapman --out .cache/data
  python sweep/prepare.py ptbxl --root /data/ptb-xl --fs 500 --out .cache/data
  python sweep/prepare.py ludb --root ../shared/real-records/ludb --out .cache/data

The cache lands in OUT/<kind>-<key>/, keyed by the input files, the preprocessing parameters
and the exclusions: running the same command again reuses it; the last line printed is its
path. Exit status 1 (with the reason) only when no usable record is left.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_OUT = Path(".cache") / "data"  # prepare.py's caches, under the working directory
STUDY_ROOT = Path(__file__).resolve().parents[1] / ".cache" / "ecgmask"  # the default synthetic study, in the checkout


def study_root(profile_name: str) -> Path:
    """Where the default synthetic study of a profile is built on first use (sweep/run.py, benchmarks)."""
    return STUDY_ROOT / profile_name


DEFAULT_WINDOWS = {"fs": 500, "length": 5000, "stride": 2000}  # without --profile: the paper's sizes


def _profile_names() -> list[str]:
    from ecgmask.profiles import PROFILES

    return sorted(PROFILES)


def window_options(args) -> dict:
    """fs, length and stride: each as given, else the --profile's, else DEFAULT_WINDOWS."""
    base = dict(DEFAULT_WINDOWS)
    if args.profile:
        from ecgmask.profiles import get_profile

        profile = get_profile(args.profile)
        base = {key: int(getattr(profile, key)) for key in base}
    return {key: base[key] if getattr(args, key) is None else getattr(args, key) for key in base}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("cache and preprocessing")
    g.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"cache root; the cache is OUT/<kind>-<key>/ (default: {DEFAULT_OUT})")
    g.add_argument("--profile", choices=_profile_names(),
                   help="take --fs/--length/--stride from this profile of sweep/run.py (laptop: 100 Hz, 1000 "
                        "samples; paper: 500 Hz, 5000), so that its sweeps accept the cache; a --fs, --length "
                        "or --stride given as well wins")
    g.add_argument("--fs", type=int, default=None, help=f"target sampling rate in Hz (default: the profile's, else {DEFAULT_WINDOWS['fs']})")
    g.add_argument("--length", type=int, default=None,
                   help=f"window length in samples; shorter records are centre-padded (default: the profile's, else {DEFAULT_WINDOWS['length']})")
    g.add_argument("--stride", type=int, default=None,
                   help=f"stride in samples between windows of longer records (default: the profile's, else {DEFAULT_WINDOWS['stride']})")
    g.add_argument("--normalization", choices=("record", "lead"), default="record",
                   help="record: each lead centred, one std over all leads and samples (keeps the "
                        "limb-lead identities and relative amplitudes); lead: each lead z-scored "
                        "on its own (default: record)")
    g.add_argument("--exclude-prefix", action="append", default=[], metavar="PREFIX",
                   help="leave out records whose name starts with PREFIX, e.g. JS for the "
                        "Chapman records inside the Challenge data (repeatable)")
    g.add_argument("--exclude", action="append", default=[], type=Path, metavar="CACHE_DIR",
                   help="leave out records or patients that are in this (downstream) cache, also "
                        "under the Challenge's names of PTB-XL's records (00001_hr is HR00001); a "
                        "Chapman cache in CSV form is refused (unless --exclude-prefix JS is given) "
                        "where the tree holds the Challenge's JS records, which it cannot match by name (repeatable)")
    g.add_argument("--workers", type=int, default=None,
                   help="ingest processes, and file writers of the deepfake tree (default: all cores)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")

    parser = argparse.ArgumentParser(
        prog="prepare.py",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")

    # the corpora this script generates (synthetic, deepfake) share how they are sized and seeded
    generated = argparse.ArgumentParser(add_help=False)
    gen = generated.add_argument_group("generated corpus")
    gen.add_argument("--records", type=int, default=1000, help="number of records (default: 1000)")
    gen.add_argument("--seed", type=int, default=0, help="seed of the generator's random draws (default: 0)")
    gen.add_argument("--patient-offset", type=int, default=0,
                     help="first record/patient number minus one, so that two corpora do not "
                          "share patients (default: 0)")
    gen.add_argument("--tree", type=Path, default=None,
                     help="where to write the WFDB tree (default: OUT/trees/SOURCE-s<SEED>-"
                          "n<RECORDS>-p<OFFSET>)")

    syn = sub.add_parser("synthetic", parents=[common, generated],
                         help="write a synthetic Challenge-layout WFDB tree, then ingest it",
                         description="Write a synthetic 12-lead corpus as NAME.hea + NAME.mat "
                                     "(Challenge layout) and ingest it through the WFDB reader.")
    syn.add_argument("--kind", choices=("pretrain", "downstream"), default="pretrain",
                     help="pretrain: labels optional; downstream: every record needs a rhythm "
                          "class and sex (default: pretrain)")

    df = sub.add_parser("deepfake", parents=[common, generated],
                        help="generate DeepFake ECGs (deepfake-ecg's Pulse2Pulse), then ingest them",
                        description="Generate 10 s, 500 Hz 8-lead ECGs (I, II, V1-V6) with the "
                                    "Pulse2Pulse generator of the deepfake-ecg package (pip install "
                                    "'.[deepfake]'; no download), write them as a WFDB tree and ingest "
                                    "it through the WFDB reader, which derives III, aVR, aVL, aVF. "
                                    "Age, sex and Dx are unknown: a pretraining corpus.")
    df.add_argument("--device", default="cpu",
                    help="where the generator runs: cpu, cuda, auto (default: cpu)")
    df.add_argument("--batch-size", type=int, default=16, help="ECGs generated at once (default: 16)")

    wf = sub.add_parser("wfdb", parents=[common], help="a pretraining corpus of WFDB/Challenge records",
                        description="Ingest every NAME.hea (+ .mat or .dat) under the roots as a "
                                    "pretraining corpus; unknown age/sex/Dx are kept.")
    wf.add_argument("--root", action="append", required=True, type=Path, metavar="DIR",
                    help="folder searched recursively for records (repeatable)")

    ch = sub.add_parser("chapman", parents=[common], help="the Chapman-Shaoxing downstream set",
                        description="Ingest Chapman-Shaoxing, CSV form (Diagnostics.csv + "
                                    "ECGDataDenoised/) or WFDB form (JS*.hea + .mat).")
    ch.add_argument("--root", required=True, type=Path, metavar="DIR", help="the dataset folder")

    px = sub.add_parser("ptbxl", parents=[common], help="PTB-XL, a downstream set with its own folds",
                        description="Ingest PTB-XL (ptbxl_database.csv, scp_statements.csv, records100/ "
                                    "and records500/): records500 for --fs above 100, else records100; "
                                    "labels rhythm, sex, diagnostic superclass and strat_fold (splits use "
                                    "folds 10 and 9 as test and validation). Records without a rhythm "
                                    "class are kept.")
    px.add_argument("--root", required=True, type=Path, metavar="DIR", help="the PTB-XL release folder")

    lu = sub.add_parser("ludb", parents=[common], help="LUDB, 200 ECGs with cardiologists' QRS boundaries",
                        description="Ingest LUDB (RECORDS, data/<n>.hea + .dat + one annotation file a "
                                    "lead): rhythm (SR, SB, GSVT, AFIB), sex, age and the experts' QRS "
                                    "track (the union over the 12 leads' annotations) per window.")
    lu.add_argument("--root", required=True, type=Path, metavar="DIR", help="the LUDB release folder")
    return parser


def out_problem(out: Path) -> str | None:
    """Why `out` cannot hold caches (a file where a folder must be), or None."""
    for part in (out, *out.parents):
        if part.exists():
            return None if part.is_dir() else f"{part} is a file, not a folder"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.fs, args.length, args.stride = window_options(args).values()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from ecgmask.data import ChapmanSource, NoUsableRecords, PreprocessParams, WfdbSource, build_cache

    try:
        params = PreprocessParams(fs=args.fs, length=args.length, stride=args.stride,
                                  normalization=args.normalization)
    except ValueError as err:
        print(f"prepare.py: error: {err}", file=sys.stderr)
        return 2
    problem = out_problem(args.out)
    if problem:
        print(f"prepare.py: error: --out {args.out}: {problem}", file=sys.stderr)
        return 2
    from ecgmask.data.cache import CacheError, check_cache

    for cache in args.exclude:
        try:
            check_cache(cache)
        except CacheError as err:
            print(f"prepare.py: error: --exclude {cache} is not a usable cache: {err}", file=sys.stderr)
            return 2

    if args.source == "synthetic":
        from ecgmask.data.corpora.synthetic import write_synthetic_tree

        if args.records < 1:
            print("prepare.py: error: --records must be at least 1", file=sys.stderr)
            return 2
        tree = args.tree or args.out / "trees" / f"synthetic-s{args.seed}-n{args.records}-p{args.patient_offset}"
        tree = write_synthetic_tree(tree, args.records, args.seed, patient_offset=args.patient_offset,
                                    progress=not args.no_progress)  # fmt: skip
        print(f"synthetic tree: {tree}")
        source = WfdbSource([tree]) if args.kind == "pretrain" else ChapmanSource(tree)
    elif args.source == "deepfake":
        from ecgmask.data.corpora.deepfake import write_deepfake_tree

        if args.records < 1 or args.batch_size < 1:
            print("prepare.py: error: --records and --batch-size must be at least 1", file=sys.stderr)
            return 2
        tree = args.tree or args.out / "trees" / f"deepfake-s{args.seed}-n{args.records}-p{args.patient_offset}"
        try:
            tree = write_deepfake_tree(tree, args.records, args.seed, patient_offset=args.patient_offset,
                                       batch_size=args.batch_size, device=args.device, workers=args.workers,
                                       progress=not args.no_progress)  # fmt: skip
        except (ImportError, ValueError) as err:  # the package is missing, or no CUDA
            print(f"prepare.py: error: {err}", file=sys.stderr)
            return 2
        print(f"deepfake tree: {tree}")
        source = WfdbSource([tree])
    elif args.source == "wfdb":
        missing = [str(r) for r in args.root if not r.is_dir()]
        if missing:
            print(f"prepare.py: error: --root {', '.join(missing)}: not a directory", file=sys.stderr)
            return 2
        source = WfdbSource(args.root)
    elif args.source == "ptbxl":
        from ecgmask.data.ptbxl import PtbxlSource

        if not args.root.is_dir():
            print(f"prepare.py: error: --root {args.root}: not a directory", file=sys.stderr)
            return 2
        source = PtbxlSource(args.root, fs=args.fs)
    elif args.source == "ludb":
        from ecgmask.data.ludb import LudbSource

        if not args.root.is_dir():
            print(f"prepare.py: error: --root {args.root}: not a directory", file=sys.stderr)
            return 2
        source = LudbSource(args.root)
    else:
        if not args.root.is_dir():
            print(f"prepare.py: error: --root {args.root}: not a directory", file=sys.stderr)
            return 2
        source = ChapmanSource(args.root)

    try:
        path = build_cache(
            source,
            args.out,
            params,
            exclude_prefixes=args.exclude_prefix,
            exclude_caches=args.exclude,
            workers=args.workers,
            progress=not args.no_progress,
        )
    except NoUsableRecords as err:
        print(f"prepare.py: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as err:  # e.g. an unreadable Diagnostics table
        print(f"prepare.py: error: {err}", file=sys.stderr)
        return 2
    if args.no_progress:  # build_cache printed the summary only with progress on
        from ecgmask.data import EcgCache, format_summary

        print(format_summary(EcgCache.open(path).meta, path))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
