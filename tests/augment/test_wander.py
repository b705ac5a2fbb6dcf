import torch

from ecgmask.augment import build


def test_adds_one_slow_wave_scaled_per_lead(generator):
    x = torch.randn(4, 12, 500)
    d = (build("wander", 500)(x, generator) - x).double()
    # each sample's addition is one wave times a per-lead factor: rank 1 over leads
    s = torch.linalg.svdvals(d)
    assert (s[:, 1] < 1e-5 * s[:, 0]).all()
    scales = d[:, :, 0] / d[:, :1, 0]
    assert scales.std() > 0.1  # the lead factors differ


def test_power_lies_below_0_2_hz(generator):
    fs = 10.0  # 500 samples = 50 s, 0.02 Hz bins
    x = torch.zeros(4, 12, 500)
    d = build("wander", fs)(x, generator).double()
    spectrum = torch.fft.rfft(d * torch.hann_window(500, dtype=torch.float64), dim=-1).abs() ** 2
    freqs = torch.fft.rfftfreq(500, d=1 / fs)
    above = spectrum[..., freqs > 0.3].sum(-1) / spectrum.sum(-1)
    assert (above < 1e-3).all()
    assert d.abs().amax(dim=-1).min() > 0
