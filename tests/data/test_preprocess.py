import shutil

import numpy as np
import pytest

from ecgmask.data import EcgCache, WfdbSource, build_cache
from ecgmask.data.cache import cache_key
from ecgmask.data.preprocess import (
    PreprocessParams,
    despike,
    make_windows,
    n_windows,
    normalize,
    preprocess,
    resample,
    zscore_lead,
    zscore_record,
)
from ecgmask.data.record import RecordError
from ecgmask.data.wfdb_reader import read_wfdb_record

from .conftest import ecg_like

# float16 rounds a normal number to within half an ulp: 2**-11 of its magnitude.
FP16_HALF_ULP = 2.0**-11


def limb_identities(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (residual, sum of |terms| weighted by their coefficients) for x (..., 12, L).

    A float16 copy of leads that obey an identity exactly leaves a residual of at most
    FP16_HALF_ULP times the weighted sum (each stored term off by half an ulp).
    """
    x = np.asarray(x, dtype=np.float64)
    lead_i, lead_ii, iii, avr, avl, avf = (x[..., k, :] for k in range(6))
    a, b = np.abs(lead_i), np.abs(lead_ii)
    return {
        "III": (iii - (lead_ii - lead_i), np.abs(iii) + a + b),
        "aVR": (avr + (lead_i + lead_ii) / 2, np.abs(avr) + (a + b) / 2),
        "aVL": (avl - (lead_i - lead_ii / 2), np.abs(avl) + a + b / 2),
        "aVF": (avf - (lead_ii - lead_i / 2), np.abs(avf) + b + a / 2),
    }


def twelve_from_eight(eight: np.ndarray) -> np.ndarray:
    """(8, n) I, II, V1..V6 -> (12, n) in LEADS order, limb leads by the identities (float64)."""
    lead_i, lead_ii = eight[0].astype(np.float64), eight[1].astype(np.float64)
    limb = [lead_ii - lead_i, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2]
    return np.concatenate([eight[:2], np.stack(limb), eight[2:]]).astype(np.float64)


def rms(x: np.ndarray, axis=-1) -> np.ndarray:
    return np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)), axis=axis))


# ------------------------------------------------------------------ despike


def test_despike_replaces_a_bad_sample_time_on_every_lead():
    x = np.array([[1.0, 2.0, 25.0, np.nan, 4.0, 3.0, np.inf], [0.5, -21.0, 0.1, 0.2, 0.3, np.nan, 0.4]])
    out = despike(x)
    # times 1, 2, 3, 5 and 6 have a bad lead: both leads take the last all-valid time
    np.testing.assert_array_equal(out[0], [1, 1, 1, 1, 4, 4, 4])
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3])
    assert np.isnan(x[0, 3])  # input untouched


def test_despike_leading_bad_times_take_first_valid_time():
    x = np.array([[np.nan, 50.0, 4.0, 5.0], [1.0, 2.0, 3.0, 6.0]])
    np.testing.assert_array_equal(despike(x), [[4.0, 4.0, 4.0, 5.0], [3.0, 3.0, 3.0, 6.0]])


def test_despike_keeps_limit_itself_and_returns_clean_input_unchanged():
    x = np.array([[20.0, -20.0, 20.001]], dtype=np.float32)
    np.testing.assert_allclose(despike(x), [[20.0, -20.0, -20.0]])
    clean = np.array([[20.0, -20.0, 1.0]], dtype=np.float32)
    assert despike(clean) is clean


def test_despike_keeps_the_limb_identities_when_a_spike_hits_lead_i():
    rng = np.random.default_rng(0)
    x = twelve_from_eight(ecg_like(rng, 2000, 500, leads=8)).astype(np.float32)
    # a 30 mV artefact on the I electrode pair, as recorded: it shows in I and in the derived
    # leads III, aVL (beyond 20 mV) and aVR, aVF (about 15 mV: under the limit)
    spiked = twelve_from_eight(np.concatenate([x[:2], x[6:]]) + np.eye(8)[0][:, None] * 30.0 * (np.arange(2000) == 700))
    assert (np.abs(spiked[[3, 5], 700]) < 20).all() and (np.abs(spiked[[0, 2, 4], 700]) > 20).all()
    out = despike(spiked.astype(np.float32))
    np.testing.assert_array_equal(out[:, 700], spiked[:, 699].astype(np.float32))
    for name, (residual, scale) in limb_identities(out).items():
        assert np.abs(residual).max() <= 1e-6 * scale.max(), name


def test_despike_without_any_valid_time_is_a_record_error():
    x = np.ones((3, 5), dtype=np.float32)
    x[0, ::2] = np.nan
    x[1, 1::2] = 30.0
    with pytest.raises(RecordError, match="no valid sample"):
        despike(x)


# ------------------------------------------------------------------ resample, normalise, windows


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


def test_zscore_lead_per_lead_and_floor():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(3.0, 2.0, 1000), rng.normal(-1.0, 0.1, 1000), np.full(1000, 0.7)])
    z = zscore_lead(x)
    np.testing.assert_allclose(z[:2].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z[:2].std(axis=1), 1, atol=1e-4)
    assert np.all(np.isfinite(z)) and np.all(z[2] == 0)


def test_zscore_record_one_scale_keeps_relative_amplitudes():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(3.0, 2.0, 1000), rng.normal(-1.0, 0.1, 1000), np.full(1000, 0.7)])
    z = zscore_record(x)
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-5)  # each lead centred on its own mean
    np.testing.assert_allclose(rms(z, axis=None), 1, atol=1e-5)  # one std over the record
    centred_rms = rms(x - x.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(rms(z)[:2] / rms(z)[0], centred_rms[:2] / centred_rms[0], rtol=1e-5)
    assert np.all(z[2] == 0)
    flat = zscore_record(np.full((2, 50), 1e-5))  # std under the 1e-3 mV floor: no blow-up
    assert np.all(np.isfinite(flat)) and np.abs(flat).max() == 0


def test_normalize_names_the_method():
    x = np.random.default_rng(1).normal(0, [[1.0], [3.0]], (2, 100)).astype(np.float32)
    np.testing.assert_array_equal(normalize(x, "record"), zscore_record(x))
    np.testing.assert_array_equal(normalize(x, "lead"), zscore_lead(x))
    with pytest.raises(ValueError, match="unknown normalization 'global'"):
        normalize(x, "global")


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


@pytest.mark.parametrize("normalization", ["record", "lead"])
def test_preprocess_chain_shape_and_normalisation(normalization):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (12, 1000 * 38)).astype(np.float32)  # 38 s at 1000 Hz like PTB
    x[3, 100] = np.nan
    out = preprocess(x, 1000, PreprocessParams(fs=500, length=5000, stride=2000, normalization=normalization))
    assert out.shape == (8, 12, 5000) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert abs(float(out.mean())) < 0.05 and abs(float(out.std()) - 1) < 0.05


def test_params_validation_and_dict():
    assert PreprocessParams().to_dict() == {"fs": 500, "length": 5000, "stride": 2000, "normalization": "record"}
    assert PreprocessParams(normalization="lead").normalization == "lead"
    with pytest.raises(ValueError, match="stride"):
        PreprocessParams(stride=0)
    with pytest.raises(ValueError, match="fs"):
        PreprocessParams(fs=100.5)
    with pytest.raises(ValueError, match="normalization must be one of record, lead, got 'global'"):
        PreprocessParams(normalization="global")


def test_cache_key_follows_the_normalisation(tree, monkeypatch):
    source = WfdbSource([tree])
    record = cache_key(source, PreprocessParams(normalization="record"))
    assert record != cache_key(source, PreprocessParams(normalization="lead"))
    assert record == cache_key(source, PreprocessParams())
    # a cache keyed before the field existed (params without it) is not reused
    monkeypatch.setattr(PreprocessParams, "to_dict", lambda self: {"fs": 500, "length": 5000, "stride": 2000})
    assert cache_key(source, PreprocessParams()) != record


# ------------------------------------------------------------------ the limb-lead identities survive


def test_identities_survive_preprocessing_and_float16_on_a_synthetic_record():
    rng = np.random.default_rng(3)
    x = twelve_from_eight(ecg_like(rng, 12_000, 1000, leads=8) + 0.3).astype(np.float32)  # DC offset too
    x[6, 4000] = 25.0  # a spike on V1 alone
    x[0, 9000] = np.nan  # a dropout on I alone
    params = PreprocessParams(fs=500, length=2500, stride=1000)
    stored = preprocess(x, 1000, params).astype(np.float16)
    assert stored.shape == (4, 12, 2500)
    for name, (residual, scale) in limb_identities(stored).items():
        assert np.all(np.abs(residual) <= FP16_HALF_ULP * scale + 1e-6), name
    # per-lead z-scores break them (so the check above can fail)
    per_lead = preprocess(x, 1000, PreprocessParams(fs=500, length=2500, stride=1000, normalization="lead"))
    worst = max(np.abs(r).max() / rms(per_lead[:, 2 + k]).max() for k, (r, _) in
                enumerate(limb_identities(per_lead).values()))  # fmt: skip
    assert worst > 0.1


def test_identities_survive_the_cache_on_the_real_ptb_record(real_records, tmp_path):
    """s0010_re: 15 signals at 1000 Hz, 38.4 s; cached at 500 Hz in float16 windows.

    The file itself holds the identities only to its quantisation (0.5 uV steps: residuals up
    to 1 uV, < 0.7% of a limb lead's rms). Preprocessing must carry that residual through
    linearly (resample, centre, one scale) and add no more than float16 rounding; in lead-rms
    terms every identity holds in the cache to 1% of the derived lead's rms.
    """
    folder = tmp_path / "ptb"
    folder.mkdir()
    for suffix in (".hea", ".dat", ".xyz"):
        shutil.copy(real_records / f"s0010_re{suffix}", folder)
    params = PreprocessParams(fs=500, length=5000, stride=2000)
    cache = EcgCache.open(build_cache(WfdbSource([folder]), tmp_path / "cache", params, workers=1, progress=False))
    stored = np.asarray(cache.signals, dtype=np.float16)
    assert stored.shape == (8, 12, 5000) and cache.meta["fs"] == 500

    raw = read_wfdb_record(folder / "s0010_re.hea").signal  # (12, 38400) mV
    resampled = resample(raw, 1000, 500).astype(np.float64)
    centred = resampled - resampled.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean(centred**2))  # the record's one std
    raw_residuals = limb_identities(raw[None])
    for k, (name, (residual, weight)) in enumerate(limb_identities(stored).items()):
        # what the file's own residual becomes through the linear steps
        carried = resample(raw_residuals[name][0][0][None], 1000, 500).astype(np.float64)
        carried -= carried.mean()  # centring each lead removes the residual's (tiny) mean too
        carried = make_windows(carried, 5000, 2000)[:, 0] / scale
        assert np.all(np.abs(residual - carried) <= FP16_HALF_ULP * weight + 1e-5), name
        lead_rms = rms(stored[:, 2 + k].astype(np.float64), axis=None)
        assert np.abs(residual).max() <= 0.01 * lead_rms, name
