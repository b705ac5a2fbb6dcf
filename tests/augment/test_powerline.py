import torch

from ecgmask.augment import build


def added(fs, batch=32, length=500, seed=0):
    x = torch.randn(batch, 12, length)
    g = torch.Generator().manual_seed(seed)
    return build("powerline", fs)(x, g) - x


def peak_frequency(wave, fs):
    power = torch.fft.rfft(wave.double(), dim=-1).abs() ** 2
    freqs = torch.fft.rfftfreq(wave.shape[-1], d=1 / fs)
    return freqs[power.argmax(dim=-1)], power.max(dim=-1).values / power.sum(dim=-1)


def test_adds_one_mains_sinusoid_per_sample_at_500_hz():
    d = added(500)
    # the same wave on every lead, amplitude at most 0.5
    torch.testing.assert_close(d, d[:, :1].expand_as(d), atol=1e-5, rtol=0)
    assert d.abs().max() <= 0.5 + 1e-5
    freq, share = peak_frequency(d[:, 0], 500)  # 1 s at 500 Hz: 1 Hz bins
    assert set(freq.round().tolist()) == {50.0, 60.0}
    assert (share > 0.99).all()


def test_aliases_honestly_at_100_hz():
    d = added(100)[:, 0]
    freq, share = peak_frequency(d, 100)
    # 60 Hz folds to 40 Hz; 50 Hz sits at Nyquist
    assert set(freq.round().tolist()) == {40.0, 50.0}
    assert (share > 0.99).all()
    nyquist = freq.round() == 50
    torch.testing.assert_close(d[nyquist, 1:], -d[nyquist, :-1], atol=1e-5, rtol=0)
