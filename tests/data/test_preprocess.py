import numpy as np
import pytest

from ecgmask.data.preprocess import (
    PreprocessParams,
    despike,
    make_windows,
    n_windows,
    preprocess,
    resample,
    zscore,
)


def test_despike_replaces_spikes_and_nan_by_previous_sample():
    x = np.array([[1.0, 2.0, 25.0, np.nan, -30.0, 3.0, np.inf], [0.5, -21.0, 0.1, 0.2, 0.3, np.nan, 0.4]])
    out = despike(x)
    np.testing.assert_array_equal(out[0], [1, 2, 2, 2, 2, 3, 3])
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0.1, 0.2, 0.3, 0.3, 0.4])
    assert np.isnan(x[0, 3])  # input untouched


def test_despike_leading_bad_samples_take_first_valid_value():
    x = np.array([[np.nan, 50.0, 4.0, 5.0]])
    np.testing.assert_array_equal(despike(x), [[4.0, 4.0, 4.0, 5.0]])


def test_despike_keeps_limit_itself():
    x = np.array([[20.0, -20.0, 20.001]])
    np.testing.assert_allclose(despike(x), [[20.0, -20.0, -20.0]])


@pytest.mark.parametrize("fs_in, fs_out", [(1000, 500), (257, 500), (500, 100), (500, 500)])
def test_resample_length_and_frequency(fs_in, fs_out):
    seconds, f = 4, 3.0
    t = np.arange(seconds * fs_in) / fs_in
    x = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]).astype(np.float32)
    y = resample(x, fs_in, fs_out)
    assert y.shape == (2, seconds * fs_out) and y.dtype == np.float32
    t_out = np.arange(seconds * fs_out) / fs_out
    inner = slice(fs_out // 2, -fs_out // 2)  # edges of a polyphase filter ring
    np.testing.assert_allclose(y[0, inner], np.sin(2 * np.pi * f * t_out)[inner], atol=0.02)


def test_zscore_per_lead_and_floor():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(3.0, 2.0, 1000), rng.normal(-1.0, 0.1, 1000), np.full(1000, 0.7)])
    z = zscore(x)
    np.testing.assert_allclose(z[:2].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z[:2].std(axis=1), 1, atol=1e-4)
    assert np.all(np.isfinite(z)) and np.all(z[2] == 0)


def test_windows_short_record_is_centre_padded():
    x = np.arange(1, 8, dtype=np.float32)[None].repeat(2, 0)  # 7 samples
    w = make_windows(x, length=10, stride=4)
    assert w.shape == (1, 2, 10)
    np.testing.assert_array_equal(w[0, 0], [0, 1, 2, 3, 4, 5, 6, 7, 0, 0])


def test_windows_long_record_cut_with_stride():
    x = np.arange(23, dtype=np.float32)[None].repeat(3, 0) * np.array([[1], [10], [100]])
    w = make_windows(x, length=10, stride=4)
    assert w.shape == (n_windows(23, 10, 4), 3, 10) == (4, 3, 10)
    for k in range(4):
        np.testing.assert_array_equal(w[k], x[:, 4 * k : 4 * k + 10])
    assert make_windows(x[:, :10], 10, 4).shape == (1, 3, 10)


def test_preprocess_chain_shape_and_normalisation():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (12, 1000 * 38)).astype(np.float32)  # 38 s at 1000 Hz like PTB
    x[3, 100] = np.nan
    out = preprocess(x, 1000, PreprocessParams(fs=500, length=5000, stride=2000))
    assert out.shape == (8, 12, 5000) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert abs(float(out.mean())) < 0.05 and abs(float(out.std()) - 1) < 0.05


def test_params_validation():
    assert PreprocessParams().to_dict() == {"fs": 500, "length": 5000, "stride": 2000}
    with pytest.raises(ValueError, match="stride"):
        PreprocessParams(stride=0)
    with pytest.raises(ValueError, match="fs"):
        PreprocessParams(fs=100.5)
