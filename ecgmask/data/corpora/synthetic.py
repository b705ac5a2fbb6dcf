"""Synthetic 12-lead ECG corpus in the PhysioNet/CinC Challenge layout (the embedded default).

Real data cannot be downloaded everywhere, so the default study runs on records made here and
ingested through the same readers as real data. The physiology is a heart dipole:

- a vectorcardiogram (X left, Y inferior, Z posterior: Frank/Dower axes) built per beat from
  Gaussian bumps, each with its own 3-D direction: P (right then left atrium, so P is biphasic
  in V1), QRS (septal, apical, basal-posterior, terminal: a loop, hence q/R/s shapes and the
  R-wave progression V1 -> V6) and an asymmetric T wave;
- projected to I, II, V1..V6 with the Dower matrix (the pseudo-inverse of the inverse Dower
  matrix in method.md) and completed to 12 leads by the limb-lead identities;
- per patient: electrical-axis rotation (leftward with age), amplitudes, PR, QRS width, QT by
  Fridericia's correction; per beat: respiratory modulation of amplitude and (sinus) RR;
- rhythms with their SNOMED CT codes (method.md): SR, SB, GSVT (sinus tachycardia, SVT with
  hidden or retrograde P, a few atrial tachycardias with an ectopic P axis), AFIB (atrial
  fibrillation with 4-9 Hz f waves and irregularly irregular RR; atrial flutter with sawtooth
  F waves and 2:1 / 4:1 / variable block);
- sex: small population-level differences taken from the literature (men: ~15% larger QRS
  voltage, ~7 ms wider QRS, ~15 ms shorter QTc, slightly larger T; women: ~3 bpm faster) whose
  distributions overlap widely;
- noise at electrode level (RA, LA, LL, V1..V6, so the limb-lead identities still hold):
  baseline wander, powerline (50 or 60 Hz), band-limited muscle noise, at random levels per
  record, plus a small gain difference per lead.

Nothing here is tuned toward a downstream result; the numbers are textbook values.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from ecgmask.data.corpora import tree_writer
from ecgmask.data.leads import LEADS

# Bump when the generator's output changes, so stale trees are rebuilt rather than reused.
GENERATOR_VERSION = 2  # 2: NAME.qrs annotations written beside each record

GAIN_ADU_PER_MV = 1000.0
MANIFEST = "synthetic.json"

# Inverse Dower matrix (method.md, 3KG): rows X, Y, Z; columns I, II, V1..V6.
INVERSE_DOWER = np.array(
    [
        [0.156, -0.009, -0.172, -0.073, 0.122, 0.231, 0.239, 0.193],
        [-0.227, 0.886, 0.057, -0.019, -0.106, -0.022, 0.040, 0.048],
        [0.021, 0.102, -0.228, -0.310, -0.245, -0.063, 0.054, 0.108],
    ]
)
# Dower matrix: VCG (X, Y, Z) -> I, II, V1..V6.
DOWER = np.linalg.pinv(INVERSE_DOWER)

CLASS_PROBS = {"AFIB": 0.36, "GSVT": 0.22, "SB": 0.21, "SR": 0.21}
# (SNOMED code, kind, probability within its class)
SUBTYPES = {
    "AFIB": (("164889003", "fibrillation", 0.80), ("164890007", "flutter", 0.20)),
    "GSVT": (
        ("427084000", "sinus", 0.70),  # sinus tachycardia
        ("426761007", "svt", 0.25),  # re-entrant SVT: P hidden in QRS or retrograde
        ("713422000", "ectopic", 0.05),  # atrial tachycardia: P with an abnormal axis
    ),
    "SB": (("426177001", "sinus", 1.0),),
    "SR": (("426783006", "sinus", 1.0),),
}
# P(male) per class: sinus tachycardia is commoner in women, bradycardia and AF in men;
# overall 56% male as in Chapman-Shaoxing.
MALE_PROB = {"AFIB": 0.59, "GSVT": 0.47, "SB": 0.62, "SR": 0.54}
AGE = {"AFIB": (72.0, 11.0), "GSVT": (52.0, 19.0), "SB": (57.0, 14.0), "SR": (52.0, 16.0)}

# Mean VCG of each wave component in mV (before patient rotation and scaling), with its
# timing: centre and width as fractions of the wave's duration.
P_RIGHT = np.array([0.03, 0.14, -0.08])  # right atrium: inferior, anterior
P_LEFT = np.array([0.11, 0.08, 0.07])  # left atrium: leftward, posterior
QRS_PARTS = (  # (vector, centre / QRS width, sigma / QRS width)
    (np.array([-0.20, 0.05, -0.20]), 0.17, 0.075),  # septum: rightward, anterior
    (np.array([0.90, 0.70, -0.20]), 0.38, 0.10),  # apex: leftward, inferior
    (np.array([0.70, 0.30, 1.00]), 0.54, 0.10),  # free wall: leftward, posterior
    (np.array([-0.35, -0.20, 0.35]), 0.76, 0.075),  # base: rightward, superior, posterior
)
T_WAVE = np.array([0.42, 0.27, -0.25])  # concordant with the QRS, anterior
RETRO_P = np.array([-0.01, -0.09, -0.04])  # retrograde atrial activation: superior
FLUTTER = np.array([-0.20, -1.0, -0.90])  # typical flutter: negative in II/III/aVF, positive in V1


@dataclass(frozen=True)
class RecordParams:
    """Everything that defines one synthetic record; `synthesize_record` is a pure function of it."""

    number: int  # global patient number (record name SYN<number>)
    rhythm: str  # AFIB | GSVT | SB | SR
    dx: str  # SNOMED CT code written to #Dx
    atrial: str  # sinus | ectopic | svt | fibrillation | flutter
    sex: str  # Male | Female
    age: int
    heart_rate: float  # mean ventricular rate, bpm
    rr_variability: float  # sinus: respiratory modulation depth; AFIB: RR coefficient of variation
    pr: float  # s, P onset to QRS onset at 70 bpm
    p_duration: float  # s
    qrs_duration: float  # s
    qtc: float  # s, Fridericia
    axis: tuple[float, float, float]  # rotations (deg) about Z (frontal), Y (horizontal), X
    qrs_scale: float
    t_scale: float
    p_scale: float
    atrial_rate: float  # Hz: f-wave dominant frequency (AFIB) or flutter rate (AFL), else 0
    atrial_amplitude: float  # mV, f/F waves
    block: int  # flutter AV conduction ratio; 0 = variable
    seed: int  # beat-level and noise draws

    @property
    def name(self) -> str:
        return record_name(self.number)


def record_name(number: int) -> str:
    return f"SYN{number:06d}"


def _truncnorm(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    for _ in range(100):
        x = rng.normal(mean, sd)
        if lo <= x <= hi:
            return float(x)
    return float(np.clip(mean, lo, hi))


def sample_params(seed: int, number: int, rhythm: str | None = None) -> RecordParams:
    """Draw the patient and rhythm of record `number` of the corpus with `seed`.

    The draw depends only on (seed, number), so a record is the same whatever the size of the
    tree or the number of workers. `rhythm` forces the class (tests, figures).
    """
    rng = np.random.default_rng([int(seed), int(number)])
    classes = list(CLASS_PROBS)
    u_class = rng.random()
    if rhythm is None:
        rhythm = classes[int(np.searchsorted(np.cumsum(list(CLASS_PROBS.values())), u_class))]
    elif rhythm not in CLASS_PROBS:
        raise ValueError(f"unknown rhythm {rhythm!r}; choose one of {classes}")
    subtypes = SUBTYPES[rhythm]
    k = int(np.searchsorted(np.cumsum([p for _, _, p in subtypes]), rng.random()))
    dx, atrial, _ = subtypes[min(k, len(subtypes) - 1)]

    male = rng.random() < MALE_PROB[rhythm]
    sex = "Male" if male else "Female"
    age_mean, age_sd = AGE[rhythm]
    if atrial == "svt":
        age_mean = 55.0
    age = int(round(_truncnorm(rng, age_mean, age_sd, 18, 95)))

    female_hr = 0.0 if male else 3.0  # women's resting rate is a few bpm higher
    atrial_rate, atrial_amplitude, block = 0.0, 0.0, 1
    if rhythm == "SR":
        hr = _truncnorm(rng, 73 + female_hr, 9, 61, 99)
        rr_var = rng.uniform(0.01, 0.06) * (1.4 - age / 100)
    elif rhythm == "SB":
        hr = _truncnorm(rng, 52 + female_hr / 2, 4, 41, 58.5)
        rr_var = rng.uniform(0.01, 0.07) * (1.4 - age / 100)
    elif atrial == "sinus":  # sinus tachycardia
        hr = _truncnorm(rng, 112 + female_hr, 10, 101, 160)
        rr_var = rng.uniform(0.002, 0.015)
    elif atrial == "ectopic":
        hr = _truncnorm(rng, 135, 20, 101, 190)
        rr_var = rng.uniform(0.002, 0.01)
    elif atrial == "svt":
        hr = _truncnorm(rng, 175, 20, 140, 218)
        rr_var = rng.uniform(0.001, 0.006)
    elif atrial == "fibrillation":
        hr = _truncnorm(rng, 92, 22, 45, 170)
        rr_var = rng.uniform(0.12, 0.30)  # irregularly irregular
        atrial_rate = rng.uniform(4.0, 9.0)
        atrial_amplitude = float(np.exp(rng.uniform(np.log(0.015), np.log(0.09))))
    else:  # flutter
        atrial_rate = rng.uniform(4.2, 5.3)  # 250-320 F waves a minute
        block = int(rng.choice([2, 4, 0], p=[0.45, 0.30, 0.25]))
        mean_block = 3.0 if block == 0 else float(block)
        hr = 60 * atrial_rate / mean_block
        rr_var = 0.0
        atrial_amplitude = float(rng.uniform(0.08, 0.25))

    pr = _truncnorm(rng, 0.150 + 0.0005 * (age - 50), 0.018, 0.11, 0.21)
    p_duration = _truncnorm(rng, 0.100, 0.010, 0.08, 0.12)
    qrs = _truncnorm(rng, 0.094 if male else 0.087, 0.009, 0.07, 0.118)
    qtc = _truncnorm(rng, (0.402 if male else 0.417) + 0.0003 * (age - 50), 0.022, 0.34, 0.50)
    frontal = _truncnorm(rng, -0.4 * (age - 50), 20.0, -75, 75)  # QRS axis turns left with age
    horizontal = rng.normal(0.0, 14.0)  # moves the precordial transition zone
    sagittal = rng.normal(0.0, 10.0)
    voltage_age = 1.0 - 0.004 * (age - 50)
    qrs_scale = float(np.exp(rng.normal(np.log((1.07 if male else 0.93) * voltage_age), 0.25)))
    t_scale = float(np.exp(rng.normal(np.log(1.05 if male else 0.92), 0.25)))
    p_scale = float(np.exp(rng.normal(0.0, 0.2)))
    return RecordParams(
        number=int(number),
        rhythm=rhythm,
        dx=dx,
        atrial=atrial,
        sex=sex,
        age=age,
        heart_rate=float(hr),
        rr_variability=float(rr_var),
        pr=float(pr),
        p_duration=float(p_duration),
        qrs_duration=float(qrs),
        qtc=float(qtc),
        axis=(float(frontal), float(horizontal), float(sagittal)),
        qrs_scale=qrs_scale,
        t_scale=t_scale,
        p_scale=p_scale,
        atrial_rate=float(atrial_rate),
        atrial_amplitude=float(atrial_amplitude),
        block=block,
        seed=int(rng.integers(2**63 - 1)),
    )


def _rotation(frontal: float, horizontal: float, sagittal: float) -> np.ndarray:
    """Rotation matrix for angles in degrees about Z (X towards Y), Y and X."""
    a, b, c = np.deg2rad([frontal, horizontal, sagittal])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rx = np.array([[1, 0, 0], [0, np.cos(c), -np.sin(c)], [0, np.sin(c), np.cos(c)]])
    return rz @ ry @ rx


def _jitter_direction(rng: np.random.Generator, v: np.ndarray, degrees: float) -> np.ndarray:
    return _rotation(*rng.normal(0.0, degrees, 3)) @ v


def _ventricular_times(p: RecordParams, rng: np.random.Generator, t0: float, t1: float):
    """QRS onset times covering [t0, t1] (s) and, for flutter, the F-wave origin."""
    rr0 = 60.0 / p.heart_rate
    n = int(np.ceil((t1 - t0) / (rr0 * 0.5))) + 4
    if p.atrial == "flutter":
        cycle = 1.0 / p.atrial_rate
        if p.block == 0:
            ratios = rng.choice([2, 3, 4], size=n, p=[0.45, 0.1, 0.45])
        else:
            ratios = np.full(n, p.block)
        av_delay = rng.uniform(0.20, 0.30)
        phase0 = t0 - rng.uniform(0, cycle)
        waves = np.cumsum(ratios)
        onsets = phase0 + waves * cycle + av_delay + rng.normal(0, 0.004, n)
        return onsets[onsets <= t1 + 1.0], phase0
    if p.atrial == "fibrillation":
        cv = p.rr_variability
        rr = rng.gamma(1.0 / cv**2, cv**2, n)  # mean 1, coefficient of variation cv
        rr = np.maximum(rr * rr0, 0.26)  # AV-node refractory period
    else:
        k = np.arange(n)
        resp_hz = rng.uniform(0.2, 0.33)
        rr = 1.0 + p.rr_variability * np.sin(2 * np.pi * resp_hz * k * rr0 + rng.uniform(0, 2 * np.pi))
        rr = rr + rng.normal(0.0, 0.004 + p.rr_variability / 4, n)
        rr = rr / rr.mean() * rr0
    onsets = t0 - rng.uniform(0, rr0) + np.concatenate([[0.0], np.cumsum(rr)])
    return onsets[onsets <= t1 + 1.0], 0.0


def _render_bumps(n: int, fs: float, centre, sigma_left, sigma_right, vectors) -> np.ndarray:
    """Sum of split-Gaussian bumps, each times its 3-D vector, sampled at i / fs: (n, 3).

    Every bump is evaluated on a window of +-5 of the widest sigma around its centre only.
    """
    half = int(np.ceil(5 * max(sigma_left.max(), sigma_right.max()) * fs)) + 1
    idx = np.floor(centre * fs).astype(np.int64)[:, None] + np.arange(-half, half + 1)
    x = idx / fs - centre[:, None]
    s = np.where(x < 0, sigma_left[:, None], sigma_right[:, None])
    g = np.exp(-0.5 * (x / s) ** 2)
    keep = (idx >= 0) & (idx < n)
    idx, g = idx[keep], g[keep]
    rows = np.broadcast_to(np.arange(len(centre))[:, None], keep.shape)[keep]
    return np.stack([np.bincount(idx, weights=g * vectors[rows, k], minlength=n) for k in range(3)], axis=1)


def heart_vcg(p: RecordParams, fs: int = 500, seconds: float = 10.0) -> np.ndarray:
    """Noise-free vectorcardiogram (N, 3) in mV for the record."""
    return _heart(p, fs, seconds)[0]


def qrs_complexes(p: RecordParams, fs: int = 500, seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """The record's QRS complexes as the generator made them: ((K, 2) inclusive [onset,
    offset] samples, (K,) peak samples), every complex with a sample inside the record
    (clipped to it). A QRS spans its onset to onset + its duration (the four bumps lie
    within it to 2 sigma); the peak is at 46% of it, between the apical and free-wall bumps."""
    return _heart(p, fs, seconds)[1:]


def _heart(p: RecordParams, fs: int, seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vcg (N, 3) mV, QRS intervals (K, 2), QRS peaks (K,)) in samples at fs."""
    rng = np.random.default_rng([p.seed, 0])
    n = int(round(fs * seconds))
    t = np.arange(n) / fs
    rot = _rotation(*p.axis)
    qrs_vectors = [rot @ _jitter_direction(rng, v, 12.0) * np.exp(rng.normal(0, 0.15)) for v, _, _ in QRS_PARTS]
    qrs_vectors = np.array(qrs_vectors) * p.qrs_scale
    t_vector = rot @ _jitter_direction(rng, T_WAVE, 15.0) * p.t_scale
    p_rot = _rotation(p.axis[0] * 0.5, 0, 0)  # the atria follow the heart's position loosely
    p_vectors = np.array([p_rot @ _jitter_direction(rng, v, 12.0) for v in (P_RIGHT, P_LEFT)])
    if p.atrial == "ectopic":  # focus low or left in the atria: P axis turned by 110-180 degrees
        p_vectors = (_rotation(rng.choice([-1, 1]) * rng.uniform(110, 180), 0, 0) @ p_vectors.T).T
    p_vectors = p_vectors * p.p_scale
    t_asym = rng.uniform(1.2, 1.6)  # T rises slower than it falls

    onsets, flutter_origin = _ventricular_times(p, rng, -2.0, seconds)
    nb = len(onsets)
    rr_prev = np.diff(onsets, prepend=onsets[0] - 60.0 / p.heart_rate)
    resp_hz, resp_phase = rng.uniform(0.2, 0.33), rng.uniform(0, 2 * np.pi)
    resp = 1.0 + rng.uniform(0.02, 0.08) * np.sin(2 * np.pi * resp_hz * onsets + resp_phase)

    centres, sig_l, sig_r, vecs = [], [], [], []

    def add(c, sl, sr, v):
        centres.append(np.broadcast_to(c, (nb,)))
        sig_l.append(np.broadcast_to(sl, (nb,)))
        sig_r.append(np.broadcast_to(sr, (nb,)))
        vecs.append(v)

    d = p.qrs_duration * (1.0 + rng.normal(0, 0.01, nb))
    for v, (_, c, s) in zip(qrs_vectors, QRS_PARTS):
        add(onsets + c * d, s * d, s * d, resp[:, None] * v)
    qt = p.qtc * np.clip(rr_prev, 0.25, 2.0) ** (1.0 / 3.0)  # Fridericia, from the preceding RR
    t_right = 0.085 * qt / 0.40 / 2.5
    t_peak = qt - 2.5 * t_right
    add(onsets + t_peak, t_right * t_asym, t_right, resp[:, None] * t_vector)
    if p.atrial in ("sinus", "ectopic"):
        hr_shortening = np.clip(0.02 * (p.heart_rate - 70) / 50, -0.02, 0.04)
        p_onset = onsets - (p.pr - hr_shortening) + rng.normal(0, 0.003, nb)
        pd_ = p.p_duration
        add(p_onset + 0.35 * pd_, 0.17 * pd_, 0.17 * pd_, np.broadcast_to(p_vectors[0], (nb, 3)))
        add(p_onset + 0.65 * pd_, 0.18 * pd_, 0.18 * pd_, np.broadcast_to(p_vectors[1], (nb, 3)))
    elif p.atrial == "svt" and rng.random() < 0.5:  # retrograde P just after the QRS
        delay = rng.uniform(0.02, 0.06)
        retro = rot @ RETRO_P * p.p_scale
        add(onsets + p.qrs_duration + delay, 0.015, 0.015, np.broadcast_to(retro, (nb, 3)))

    centres, sig_l, sig_r = (np.concatenate(a) for a in (centres, sig_l, sig_r))
    vecs = np.concatenate(vecs)
    vcg = _render_bumps(n, fs, centres, sig_l, sig_r, vecs)

    if p.atrial == "fibrillation":
        vcg += _fibrillatory_waves(p, rng, t)
    elif p.atrial == "flutter":
        vcg += _flutter_waves(p, rng, t, flutter_origin)
    on = np.round(onsets * fs).astype(np.int64)
    off = np.round((onsets + d) * fs).astype(np.int64)
    peak = np.round((onsets + 0.46 * d) * fs).astype(np.int64)
    inside = (off >= 0) & (on <= n - 1)
    intervals = np.stack([np.clip(on, 0, n - 1), np.clip(off, 0, n - 1)], axis=1)[inside]
    return vcg, intervals, np.clip(peak, 0, n - 1)[inside]


def _band_noise(rng: np.random.Generator, n: int, fs: float, lo: float, hi: float, k: int = 1) -> np.ndarray:
    """(k, n) unit-variance Gaussian noise with its spectrum in [lo, hi] Hz (built in frequency)."""
    f = np.fft.rfftfreq(n, 1 / fs)
    band = np.flatnonzero((f >= lo) & (f <= hi) & (f > 0))
    if len(band) == 0:
        band = np.array([1])
    spec = np.zeros((k, len(f)), dtype=complex)
    spec[:, band] = rng.normal(size=(k, len(band))) + 1j * rng.normal(size=(k, len(band)))
    x = np.fft.irfft(spec, n, axis=1)
    return x / (x.std(axis=1, keepdims=True) + 1e-12)


def _smooth_noise(rng: np.random.Generator, n: int, fs: float, cutoff: float, k: int = 1) -> np.ndarray:
    """(k, n) unit-variance Gaussian noise low-passed at `cutoff` Hz."""
    return _band_noise(rng, n, fs, 0.0, cutoff, k)


def _fibrillatory_waves(p: RecordParams, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Three atrial wavefronts at 4-9 Hz with drifting frequency and amplitude, as VCG."""
    fs = 1.0 / (t[1] - t[0])
    out = np.zeros((len(t), 3))
    drift = _smooth_noise(rng, len(t), fs, 0.5, 3)
    envelope = np.exp(0.35 * _smooth_noise(rng, len(t), fs, 0.7, 3))
    for j in range(3):
        f = np.clip(p.atrial_rate * rng.uniform(0.9, 1.1) + 0.4 * drift[j], 3.5, 10.0)
        phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
        wave = np.sin(phase) + 0.3 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi))
        # wavefronts mostly seen in V1 and the inferior leads: rightward-anterior and inferior
        direction = np.array([rng.normal(-0.5, 0.4), rng.normal(0.6, 0.4), rng.normal(-0.6, 0.4)])
        direction /= np.linalg.norm(direction)
        out += (p.atrial_amplitude / np.sqrt(3) * envelope[j] * wave)[:, None] * direction
    return out


def _flutter_waves(p: RecordParams, rng: np.random.Generator, t: np.ndarray, origin: float) -> np.ndarray:
    """Sawtooth F waves (slow descent, fast return) at the flutter rate, as VCG."""
    phase = 2 * np.pi * p.atrial_rate * (t - origin)
    # rises slowly, falls fast; along FLUTTER (superior) it is the inferior leads' slow
    # downslope and sharp upstroke
    saw = -sum(np.sin(h * phase) / h for h in range(1, 6))
    saw = saw / np.abs(saw).max()
    direction = _jitter_direction(rng, FLUTTER / np.linalg.norm(FLUTTER), 12.0)
    return (p.atrial_amplitude * saw)[:, None] * direction


def _electrode_noise(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """(9, n) noise in mV at electrodes RA, LA, LL, V1..V6."""
    t = np.arange(n) / fs
    # baseline wander: respiration shared by all electrodes plus slow drifts of each
    # (drifts are below 0.5 Hz: computed on a 20 Hz grid and interpolated)
    wander_mv = np.exp(rng.uniform(np.log(0.01), np.log(0.3)))
    coarse = np.arange(0.0, t[-1] + 0.1, 0.05)
    resp = np.sin(2 * np.pi * rng.uniform(0.15, 0.4) * coarse + rng.uniform(0, 2 * np.pi))
    freqs = rng.uniform(0.03, 0.45, (9, 3, 1))
    phases = rng.uniform(0, 2 * np.pi, (9, 3, 1))
    amps = rng.uniform(0.0, 1.0, (9, 3, 1))
    drift = (amps * np.sin(2 * np.pi * freqs * coarse + phases)).sum(1)
    slow = wander_mv * (rng.uniform(0.2, 1.0, (9, 1)) * resp + 0.6 * drift)
    noise = np.stack([np.interp(t, coarse, row) for row in slow])
    # powerline: common mode that electrode impedance mismatch lets through
    if rng.random() < 0.7:
        line_hz = 50.0 if rng.random() < 0.7 else 60.0
        if line_hz < fs / 2:
            line_mv = np.exp(rng.uniform(np.log(0.002), np.log(0.05)))
            ph = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.2, (9, 1))
            amp = line_mv * rng.uniform(0.0, 1.0, (9, 1))
            w = 2 * np.pi * line_hz * t
            noise += amp * np.cos(ph) * np.sin(w) + amp * np.sin(ph) * np.cos(w)
    # muscle: band-limited 20-150 Hz, stronger on the limbs, with a slowly varying envelope
    emg_mv = np.exp(rng.uniform(np.log(0.001), np.log(0.02)))
    emg = _band_noise(rng, n, fs, 20.0, min(150.0, 0.45 * fs), 9)
    envelope = np.exp(0.4 * _smooth_noise(rng, n, fs, 0.5, 1))
    site = np.array([1.5, 1.5, 1.2, 1, 1, 1, 1, 1, 1])[:, None] * rng.uniform(0.5, 1.5, (9, 1))
    noise += emg_mv * site * envelope * emg
    noise += rng.normal(0, 0.003, (9, n))  # amplifier noise
    return noise


def _complete_limb_leads(eight: np.ndarray) -> np.ndarray:
    """(8, N) I, II, V1..V6 -> (12, N) in LEADS order."""
    lead_i, lead_ii = eight[0], eight[1]
    return np.stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,  # III
            -(lead_i + lead_ii) / 2,  # aVR
            lead_i - lead_ii / 2,  # aVL
            lead_ii - lead_i / 2,  # aVF
            *eight[2:],
        ]
    )


def synthesize_record(p: RecordParams, fs: int = 500, seconds: float = 10.0, noise: bool = True) -> np.ndarray:
    """The record's 12 leads (12, fs*seconds) in mV, LEADS order. Deterministic in `p`."""
    n = int(round(fs * seconds))
    vcg = heart_vcg(p, fs, seconds)
    rng = np.random.default_rng([p.seed, 1])
    gains = rng.normal(1.0, 0.04, (8, 1))  # electrode placement and contact
    eight = gains * (DOWER @ vcg.T)
    if noise:
        e = _electrode_noise(rng, n, fs)
        wct = e[:3].mean(0)  # Wilson's central terminal
        eight = eight + np.concatenate([[e[1] - e[0], e[2] - e[0]], e[3:] - wct])
    return _complete_limb_leads(eight)


def header_text(p: RecordParams, adu: np.ndarray, fs: int) -> str:
    name = p.name
    lines = [f"{name} 12 {fs} {adu.shape[1]}"]
    checksums = (adu.astype(np.int64).sum(axis=1) + 2**15) % 2**16 - 2**15
    for j, lead in enumerate(LEADS):
        lines.append(f"{name}.mat 16+24 {GAIN_ADU_PER_MV:g}/mV 16 0 {int(adu[j, 0])} {int(checksums[j])} 0 {lead}")
    lines += [f"#Age: {p.age}", f"#Sex: {p.sex}", f"#Dx: {p.dx}", "#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
    return "\n".join(lines) + "\n"


def to_adu(signal_mv: np.ndarray) -> np.ndarray:
    return np.clip(np.round(signal_mv * GAIN_ADU_PER_MV), -32768, 32767).astype(np.int16)


def write_record(directory: Path, p: RecordParams, fs: int = 500, seconds: float = 10.0) -> Path:
    """Write NAME.hea + NAME.mat (MATLAB v4, `val`, int16) and NAME.qrs (the generator's QRS
    complexes as WFDB annotations in LUDB's convention) into `directory`; returns the .hea path."""
    from ecgmask.data.qrs import write_annotation

    adu = to_adu(synthesize_record(p, fs, seconds))
    directory = Path(directory)
    scipy.io.savemat(directory / f"{p.name}.mat", {"val": adu}, format="4")
    hea = directory / f"{p.name}.hea"
    hea.write_text(header_text(p, adu, fs))
    write_annotation(directory / p.name, fs, *qrs_complexes(p, fs, seconds))
    return hea


def _write_chunk(args) -> int:
    tmp, seed, numbers, groups, fs, seconds = args
    for number, group in zip(numbers, groups):
        write_record(Path(tmp) / group, sample_params(seed, number), fs, seconds)
    return len(numbers)


def _manifest(n_records: int, seed: int, patient_offset: int, fs: int, seconds: float) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "n_records": int(n_records),
        "seed": int(seed),
        "patient_offset": int(patient_offset),
        "fs": int(fs),
        "seconds": float(seconds),
        "first_record": record_name(patient_offset + 1),
        "last_record": record_name(patient_offset + n_records),
    }


def tree_is_complete(out_dir: Path, expected: dict | None = None) -> bool:
    """True when `out_dir` holds a finished synthetic tree (its manifest is written last)."""
    return tree_writer.tree_is_complete(out_dir, MANIFEST, expected)


def write_synthetic_tree(
    out_dir,
    n_records: int,
    seed: int,
    patient_offset: int = 0,
    fs: int = 500,
    seconds: float = 10,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Write a Challenge-layout tree of `n_records` synthetic records to `out_dir`.

    Records SYN<patient_offset+1> ... in groups g1/, g2/ (1000 a folder, each with a RECORDS
    list). Built under a temporary name and renamed when complete; an existing complete tree
    with the same parameters is reused, one with other parameters is replaced.
    """
    if n_records < 1:
        raise ValueError(f"n_records must be at least 1, got {n_records}")
    if fs < 50 or seconds <= 0:
        raise ValueError(f"need fs >= 50 Hz and seconds > 0, got fs={fs}, seconds={seconds}")
    expected = _manifest(n_records, seed, patient_offset, fs, seconds)
    numbers = [patient_offset + i + 1 for i in range(n_records)]
    groups = tree_writer.record_groups(n_records)

    def fill(tmp: Path) -> None:
        chunk = 25
        jobs = [
            (str(tmp), seed, numbers[i : i + chunk], groups[i : i + chunk], fs, seconds)
            for i in range(0, n_records, chunk)
        ]
        n_workers = workers or min(os.cpu_count() or 1, 16)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n_records, desc=f"synthetic {Path(out_dir).name}", unit="rec")
        if n_workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                done = _write_chunk(job)
                if bar:
                    bar.update(done)
        else:
            with multiprocessing.get_context("spawn").Pool(min(n_workers, len(jobs))) as pool:
                for done in pool.imap_unordered(_write_chunk, jobs):
                    if bar:
                        bar.update(done)
        if bar:
            bar.close()

    return tree_writer.write_tree(out_dir, manifest=MANIFEST, expected=expected,
                                  names=[record_name(n) for n in numbers], groups=groups, fill=fill)


# Record numbers of the default study's downstream tree start here, so its patients never
# share a name (= patient id) with the pretraining tree's SYN000001...
DOWNSTREAM_PATIENT_OFFSET = 500_000
PRETRAIN_SEED = 1
DOWNSTREAM_SEED = 2


def default_study(root, profile, progress: bool = True, workers: int | None = None) -> dict[str, Path]:
    """The default study's two synthetic caches, made once under `root` and reused after.

    Writes `root/synthetic-pretrain-seed1-n<N>` (profile.pretrain_records records, seed 1) and
    `root/synthetic-downstream-seed2-n<M>` (profile.downstream_records, seed 2, record
    numbers from 500001: other patients), both 500 Hz and 10 s like the Challenge data, then
    ingests them with `build_cache` at the profile's fs/length/stride: the downstream tree as
    a Chapman-style labelled set (`ChapmanSource`, rhythm from the SNOMED #Dx as for the JS*
    records), the pretraining tree as a WFDB corpus (`WfdbSource`, labels kept but unused)
    with the downstream cache excluded. Returns {"pretrain": cache dir, "downstream": cache dir}.
    `workers` (default: all cores) is passed to the writer and the ingest.
    """
    from ecgmask.data.cache import build_cache
    from ecgmask.data.chapman import ChapmanSource
    from ecgmask.data.preprocess import PreprocessParams
    from ecgmask.data.wfdb_source import WfdbSource

    if isinstance(profile, str):
        from ecgmask.profiles import get_profile

        profile = get_profile(profile)
    root = Path(root)
    n_pre, n_down = int(profile.pretrain_records), int(profile.downstream_records)
    if n_pre < 1 or n_down < 1:
        raise ValueError(
            f"profile {profile.name!r} asks for {n_pre} pretraining and {n_down} downstream records; need at least 1"
        )
    if n_pre > DOWNSTREAM_PATIENT_OFFSET:
        raise ValueError(
            f"at most {DOWNSTREAM_PATIENT_OFFSET} pretraining records keep patients apart, got {n_pre}"
        )
    pre_tree = write_synthetic_tree(
        root / f"synthetic-pretrain-seed{PRETRAIN_SEED}-n{n_pre}",
        n_pre,
        PRETRAIN_SEED,
        0,
        progress=progress,
        workers=workers,
    )
    down_tree = write_synthetic_tree(
        root / f"synthetic-downstream-seed{DOWNSTREAM_SEED}-n{n_down}",
        n_down,
        DOWNSTREAM_SEED,
        DOWNSTREAM_PATIENT_OFFSET,
        progress=progress,
        workers=workers,
    )
    params = PreprocessParams(fs=int(profile.fs), length=int(profile.length), stride=int(profile.stride))
    downstream = build_cache(ChapmanSource(down_tree), root, params, workers=workers, progress=progress)
    pretrain = build_cache(
        WfdbSource(pre_tree), root, params, exclude_caches=(downstream,), workers=workers, progress=progress
    )
    return {"pretrain": Path(pretrain), "downstream": Path(downstream)}
