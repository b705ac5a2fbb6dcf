"""The README's "From Python" block runs as written: against the stored tiny sweep copied to
`./results/`, with a real encoder published as `advmask-s1` and a real downstream cache in its
plan (the stand-in core writes neither), it loads the trials, makes Table 1 and embeds the cache.

It lives under tests/analysis/ to reuse the session's stored sweep (tests/analysis/conftest.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_block(section: str) -> str:
    """The first ```python block under the `## <section>` heading of the README."""
    text = README.read_text(encoding="utf-8")
    part = text.split(f"\n## {section}\n", 1)
    assert len(part) == 2, f"README.md has no '## {section}' section"
    body = part[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", body, re.S)
    assert block, f"README.md '## {section}' has no python block"
    return block.group(1)


@pytest.fixture
def notebook_dir(stored_sweep, tmp_path, monkeypatch):
    """A working directory whose ./results holds a copy of the stored sweep, made real enough to embed."""
    import torch

    from ecgmask.checkpoint import save_encoder
    from ecgmask.data import PreprocessParams, WfdbSource, build_cache
    from ecgmask.data.corpora.synthetic import sample_params, write_record
    from ecgmask.models import ResNet1d18
    from sweep.store.layout import SweepLayout

    sweep = tmp_path / "results" / "tiny"
    shutil.copytree(stored_sweep.path, sweep)
    records = tmp_path / "records"
    records.mkdir()
    for i in range(4):
        write_record(records, sample_params(3, i), fs=100, seconds=10)
    cache = build_cache([WfdbSource(records)], tmp_path / "caches", PreprocessParams(fs=100, length=1000, stride=400),
                        workers=1, progress=False)
    layout = SweepLayout(str(sweep))
    encoder_dir = Path(layout.encoder("advmask-s1"))
    shutil.rmtree(encoder_dir)
    torch.manual_seed(0)
    save_encoder(encoder_dir, ResNet1d18(width=8), {"augmentation": "advmask", "seed": 1})
    plan = json.loads(Path(layout.plan).read_text())
    plan["data"]["downstream"] = str(cache)
    Path(layout.plan).write_text(json.dumps(plan))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
def test_the_from_python_block_runs_as_written(notebook_dir, capsys):
    from analysis import table1 as t1
    from analysis.results import load_sweeps
    from ecgmask.data import EcgCache

    namespace: dict = {}
    exec(compile(python_block("From Python"), str(README) + ":From Python", "exec"), namespace)
    out = capsys.readouterr().out
    trials = namespace["trials"]
    assert len(trials) == len(load_sweeps([notebook_dir / "results" / "tiny"]))
    assert out.count("**Table 1.**") == 1 and "Paired comparison, advmask minus row" in out
    assert namespace["table"].rows == t1.build_table1(trials).rows
    cache = EcgCache.open(namespace["cache"].path)
    assert namespace["features"].shape == (len(cache), 8 * 8)  # ResNet1d18(width=8).out_dim
    assert namespace["pretrain_config"] == {"augmentation": "advmask", "seed": 1}
