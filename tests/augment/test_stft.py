import pytest
import torch

from ecgmask.augment import build
from ecgmask.augment.stft import beta_integer, istft, stft


@pytest.mark.parametrize("n_fft,length", [(999, 5000), (200, 1000), (499, 500), (2, 3)])
def test_unscaled_round_trip_is_exact(n_fft, length):
    x = torch.randn(3, length)
    torch.testing.assert_close(istft(stft(x, n_fft), n_fft, length), x, atol=1e-5, rtol=0)


def test_window_is_two_seconds_and_shorter_than_the_record():
    assert build("stft", 500).n_fft(5000) == 999
    assert build("stft", 100).n_fft(1000) == 200
    assert build("stft", 500).n_fft(500) == 499


@pytest.mark.parametrize("alpha,beta", [(5, 2), (1, 1), (12, 3)])
def test_beta_sampler_moments(generator, alpha, beta):
    b = beta_integer(generator, (100_000,), alpha, beta)
    n = alpha + beta
    assert ((b > 0) & (b < 1)).all()
    assert abs(b.mean().item() - alpha / n) < 0.005
    assert abs(b.var().item() - alpha * beta / (n * n * (n + 1))) < 0.002


@pytest.mark.parametrize("fs", [100, 500])
def test_output_keeps_length_and_correlates_with_input(generator, fs):
    x = torch.randn(4, 12, 500)
    y = build("stft", fs)(x, generator)
    assert y.shape == x.shape
    corr = torch.corrcoef(torch.stack([x.flatten(), y.flatten()]))[0, 1]
    assert 0.9 < corr < 0.995  # E[beta] / sqrt(E[beta^2]) = 0.976 for white input
    ratio = y.norm() / x.norm()
    assert 0.65 < ratio < 0.8  # sqrt(E[beta^2]) = 0.73


def test_rejects_non_integer_beta_parameters():
    with pytest.raises(ValueError, match="integers"):
        build("stft", 500, {"stft": {"alpha": 2.5}})
