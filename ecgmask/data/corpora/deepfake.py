"""DeepFake ECGs: a realistic pretraining corpus that needs no credentials.

The PyPI package `deepfake-ecg` (1.1.2, MIT; Thambawita et al. 2021, "DeepFake
electrocardiograms: the key for open science for artificial intelligence in medicine") ships a
Pulse2Pulse generator (a 1-D U-Net GAN generator, 10.6 M parameters, 42 MB of weights inside
the wheel) trained on real 10 s, 500 Hz resting ECGs. Given (B, 8, 5000) uniform noise in
[-1, 1] it returns tanh outputs; times 6000 they are microvolts of the 8 independent leads
I, II, V1..V6 (the package's own `generate` does exactly this and writes integer text files).

The package's `generate` is not used: it draws unseeded noise, runs one ECG at a time and
writes `.asc` files of its own layout. Here its generator class and weights are loaded
directly (`load_generator`, `weights_only=True`, nothing downloaded), and

- record `number` of the corpus with `seed` gets its own noise from a CPU `torch.Generator`
  seeded by (seed, number), so a record is the same whatever the batch size, the number of
  records or the device, up to float rounding in the convolutions (~0.02 uV on CPU across
  batch sizes; it can move a stored 1 uV step);
- batches run on the chosen device under `torch.inference_mode`;
- each ECG is written as a plain WFDB record (`wfdb.wrsamp`: `NAME.hea` + `NAME.dat`, format
  16, 1000 adu/mV, i.e. 1 uV steps, units mV, 500 Hz, 10 s) with the 8 signals and header
  comments saying that age, sex and Dx are unknown (the generator has no labels), into
  groups g1/, g2/ of 1000 like the synthetic tree;
- the tree is built under a temporary name and renamed when complete (its manifest is
  written last), so a tree with this name is always whole; a complete tree with the same
  manifest is reused.

Ingesting it through `WfdbSource` completes the 4 limb leads by the identities
(`ecgmask.data.leads.complete_leads`); the ingest summary counts them as `derived`.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from ecgmask.data.corpora import tree_writer
from ecgmask.data.leads import INDEPENDENT_LEADS

PACKAGE = "deepfake-ecg"
FS = 500
SAMPLES = 5000  # 10 s
OUTPUT_UV = 6000.0  # the generator's tanh output times this is microvolts (deepfakeecg.generate)
GAIN_ADU_PER_MV = 1000.0  # 1 adu = 1 uV
MANIFEST = "deepfake.json"
WRITER_MIN_RECORDS = 200  # below this, writer processes cost more to start than they save
FORMAT_VERSION = 1  # bump when what is written for a (seed, number) changes
INSTALL_HINT = "pip install -c constraints.txt -e '.[deepfake]'"


def record_name(number: int) -> str:
    return f"DFK{number:06d}"


def weights_path() -> Path:
    """The generator checkpoint inside the installed `deepfake-ecg` package."""
    try:
        import deepfakeecg
    except ImportError as err:
        raise ImportError(f"the deepfake corpus needs the {PACKAGE} package: {INSTALL_HINT}") from err
    path = Path(deepfakeecg.__file__).parent / "checkpoints" / "g_stat.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the {PACKAGE} package has no generator checkpoint")
    return path


def load_generator(device="cpu"):
    """The package's Pulse2Pulse generator with its trained weights, in eval mode on `device`."""
    import torch

    path = weights_path()
    from deepfakeecg.models.pulse2pulse import Pulse2pulseGenerator

    # its __init__ draws a random init from the global RNG (then overwritten): keep ours intact
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # its deprecated nn.init.kaiming_normal
        net = Pulse2pulseGenerator()
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if "stat_dict" not in checkpoint:
        raise ValueError(f"{path}: no 'stat_dict' in the checkpoint (keys: {', '.join(checkpoint)})")
    net.load_state_dict(checkpoint["stat_dict"])
    return net.to(device).eval()


def record_noise(seed: int, number: int):
    """(8, 5000) uniform [-1, 1) noise of record `number` in the corpus with `seed` (CPU)."""
    import torch

    state = np.random.SeedSequence([int(seed), int(number)]).generate_state(2, np.uint32)
    generator = torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)
    return torch.empty(len(INDEPENDENT_LEADS), SAMPLES).uniform_(-1.0, 1.0, generator=generator)


def generate(net, seed: int, numbers) -> np.ndarray:
    """(len(numbers), 8, 5000) float32 ECGs in mV (leads I, II, V1..V6) from `net`."""
    import torch

    device = next(net.parameters()).device
    noise = torch.stack([record_noise(seed, n) for n in numbers]).to(device)
    with torch.inference_mode():
        out = net(noise)
    return (out.float().cpu().numpy() * (OUTPUT_UV / 1000.0)).astype(np.float32)


def to_adu(signal_mv: np.ndarray) -> np.ndarray:
    """mV -> int16 adu at 1000 adu/mV (1 uV steps); -32768 is WFDB's 'no sample', never used."""
    return np.clip(np.round(signal_mv * GAIN_ADU_PER_MV), -32767, 32767).astype(np.int16)


def write_record(directory: Path, name: str, digital: np.ndarray, comments: list[str]) -> Path:
    """NAME.hea + NAME.dat (format 16) of an (8, 5000) int16 ECG in adu (`to_adu`); returns the .hea."""
    import wfdb

    wfdb.wrsamp(name, fs=FS, units=["mV"] * len(INDEPENDENT_LEADS), sig_name=list(INDEPENDENT_LEADS),
                d_signal=np.ascontiguousarray(digital.T), fmt=["16"] * len(INDEPENDENT_LEADS),
                adc_gain=[GAIN_ADU_PER_MV] * len(INDEPENDENT_LEADS), baseline=[0] * len(INDEPENDENT_LEADS),
                comments=comments, write_dir=str(directory))  # fmt: skip
    return Path(directory) / f"{name}.hea"


def _write_batch(jobs: list[tuple[str, str, np.ndarray, list[str]]]) -> int:
    """Write (directory, name, digital, comments) records; runs in a writer process."""
    for directory, name, digital, comments in jobs:
        write_record(Path(directory), name, digital, comments)
    return len(jobs)


def header_comments(seed: int, number: int) -> list[str]:
    return ["Age: Unknown", "Sex: Unknown", "Dx: Unknown",
            f"Source: {PACKAGE} Pulse2Pulse generator, seed {seed}, record {number}"]  # fmt: skip


def _manifest(n_records: int, seed: int, patient_offset: int) -> dict:
    from importlib.metadata import version

    return {
        "format_version": FORMAT_VERSION,
        "package": PACKAGE,
        "package_version": version(PACKAGE),
        "weights_sha256": hashlib.sha256(weights_path().read_bytes()).hexdigest(),
        "n_records": int(n_records),
        "seed": int(seed),
        "patient_offset": int(patient_offset),
        "fs": FS,
        "samples": SAMPLES,
        "leads": list(INDEPENDENT_LEADS),
        "first_record": record_name(patient_offset + 1),
        "last_record": record_name(patient_offset + n_records),
    }


def _generate_and_write(net, tmp: Path, seed: int, numbers, groups, batch_size: int, workers: int,
                        progress: bool, label: str) -> None:
    """Generate batches here; write them here (workers <= 1) or in writer processes."""
    from tqdm import tqdm

    def jobs_of(start: int) -> list:
        batch = numbers[start : start + batch_size]
        digital = to_adu(generate(net, seed, batch))
        return [(str(tmp / group), record_name(number), adu, header_comments(seed, number))
                for number, group, adu in zip(batch, groups[start : start + batch_size], digital)]  # fmt: skip

    starts = range(0, len(numbers), batch_size)
    with tqdm(total=len(numbers), desc=f"deepfake {label}", unit="ecg", disable=not progress) as bar:
        if workers <= 1:
            for start in starts:
                bar.update(_write_batch(jobs_of(start)))
            return
        import multiprocessing as mp
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("forkserver")  # no fork of a parent that runs torch threads
        ctx.set_forkserver_preload(["wfdb", "ecgmask.data.corpora.deepfake"])
        pending: deque = deque()
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for start in starts:
                pending.append(pool.submit(_write_batch, jobs_of(start)))
                while len(pending) > 2 * workers:  # bounded memory: wait for the oldest batch
                    bar.update(pending.popleft().result())
            while pending:
                bar.update(pending.popleft().result())


def tree_is_complete(out_dir: Path, expected: dict | None = None) -> bool:
    """True when `out_dir` holds a finished DeepFake tree (its manifest is written last)."""
    return tree_writer.tree_is_complete(out_dir, MANIFEST, expected)


def write_deepfake_tree(
    out_dir,
    n_records: int,
    seed: int,
    *,
    patient_offset: int = 0,
    batch_size: int = 16,
    device="cpu",
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Write `n_records` DeepFake ECGs DFK<patient_offset+1>... as a WFDB tree at `out_dir`.

    `device` is where the generator runs ("cpu", "cuda", "auto"); `workers` processes write
    the files meanwhile (`wfdb.wrsamp` costs about as much as generating an ECG on one CPU
    thread); 1 writes in this process; default: 1 below WRITER_MIN_RECORDS records, else up
    to 8 cores. Reuses a
    complete tree with the same manifest; replaces one with another.
    """
    from ecgmask.device import resolve_device

    if n_records < 1:
        raise ValueError(f"n_records must be at least 1, got {n_records}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    out_dir = Path(out_dir)
    expected = _manifest(n_records, seed, patient_offset)
    if tree_is_complete(out_dir, expected):
        return out_dir
    net = load_generator(resolve_device(device))
    numbers = [patient_offset + i + 1 for i in range(n_records)]
    groups = tree_writer.record_groups(n_records)
    if workers is None:
        workers = 1 if n_records < WRITER_MIN_RECORDS else min(len(os.sched_getaffinity(0)), 8)

    def fill(tmp: Path) -> None:
        _generate_and_write(net, tmp, seed, numbers, groups, batch_size, workers, progress, out_dir.name)

    return tree_writer.write_tree(out_dir, manifest=MANIFEST, expected=expected,
                                  names=[record_name(n) for n in numbers], groups=groups, fill=fill)
