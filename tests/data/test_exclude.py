"""Excluding a downstream cache from a Challenge-form pretraining tree, whose copies of
PTB-XL and Chapman carry the Challenge's names (HR00001, JS00001), not the datasets' own."""

import csv
import os

import pytest

from ecgmask.data import ChapmanSource, EcgCache, PreprocessParams, PtbxlSource, WfdbSource, build_cache
from ecgmask.data.cache import challenge_names

from .conftest import write_record
from .test_chapman import chapman_csv_tree
from .test_prepare_cli import load_main
from .test_ptbxl import ptbxl_tree

SMALL = PreprocessParams(fs=250, length=400, stride=400)
CLI_SMALL = ["--fs", "250", "--length", "400", "--stride", "400", "--workers", "1", "--no-progress"]


def challenge_tree(root):
    """PTB-XL ecg_id 1, 2 and 9999 as HR*, Chapman as JS*, one Georgia record."""
    for name in ("HR00001", "HR00002", "HR09999"):
        write_record(root / "ptb-xl", name)
    for name in ("JS00001", "JS00002"):
        write_record(root / "chapman", name)
    write_record(root / "georgia", "E00001")
    return root


def kept_and_excluded(path):
    with open(path / "rejected.csv", newline="") as f:
        excluded = {os.path.basename(r["path"])[:-4] for r in csv.DictReader(f) if r["reason"].startswith("excluded")}
    return set(EcgCache.open(path).records["record"]), excluded


def test_challenge_names_of_ptbxl_records():
    assert challenge_names(["00001_hr", "21837_lr", "HR00003", "MUSE_1", "1_hr"]) == {"HR00001", "HR21837"}


def test_a_ptbxl_cache_excludes_its_hr_copies(tmp_path):
    tree = challenge_tree(tmp_path / "challenge")
    ptbxl = build_cache(PtbxlSource(ptbxl_tree(tmp_path / "ptbxl"), fs=250), tmp_path / "c", SMALL,
                        workers=1, progress=False)  # fmt: skip
    assert "00001_hr" in set(EcgCache.open(ptbxl).records["record"])
    path = build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, exclude_caches=[ptbxl], workers=1, progress=False)
    kept, excluded = kept_and_excluded(path)
    assert excluded == {"HR00001", "HR00002"}
    assert kept == {"HR09999", "JS00001", "JS00002", "E00001"}


def test_a_chapman_csv_cache_is_refused_in_one_line_naming_the_prefix(tmp_path):
    tree = challenge_tree(tmp_path / "challenge")
    chapman = build_cache(ChapmanSource(chapman_csv_tree(tmp_path / "chapman"), expected_samples=800),
                          tmp_path / "c", SMALL, workers=1, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="--exclude-prefix JS") as err:
        build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, exclude_caches=[chapman], workers=1, progress=False)
    assert "\n" not in str(err.value) and str(chapman) in str(err.value)
    # with the prefix the JS records go, and the cache's own names are still honoured
    path = build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, exclude_prefixes=["JS"],
                       exclude_caches=[chapman], workers=1, progress=False)  # fmt: skip
    assert kept_and_excluded(path) == ({"HR00001", "HR00002", "HR09999", "E00001"}, {"JS00001", "JS00002"})


def test_a_chapman_wfdb_cache_matches_by_name(tmp_path):
    tree = challenge_tree(tmp_path / "challenge")
    chapman = build_cache(ChapmanSource(tree / "chapman"), tmp_path / "c", SMALL, workers=1, progress=False)
    path = build_cache(WfdbSource([tree]), tmp_path / "c", SMALL, exclude_caches=[chapman], workers=1, progress=False)
    assert kept_and_excluded(path)[1] == {"JS00001", "JS00002"}


def test_prepare_wfdb_exclude(tmp_path, capsys):
    tree = challenge_tree(tmp_path / "challenge")
    main = load_main()
    out = tmp_path / "c"
    ptbxl = build_cache(PtbxlSource(ptbxl_tree(tmp_path / "ptbxl"), fs=250), out, SMALL, workers=1, progress=False)
    assert main(["wfdb", "--root", str(tree), "--exclude", str(ptbxl), "--out", str(out), *CLI_SMALL]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert kept_and_excluded(EcgCache.open(path).path)[1] == {"HR00001", "HR00002"}

    chapman = build_cache(ChapmanSource(chapman_csv_tree(tmp_path / "chapman"), expected_samples=800), out, SMALL,
                          workers=1, progress=False)  # fmt: skip
    assert main(["wfdb", "--root", str(tree), "--exclude", str(chapman), "--out", str(out), *CLI_SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--exclude-prefix JS" in err
