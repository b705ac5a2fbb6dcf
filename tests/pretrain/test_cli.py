"""`python -m ecgmask.pretrain` and `pretrain()`, end to end on a real (synthetic) cache."""

import subprocess
import sys

import pytest

from ecgmask.checkpoint import load_encoder
from ecgmask.pretrain import PretrainConfig, main
from ecgmask.profiles import LAPTOP


def test_cli_help_explains_itself(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--augmentation" in out and "--profile" in out and "resume" in out


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "ecgmask.pretrain", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "python -m ecgmask.pretrain" in done.stdout


# ---------------------------------------------------------------- end to end on a real cache
@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    from ecgmask.data import PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.corpora.synthetic import write_synthetic_tree

    root = tmp_path_factory.mktemp("pretrain-e2e")
    tree = write_synthetic_tree(root / "tree", 24, seed=11, fs=100, progress=False, workers=1)
    return build_cache(WfdbSource([tree]), root / "caches", PreprocessParams(fs=100, length=1000, stride=400),
                       workers=1, progress=False)


@pytest.mark.slow
def test_cli_pretrains_advmask_plus_3kg_on_a_real_cache_and_resumes(synthetic_cache, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--cache", str(synthetic_cache), "--augmentation", "advmask+3kg", "--profile", "laptop", "--epochs", "2",
            "--batch-size", "8", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert '"epoch": 1' in printed and '"epoch": 2' in printed and "mask_occupancy_1" in printed
    assert f"checkpoint written to {out}" in printed
    encoder, pretrain_config = load_encoder(out)
    assert pretrain_config["augmentation"] == "advmask+3kg" and encoder.config["width"] == LAPTOP.width

    # the same command again finds the finished state and trains no further
    before = (out / "state.pt").read_bytes()
    assert main(argv) == 0
    assert (out / "state.pt").read_bytes() == before
    # another configuration on the same directory is refused, not mixed in
    assert main(argv[:-1] + ["--seed", "5", "--quiet"]) == 2
    assert "different pretraining configuration" in capsys.readouterr().err


@pytest.mark.slow
def test_pretrain_function_lowers_nt_xent_on_the_synthetic_corpus(synthetic_cache, tmp_path):
    from ecgmask.pretrain import pretrain

    config = PretrainConfig(augmentation="gaussian", seed=0, epochs=4, batch_size=8, accumulation=1, lr=1e-3,
                            width=8, device="cpu")
    seen = []
    result = pretrain(config, synthetic_cache, tmp_path / "ckpt", progress=False, log=seen.append)
    assert [m["epoch"] for m in seen] == [1, 2, 3, 4] and result["stop"] is True
    assert seen[-1]["nt_xent"] < seen[0]["nt_xent"]
    assert result["checkpoint"] == str(tmp_path / "ckpt")
