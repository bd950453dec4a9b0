"""Tests for ddsp_tf.training.dataset_statistics (re-exported by
postprocessing): QuantileTransformer against scikit-learn, smooth against
numpy, and compute_dataset_statistics on in-memory data with known values."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn import preprocessing as sk_preprocessing
import tensorflow as tf

from ddsp_tf.training import data
from ddsp_tf.training import dataset_statistics
from ddsp_tf.training import postprocessing

QuantileTransformer = dataset_statistics.QuantileTransformer

HOP = 320  # 16 kHz audio at 50 frames per second.
STAT_NAMES = ('mean', 'max', 'min', 'mean_max', 'mean_min', 'std')
PREFIXES = ('pitch', 'power', 'loudness', 'pitch_note', 'power_note',
            'loudness_note')


def sklearn_transformer(**kwargs):
  with warnings.catch_warnings():
    # scikit-learn warns when n_quantiles exceeds the samples.
    warnings.simplefilter('ignore')
    return sk_preprocessing.QuantileTransformer(**kwargs)


def fit_sklearn(x, **kwargs):
  transformer = sklearn_transformer(**kwargs)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    return transformer.fit(x)


def sample_data(rng, n_samples):
  """Three features: normal, exponential with ties, and a bimodal one."""
  return np.stack([
      rng.normal(size=n_samples),
      np.round(rng.exponential(size=n_samples), 1),
      np.where(rng.random(n_samples) < 0.3, -60.0, -20.0) +
      rng.normal(scale=3.0, size=n_samples),
  ], axis=1)


# ----------------------------------------------------------------------------
# QuantileTransformer.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('output_distribution', ['uniform', 'normal'])
@pytest.mark.parametrize('n_samples,n_quantiles', [(2000, 1000), (3000, 64),
                                                   (300, 1000), (1, 10)])
def test_quantile_transformer_matches_sklearn(output_distribution, n_samples,
                                              n_quantiles):
  rng = np.random.default_rng(n_samples)
  train = sample_data(rng, n_samples)
  # New data reaches beyond the fitted range on both sides.
  test = 2.0 * sample_data(rng, 500)
  ours = QuantileTransformer(n_quantiles, output_distribution).fit(train)
  reference = fit_sklearn(train, n_quantiles=n_quantiles,
                          output_distribution=output_distribution)
  assert ours.n_quantiles_ == reference.n_quantiles_ == min(n_quantiles,
                                                            n_samples)
  np.testing.assert_array_equal(ours.references_, reference.references_)
  np.testing.assert_allclose(ours.quantiles_, reference.quantiles_,
                             rtol=0, atol=1e-12)
  for x in (train, test):
    np.testing.assert_allclose(ours.transform(x), reference.transform(x),
                               rtol=0, atol=1e-12)
  outputs = reference.transform(test)
  if output_distribution == 'uniform':
    outputs = np.concatenate([outputs, rng.uniform(size=(100, 3))])
  else:
    outputs = np.concatenate([outputs, rng.normal(scale=3, size=(100, 3))])
  np.testing.assert_allclose(ours.inverse_transform(outputs),
                             reference.inverse_transform(outputs),
                             rtol=0, atol=1e-12)
  np.testing.assert_allclose(
      QuantileTransformer(n_quantiles, output_distribution).fit_transform(
          train), reference.transform(train), rtol=0, atol=1e-12)


def test_quantile_transformer_output_ranges_and_round_trip():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1500, 1))
  uniform = QuantileTransformer(200).fit(x)
  levels = uniform.transform(x)
  assert levels.min() == 0.0 and levels.max() == 1.0
  # Within the fitted range the map is invertible (piecewise linear).
  np.testing.assert_allclose(uniform.inverse_transform(levels), x, atol=1e-9)
  normal = QuantileTransformer(200, 'normal').fit(x)
  z = normal.transform(np.array([[-100.0], [0.0], [100.0]]))
  assert np.all(np.isfinite(z))
  # The ends are clipped symmetrically (about 5.2 standard deviations).
  np.testing.assert_allclose(z[0], -z[2])
  assert 5.0 < z[2, 0] < 5.5


@pytest.mark.parametrize('n_features', [1, 3])
def test_subsample_draws_the_rows_sklearn_draws(n_features):
  rng = np.random.default_rng(1)
  x = sample_data(rng, 5000)[:, :n_features]
  for output_distribution in ('uniform', 'normal'):
    ours = QuantileTransformer(50, output_distribution, subsample=700,
                               random_state=7).fit(x)
    reference = fit_sklearn(x, n_quantiles=50, subsample=700, random_state=7,
                            output_distribution=output_distribution)
    np.testing.assert_allclose(ours.quantiles_, reference.quantiles_,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.transform(x), reference.transform(x),
                               rtol=0, atol=1e-12)
  # Different draws give different quantiles.
  other = QuantileTransformer(50, subsample=700, random_state=8).fit(x)
  assert not np.allclose(other.quantiles_, ours.quantiles_)


def test_default_random_state_is_numpys_global_one():
  x = sample_data(np.random.default_rng(2), 4000)[:, :1]
  np.random.seed(123)
  ours = QuantileTransformer(100, subsample=500).fit(x)
  np.random.seed(123)
  reference = fit_sklearn(x, n_quantiles=100, subsample=500)
  np.testing.assert_allclose(ours.quantiles_, reference.quantiles_, atol=1e-12)
  state = np.random.RandomState(5)
  seeded = QuantileTransformer(100, subsample=500, random_state=state).fit(x)
  np.testing.assert_allclose(
      seeded.quantiles_,
      fit_sklearn(x, n_quantiles=100, subsample=500,
                  random_state=np.random.RandomState(5)).quantiles_)


def test_float32_stays_float32_and_nan_passes_through():
  rng = np.random.default_rng(3)
  x = rng.normal(size=(400, 2)).astype(np.float32)
  x[::37, 0] = np.nan
  ours = QuantileTransformer(100).fit(x)
  reference = fit_sklearn(x, n_quantiles=100)
  out = ours.transform(x)
  assert out.dtype == np.float32
  np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
  np.testing.assert_allclose(out, reference.transform(x), equal_nan=True,
                             rtol=0, atol=1e-7)
  # Integers are promoted (not truncated into an integer array).
  ints = np.arange(10)[:, np.newaxis]
  levels = QuantileTransformer(10).fit_transform(ints)
  np.testing.assert_allclose(levels[:, 0], np.linspace(0.0, 1.0, 10))


def test_quantile_transformer_pickles():
  x = sample_data(np.random.default_rng(4), 300)
  fitted = QuantileTransformer(50, 'normal').fit(x)
  restored = pickle.loads(pickle.dumps(fitted))
  np.testing.assert_array_equal(restored.transform(x), fitted.transform(x))


@pytest.mark.parametrize('kwargs,match', [
    ({'n_quantiles': 0}, 'n_quantiles=0'),
    ({'n_quantiles': -5}, 'n_quantiles=-5'),
    ({'n_quantiles': 2.5}, 'n_quantiles=2.5'),
    ({'subsample': 0}, 'subsample=0'),
    ({'output_distribution': 'gaussian'}, "'gaussian'"),
])
def test_quantile_transformer_rejects_bad_options(kwargs, match):
  with pytest.raises(ValueError, match=match):
    QuantileTransformer(**kwargs)


def test_quantile_transformer_rejects_bad_input():
  with pytest.raises(TypeError, match='random_state'):
    QuantileTransformer(random_state='seed')
  transformer = QuantileTransformer()
  with pytest.raises(ValueError, match='not fitted'):
    transformer.transform(np.zeros((3, 1)))
  with pytest.raises(ValueError, match=r'shape \[n_samples, n_features\].*'
                     r'got shape \[5\]'):
    transformer.fit(np.arange(5.0))
  with pytest.raises(ValueError, match='empty'):
    transformer.fit(np.zeros((0, 1)))
  with pytest.raises(ValueError, match='Inf'):
    transformer.fit(np.array([[1.0], [np.inf]]))
  with pytest.raises(ValueError, match=r'feature\(s\) \[1\]'):
    transformer.fit(np.array([[1.0, np.nan], [2.0, np.nan]]))
  with pytest.raises(TypeError, match='array of numbers'):
    transformer.fit([['a'], ['b']])
  transformer.fit(np.zeros((4, 2)))
  with pytest.raises(ValueError, match='x has 3 features.*fitted to 2'):
    transformer.transform(np.zeros((4, 3)))
  with pytest.raises(ValueError, match='rank 3'):
    transformer.inverse_transform(np.zeros((4, 2, 1)))
  # Options changed after construction are checked again at fit time.
  transformer.n_quantiles = 0
  with pytest.raises(ValueError, match='n_quantiles=0'):
    transformer.fit(np.zeros((4, 2)))


# ----------------------------------------------------------------------------
# fit_quantile_transform.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(600,), (3, 200)])
def test_fit_quantile_transform(shape):
  rng = np.random.default_rng(5)
  loudness = rng.uniform(-70, -10, shape)
  mask = rng.random(shape) < 0.6
  fitted = dataset_statistics.fit_quantile_transform(loudness, mask)
  on = loudness[mask][:, np.newaxis]
  reference = fit_sklearn(on)  # n_quantiles=1000, uniform, as the original.
  np.testing.assert_allclose(fitted.quantiles_, reference.quantiles_,
                             atol=1e-12)

  target = fit_sklearn(rng.normal(-30, 4, (900, 1)))
  fitted, renormalised = dataset_statistics.fit_quantile_transform(
      loudness, mask, inv_quantile=target)
  assert renormalised.shape == (loudness.size, 1)
  flat_mask = mask.reshape(-1)
  np.testing.assert_array_equal(renormalised[~flat_mask, 0],
                                loudness.reshape(-1)[~flat_mask])
  np.testing.assert_allclose(
      renormalised[flat_mask],
      target.inverse_transform(reference.transform(on)), atol=1e-9)


def test_fit_quantile_transform_rejects_bad_input():
  loudness = np.linspace(-60, -10, 50)
  mask = np.ones(50, bool)
  fit = dataset_statistics.fit_quantile_transform
  with pytest.raises(ValueError, match=r'shape of loudness_db \[50\], got '
                     r'\[49\]'):
    fit(loudness, mask[:49])
  with pytest.raises(ValueError, match='no note-on frame'):
    fit(loudness, np.zeros(50, bool))
  with pytest.raises(TypeError, match='boolean.*float64'):
    fit(loudness, np.full(50, 0.5))
  with pytest.raises(ValueError, match='empty'):
    fit(np.zeros(0), np.zeros(0, bool))
  with pytest.raises(TypeError, match='inverse_transform'):
    fit(loudness, mask, inv_quantile='transform')
  # 0/1 numbers stand for False/True.
  np.testing.assert_array_equal(
      fit(loudness, mask.astype(int)).quantiles_, fit(loudness,
                                                      mask).quantiles_)


# ----------------------------------------------------------------------------
# smooth.
# ----------------------------------------------------------------------------
def numpy_box(x, size):
  """'SAME' box average, zeros outside: frame t sums t-(size-1)//2 ..
  t+size//2 (tf.nn.conv1d's alignment)."""
  full = np.convolve(x, np.ones(size) / size, mode='full')
  return full[size // 2:size // 2 + x.shape[0]]


def test_smooth_by_hand():
  x = np.array([1.0, 2.0, 3.0, 4.0])
  np.testing.assert_allclose(dataset_statistics.smooth(x),
                             [1.0, 2.0, 3.0, 7.0 / 3.0], rtol=1e-6)
  # An even box takes its extra frame after t.
  np.testing.assert_allclose(dataset_statistics.smooth(x, 2),
                             [1.5, 2.5, 3.5, 2.0], rtol=1e-6)
  np.testing.assert_allclose(dataset_statistics.smooth(x, 10),
                             [1.0, 1.0, 1.0, 1.0], rtol=1e-6)
  np.testing.assert_array_equal(dataset_statistics.smooth(x, 1), x)


@pytest.mark.parametrize('size', [1, 2, 3, 4, 5, 40, 41, 150])
def test_smooth_matches_numpy(size):
  rng = np.random.default_rng(size)
  x = rng.normal(size=(3, 120))
  smoothed = dataset_statistics.smooth(x, size)
  assert smoothed.dtype == np.float32 and smoothed.shape == x.shape
  for row, expected in zip(smoothed, x):
    np.testing.assert_allclose(row, numpy_box(expected, size), atol=1e-6)
  np.testing.assert_allclose(dataset_statistics.smooth(x[1], size),
                             numpy_box(x[1], size), atol=1e-6)


def test_smooth_rejects_bad_input():
  with pytest.raises(ValueError, match='filter_size=0'):
    dataset_statistics.smooth(np.ones(5), 0)
  with pytest.raises(ValueError, match='rank 3'):
    dataset_statistics.smooth(np.ones((2, 3, 4)))
  with pytest.raises(ValueError, match='empty'):
    dataset_statistics.smooth(np.ones((2, 0)))
  with pytest.raises(ValueError, match='NaN'):
    dataset_statistics.smooth(np.array([1.0, np.nan]))


# ----------------------------------------------------------------------------
# compute_dataset_statistics.
# ----------------------------------------------------------------------------
class MemoryProvider(data.DataProvider):
  """Examples held in memory: a dict of [n_examples, ...] arrays."""

  def __init__(self, examples, sample_rate=16000, frame_rate=50):
    super().__init__(sample_rate, frame_rate)
    self._examples = {key: np.asarray(value, np.float32)
                      for key, value in examples.items()}

  def get_dataset(self, shuffle=True):
    return tf.data.Dataset.from_tensor_slices(self._examples)


def square_wave(amplitude, n_samples):
  """Mean square amplitude**2 over any even number of samples."""
  return amplitude * (-1.0)**np.arange(n_samples)


def db(mean_square):
  return 10.0 * np.log10(mean_square)


def test_known_values_and_no_note_fallback():
  n_frames = 121  # 101 after trimming; 4 s would be 201 at 50 Hz.
  n_samples = (n_frames - 1) * HOP  # Centred frames: n_samples / hop + 1.
  examples = {
      # A loud, confident A4 ...
      'audio': np.stack([square_wave(0.1, n_samples),
                         square_wave(0.001, n_samples)]),
      'f0_hz': np.stack([np.full(n_frames, 440.0), np.full(n_frames, 220.0)]),
      'f0_confidence': np.stack([np.ones(n_frames), np.zeros(n_frames)]),
      # ... and an unpitched quiet example: it has no notes, so all its
      # frames count as notes.
      'loudness_db': np.stack([np.full(n_frames, -20.0),
                               np.full(n_frames, -60.0)]),
  }
  statistics = dataset_statistics.compute_dataset_statistics(
      MemoryProvider(examples))
  expected_keys = [f'{name}_{prefix}' for prefix in PREFIXES
                   for name in STAT_NAMES] + ['quantile_transform']
  assert sorted(statistics) == sorted(expected_keys)

  # Pitch: MIDI 69 and 57.
  expected = {'mean_pitch': 63.0, 'max_pitch': 69.0, 'min_pitch': 57.0,
              'mean_max_pitch': 63.0, 'mean_min_pitch': 63.0,
              'std_pitch': 6.0,
              'mean_loudness': -40.0, 'max_loudness': -20.0,
              'min_loudness': -60.0, 'mean_max_loudness': -40.0,
              'mean_min_loudness': -40.0, 'std_loudness': 20.0}
  # Power of 1024-sample frames every 320 samples, centred: the first frame
  # is half zero padding, the second 192 of 1024, the rest full.
  offsets = np.array([db(0.5), db(832 / 1024)] + [0.0] * 99)
  power = np.stack([-20.0 + offsets, -60.0 + offsets])
  expected.update({
      'mean_power': power.mean(), 'max_power': -20.0,
      'min_power': -60.0 + db(0.5), 'mean_max_power': -40.0,
      'mean_min_power': -40.0 + db(0.5), 'std_power': power.std()})
  for key, value in list(expected.items()):
    prefix, name = key.rsplit('_', 1)
    expected[f'{prefix}_{name}_note'] = value
  for key, value in expected.items():
    assert statistics[key] == pytest.approx(value, abs=2e-4), key
    assert isinstance(statistics[key], float)

  transform = statistics['quantile_transform']
  assert isinstance(transform, postprocessing.QuantileTransformer)
  # Fitted on the note-on loudness: half the frames at -60, half at -20
  # (the ends of the fitted range map to 0 and 1, the gap to the middle).
  np.testing.assert_allclose(transform.transform([[-60.0], [-40.0], [-20.0]]),
                             [[0.0], [0.5], [1.0]], atol=2e-3)
  assert transform.n_quantiles_ == 202  # One per note-on frame.
  np.testing.assert_allclose(transform.quantiles_[[0, 100, 101, -1], 0],
                             [-60.0, -60.0, -20.0, -20.0])


def reference_statistics(examples):
  """The original's compute_dataset_statistics, written with numpy."""
  trim = slice(0, examples['f0_hz'].shape[1] - 20)
  f0 = examples['f0_hz'][:, trim].astype(np.float64)
  confidence = examples['f0_confidence'][:, trim].astype(np.float64)
  loudness = examples['loudness_db'][:, trim].astype(np.float64)
  pitch = np.where(f0 > 0, 69.0 + 12.0 * np.log2(np.maximum(f0, 1e-9) / 440),
                   0.0)
  audio = np.pad(examples['audio'].astype(np.float64), [(0, 0), (512, 512)])
  starts = np.arange(examples['f0_hz'].shape[1]) * HOP
  mean_square = np.stack([np.mean(audio[:, s:s + 1024]**2, axis=1)
                          for s in starts], axis=1)
  power = np.maximum(db(np.maximum(mean_square, 1e-20)), -80.0)[:, trim]
  smoothed = np.stack([numpy_box(row**2, 40) for row in confidence])
  ratio = smoothed * (loudness + 80.0) / ((loudness.mean() + 80.0) * 0.49)
  mask = ratio >= 1.0
  mask |= ~mask.any(axis=1, keepdims=True)

  result = {}
  for prefix, values in (('pitch', pitch), ('power', power),
                         ('loudness', loudness)):
    for suffix, keep in (('', np.ones_like(mask)), ('_note', mask)):
      rows = [row[k] for row, k in zip(values, keep) if k.any()]
      flat = values[keep]
      result.update({
          f'mean_{prefix}{suffix}': flat.mean(),
          f'max_{prefix}{suffix}': flat.max(),
          f'min_{prefix}{suffix}': flat.min(),
          f'mean_max_{prefix}{suffix}': np.mean([r.max() for r in rows]),
          f'mean_min_{prefix}{suffix}': np.mean([r.min() for r in rows]),
          f'std_{prefix}{suffix}': flat.std()})
  return result, ratio, mask, loudness


def note_examples(n_examples, n_frames=141):
  """Examples with confident and unconfident stretches and varied levels."""
  rng = np.random.default_rng(11)
  n_samples = (n_frames - 1) * HOP
  confident = np.zeros((n_examples, n_frames))
  for i in range(n_examples):
    start = 10 + 15 * i
    confident[i, start:start + 50] = 1.0
  return {
      'audio': (rng.uniform(-1, 1, (n_examples, n_samples)) *
                np.linspace(0.01, 0.5, n_samples)),
      'f0_hz': rng.uniform(80, 900, (n_examples, n_frames)),
      'f0_confidence': np.clip(confident + rng.uniform(-0.2, 0.2,
                                                       confident.shape), 0, 1),
      'loudness_db': rng.uniform(-75, -5, (n_examples, n_frames)),
  }


def test_note_statistics_match_the_original_formula():
  examples = note_examples(3)
  expected, ratio, mask, loudness = reference_statistics(
      {k: v.astype(np.float32) for k, v in examples.items()})
  # The fixture has partial masks and no frame on the threshold.
  assert 0 < mask.mean() < 1 and np.all(mask.any(axis=1))
  assert np.min(np.abs(ratio - 1.0)) > 1e-3
  for batch_size in (1, 2):  # 2: the last batch holds one example.
    statistics = dataset_statistics.compute_dataset_statistics(
        MemoryProvider(examples), batch_size=batch_size)
    for key, value in expected.items():
      assert statistics[key] == pytest.approx(value, rel=1e-4, abs=1e-3), key
  reference = fit_sklearn(loudness[mask][:, np.newaxis])
  np.testing.assert_allclose(statistics['quantile_transform'].quantiles_,
                             reference.quantiles_, atol=1e-4)


def test_power_prefers_audio_16k():
  n_frames, sample_rate = 61, 32000
  n_16k = (n_frames - 1) * HOP
  base = {'f0_hz': np.full((1, n_frames), 440.0),
          'f0_confidence': np.ones((1, n_frames)),
          'loudness_db': np.full((1, n_frames), -20.0)}
  both = dict(base, audio=square_wave(0.5, 2 * n_16k)[np.newaxis],
              audio_16k=square_wave(0.1, n_16k)[np.newaxis])
  statistics = dataset_statistics.compute_dataset_statistics(
      MemoryProvider(both, sample_rate=sample_rate))
  assert statistics['max_power'] == pytest.approx(-20.0, abs=1e-4)
  # Without audio_16k, 'audio' is framed at the provider's sample rate.
  only_audio = dict(base, audio=both['audio'])
  statistics = dataset_statistics.compute_dataset_statistics(
      MemoryProvider(only_audio, sample_rate=sample_rate))
  assert statistics['max_power'] == pytest.approx(db(0.25), abs=1e-4)


def test_reexported_from_postprocessing():
  for name in ('QuantileTransformer', 'fit_quantile_transform',
               'compute_dataset_statistics', 'smooth'):
    assert getattr(postprocessing, name) is getattr(dataset_statistics, name)


def test_compute_dataset_statistics_rejects_bad_input():
  compute = dataset_statistics.compute_dataset_statistics
  examples = note_examples(2)
  with pytest.raises(TypeError, match='get_batch'):
    compute(examples)
  with pytest.raises(ValueError, match='batch_size=0'):
    compute(MemoryProvider(examples), batch_size=0)
  with pytest.raises(ValueError, match='power_frame_size=0'):
    compute(MemoryProvider(examples), power_frame_size=0)
  with pytest.raises(ValueError, match='no examples'):
    compute(MemoryProvider({k: v[:0] for k, v in examples.items()}))
  with pytest.raises(ValueError, match=r"lack \['f0_confidence'\]"):
    compute(MemoryProvider({k: v for k, v in examples.items()
                            if k != 'f0_confidence'}))
  with pytest.raises(ValueError, match='audio_16k or audio'):
    compute(MemoryProvider({k: v for k, v in examples.items()
                            if k != 'audio'}))
  # Power at 25 Hz cannot line up with 50 Hz frame features.
  with pytest.raises(ValueError, match='power_frame_rate=25 has 71 frames'):
    compute(MemoryProvider(examples), power_frame_rate=25)
  short = {'audio': np.zeros((1, 19 * HOP)), 'f0_hz': np.ones((1, 20)),
           'f0_confidence': np.ones((1, 20)), 'loudness_db': np.ones((1, 20))}
  with pytest.raises(ValueError, match='more than 20 frames.*got 20'):
    compute(MemoryProvider(short))
  ragged = dict(examples, loudness_db=examples['loudness_db'][:, :-1])
  with pytest.raises(ValueError, match='differ in shape'):
    compute(MemoryProvider(ragged))
