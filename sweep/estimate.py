"""An estimate of a sweep's wall time from steps measured on this machine, for `--dry-run`.

`measure(profile, ...)` times, at the profile's sizes (input length, widths, batch), one
SimCLR optimiser step, one adversarial-masker step when the plan has one, one forward of the
encoder for embeddings and one end-to-end (scratch / finetune) step, each after a warm-up,
with as many torch threads as a trial gets; batches are capped (`MAX_BATCH`) so that the
paper profile on a CPU stays within seconds, and times are scaled up by batch size.
`estimate(plan, profile, times, ...)` multiplies by what each trial does (epochs x steps per
epoch; an encoder's embeddings once for its linear probes; the step budget of end-to-end
probes with their validations) and divides each stage by the trials that run at once.

It is an estimate: early stopping ends trials sooner, Tune adds a few seconds per stage and
a fraction of a second per trial, and trials sharing a machine slow each other down.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

MAX_BATCH = 16  # samples per measured batch (the time is scaled to the real batch)


@dataclass(frozen=True)
class StepTimes:
    device: str
    threads: int
    simclr_step_s: float  # one optimiser step (accumulation included) of SimCLR pretraining
    adversarial_step_s: float | None  # the same with the adversarial masker (None: not measured)
    embed_s_per_sample: float  # encoder forward, no gradient
    end_to_end_s_per_sample: float  # scratch / finetune: forward, backward and step, per sample of a batch
    probe_batch: int  # ProbeConfig.batch_size


class RandomCache:
    """In memory, z-scored noise at the profile's input size: enough for a few steps (the
    dry-run estimate and benchmarks/step.py time steps on it)."""

    def __init__(self, n: int, length: int, fs: float):
        import torch

        self.signals = torch.randn(n, 12, length, generator=torch.Generator().manual_seed(0))
        self.meta = {"fs": fs, "length": length}

    def __len__(self) -> int:
        return self.signals.shape[0]

    def batch(self, indices, device=None, out=None):
        import torch

        return self.signals[torch.as_tensor(indices)]


def _timed(fn, *, quick_s: float = 0.5) -> float:
    """The faster of two timed calls after a warm-up (other processes only ever add time);
    one call when it takes over `quick_s`, so that large sizes stay within seconds."""
    fn()  # warm-up: allocation, kernel selection
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
        if best > quick_s:
            break
    return best


def _pretrain_step_s(profile, augmentation: str, device: str) -> float:
    from ecgmask.pretrain import PretrainConfig, Pretrainer

    batch = min(profile.batch_size, MAX_BATCH)
    cfg = PretrainConfig.from_profile(
        profile, augmentation=augmentation, seed=0, epochs=10**6, patience=10**6, batch_size=batch,
        accumulation=1, max_steps_per_epoch=1, device=device,
    )
    trainer = Pretrainer(cfg, RandomCache(batch, profile.length, profile.fs))
    micro = _timed(trainer.run_epoch)  # one micro-batch of `batch`, then the optimiser step
    return micro * (profile.batch_size / batch) * profile.accumulation


def _probe_steps_s(profile, device: str) -> tuple[float, float, int]:
    import torch

    from ecgmask.device import resolve_device
    from ecgmask.models import ResNet1d18
    from ecgmask.transfer import ProbeConfig

    dev = resolve_device(device)
    probe_batch = ProbeConfig.from_profile(profile, task="arrhythmia", fraction=1.0, seed=0, mode="scratch").batch_size
    batch = min(probe_batch, MAX_BATCH)
    encoder = ResNet1d18(width=profile.width).to(dev)
    head = torch.nn.Linear(encoder.out_dim, 4).to(dev)
    x = torch.randn(batch, 12, profile.length, device=dev)
    y = torch.randint(0, 4, (batch,), device=dev)

    def embed():
        encoder.eval()
        with torch.no_grad():
            encoder(x)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-3)

    def train_step():
        encoder.train()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(head(encoder(x)), y).backward()
        optimizer.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return _timed(embed) / batch, _timed(train_step) / batch, probe_batch


def measure(profile, *, adversarial: bool, threads: int = 1, device: str = "auto") -> StepTimes:
    """Times the steps of `profile` here with `threads` torch threads (a few seconds)."""
    import torch

    from ecgmask.device import resolve_device

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        simclr = _pretrain_step_s(profile, "gaussian", device)
        adv = _pretrain_step_s(profile, "advmask", device) if adversarial else None
        embed, end_to_end, probe_batch = _probe_steps_s(profile, device)
    finally:
        torch.set_num_threads(before)
    return StepTimes(str(resolve_device(device)), max(1, threads), simclr, adv, embed, end_to_end, probe_batch)


@dataclass(frozen=True)
class Estimate:
    pretrain_s: float  # the pretraining stage's wall time
    probe_s: float  # the probe stage's
    at_once: int

    @property
    def total_s(self) -> float:
        return self.pretrain_s + self.probe_s


def _is_adversarial(augmentation: str | None) -> bool:
    return bool(augmentation) and "advmask" in str(augmentation).split("+")


def estimate(plan, profile, times: StepTimes, *, at_once: int, n_pretrain: int, n_downstream: int) -> Estimate:
    """Wall time of a grid plan: each stage's summed trial time divided by the trials at once.
    `n_pretrain` / `n_downstream`: windows in the two caches."""
    at_once = max(1, int(at_once))
    pretrain_total = 0.0
    for planned in plan.pretrain:
        trial = {**planned, **planned.get("pretrain", {})}  # identity and PretrainConfig fields
        batch = int(trial.get("batch_size") or profile.batch_size)
        accumulation = int(trial.get("accumulation") or profile.accumulation)
        steps = max(1, math.ceil(n_pretrain / (batch * accumulation)))
        cap = trial.get("max_steps_per_epoch", profile.max_steps_per_epoch)
        if cap:
            steps = min(steps, int(cap))
        step = times.adversarial_step_s if _is_adversarial(trial.get("augmentation")) and times.adversarial_step_s else times.simclr_step_s
        pretrain_total += int(trial.get("epochs") or profile.epochs) * steps * step

    embed_all = n_downstream * times.embed_s_per_sample
    n_val = max(1, n_downstream // 10)  # the patient split: 80/10/10
    validations = (profile.scratch_steps / profile.scratch_eval_every) * n_val * times.embed_s_per_sample
    probe_total = 0.0
    embedded = set()
    for trial in plan.probe:
        mode = trial.get("mode")
        if mode in ("scratch", "finetune"):
            labelled = max(1, int(0.8 * n_downstream * float(trial.get("fraction", 1.0))))
            batch = min(int(trial.get("probe", {}).get("batch_size") or times.probe_batch), labelled)
            probe_total += profile.scratch_steps * batch * times.end_to_end_s_per_sample + validations
        elif mode == "random":
            probe_total += embed_all  # a new random encoder per probe
        elif trial.get("pretrain_key") not in embedded:  # linear: one encoder's embeddings serve its probes
            embedded.add(trial.get("pretrain_key"))
            probe_total += embed_all
    return Estimate(pretrain_total / at_once, probe_total / at_once, at_once)


def estimate_search(plan, profile, times: StepTimes, *, at_once: int, n_pretrain: int, n_downstream: int) -> Estimate:
    """A searched plan: every sample pretrains to the last epoch and probes after each one
    (ASHA stopping weak samples early makes the real time shorter)."""
    spec = plan.search
    at_once = max(1, min(int(at_once), int(spec.max_concurrent)))
    fixed = spec.fixed
    batch = int(fixed.get("pretrain", {}).get("batch_size") or profile.batch_size)
    steps = max(1, math.ceil(n_pretrain / (batch * profile.accumulation)))
    if profile.max_steps_per_epoch:
        steps = min(steps, int(profile.max_steps_per_epoch))
    step = times.adversarial_step_s if _is_adversarial(fixed.get("augmentation")) and times.adversarial_step_s else times.simclr_step_s
    epoch = steps * step + n_downstream * times.embed_s_per_sample
    return Estimate(spec.num_samples * profile.epochs * epoch / at_once, 0.0, at_once)
