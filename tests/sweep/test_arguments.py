"""Every argument of sweep/run.py is checked before Ray starts: one line, exit status 2, also
under --dry-run."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from sweep import checks, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_ray(monkeypatch):
    """Fails the test if the command gets as far as starting (or joining) Ray."""
    import sweep.ray_session

    def connect(*args, **kwargs):
        raise AssertionError("Ray was started before the arguments were checked")

    monkeypatch.setattr(sweep.ray_session, "connect", connect)


def refusal(capsys, argv) -> str:
    """Runs the CLI in-process; returns its one line of refusal."""
    with pytest.raises(SystemExit) as exit_:
        run.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sweep/run.py: error: ")
    return lines[0]


BAD_ARGUMENTS = [
    (["--seeds", "abc"], "'abc' is not an integer"),
    (["--seeds", "1,1"], "1 given more than once"),
    (["--seeds", "1,-2"], "integers >= 0"),
    (["--seeds", ","], "at least one seed"),
    (["--set", "epochs=abc"], "epochs is an integer"),
    (["--set", "epochs=-1"], "epochs must be >= 1"),
    (["--set", "epochs=0"], "epochs must be >= 1"),
    (["--set", "patience=0"], "patience must be >= 1"),
    (["--set", "scratch_lr=0"], "scratch_lr must be a finite number > 0"),
    (["--set", "scratch_lr=nan"], "scratch_lr must be a finite number > 0"),
    (["--set", "epochs=none"], "epochs cannot be none"),
    (["--set", "no_such=1"], "unknown setting 'no_such': use a dotted key, one of profile.{"),
    (["--set", "pretrain.no_such=1"], "unknown setting 'pretrain.no_such'"),
    (["--set", "pretrain.lr=-1"], "lr must be positive"),
    (["--set", "epochs"], "expected KEY=VALUE"),
    (["--config", "/no/such.yaml"], "--config /no/such.yaml"),
    (["--tracking-uri", "file:///x"], "--tracking-uri needs --tracker mlflow"),
    (["--max-concurrent", "0"], "--max-concurrent 0: must be >= 1"),
    (["--max-concurrent", "abc"], "argument --max-concurrent: invalid int value"),
    (["--num-cpus", "0"], "--num-cpus 0: must be >= 1"),
    (["--checkpoint-every", "0"], "--checkpoint-every 0: must be >= 1"),
    (["--gpus-per-trial", "-0.5"], "--gpus-per-trial -0.5: must be >= 0"),
    (["--cpus-per-trial", "0"], "--cpus-per-trial 0: must be > 0"),
    (["--fractions", "abc"], "'abc' is not a number"),
    (["--fractions", "1.5"], "1.5 is not in (0, 1]"),
    (["--fractions", "0.5"], "has no fraction(s) [0.5]"),
    (["--rows", "no_such_row"], "has no row(s) ['no_such_row']"),
]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize("extra,message", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_a_bad_argument_is_refused_in_one_line_before_ray(extra, message, dry_run, tmp_path, capsys, no_ray):
    argv = ["--space", "augmentations", "--storage", str(tmp_path / "results"), *extra] + (["--dry-run"] if dry_run else [])
    assert message in refusal(capsys, argv)
    assert not (tmp_path / "results").exists()  # nothing written


def test_storage_under_a_regular_file_is_refused(tmp_path, capsys, no_ray):
    (tmp_path / "file").write_text("not a directory")
    line = refusal(capsys, ["--space", "augmentations", "--dry-run", "--storage", str(tmp_path / "file" / "results")])
    assert "is a file, not a directory" in line and str(tmp_path / "file") in line


def test_storage_on_a_read_only_filesystem_is_refused(tmp_path, capsys, no_ray, monkeypatch):
    # no read-only mount can be made without privileges: the write fails as it would on one
    real_mkstemp = checks.tempfile.mkstemp

    def mkstemp(*, dir, prefix):
        if Path(dir) == tmp_path:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkstemp(dir=dir, prefix=prefix)

    monkeypatch.setattr(checks.tempfile, "mkstemp", mkstemp)
    line = refusal(capsys, ["--space", "augmentations", "--storage", str(tmp_path / "results")])
    assert f"cannot write in {tmp_path} (Read-only file system)" in line


def test_an_unreachable_bucket_is_refused(capsys, no_ray, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no credential lookups on the network
    monkeypatch.setattr(checks, "STORAGE_TIMEOUT_S", 3.0)
    # port 9 of this machine: nothing listens, so the connection is refused at once
    storage = "s3://ecgmask-no-such-bucket/sweeps?endpoint_override=127.0.0.1:9&scheme=http"
    line = refusal(capsys, ["--space", "augmentations", "--dry-run", "--storage", storage])
    assert f"--storage {storage}: unreachable" in line


def test_data_that_is_not_a_cache_is_refused(capsys, no_ray, tmp_path):
    docs = str(ROOT / "docs")
    line = refusal(capsys, ["--space", "augmentations", "--dry-run", "--storage", str(tmp_path), "--data", docs, docs])
    assert f"--data {docs}: not a usable pretrain cache" in line


def test_a_pretrain_cache_where_the_downstream_one_goes_is_refused(capsys, no_ray, tmp_path, monkeypatch):
    from ecgmask.data import EcgCache

    for name in ("pre", "down"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(EcgCache, "open", classmethod(lambda cls, path: type("Cache", (), {"meta": {"kind": "pretrain"}})()))
    line = refusal(capsys, ["--space", "augmentations", "--dry-run", "--storage", str(tmp_path / "r"), "--data", str(tmp_path / "pre"), str(tmp_path / "down")])
    assert "a pretrain cache where the downstream cache goes" in line


def test_the_command_line_exits_2_with_one_line():
    out = subprocess.run(
        [sys.executable, str(ROOT / "sweep" / "run.py"), "--space", "augmentations", "--dry-run", "--seeds", "abc"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["sweep/run.py: error: --seeds 'abc': 'abc' is not an integer"]
    assert "Ray" not in out.stdout
