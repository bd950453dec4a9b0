"""Tests for the math, conversion and resampling parts of ddsp_tf.core.

Every expected value comes from an independent source: an analytic formula
written out here in numpy, librosa, scipy, or TensorFlow's own legacy image
resize (which the original library used for 'nearest'/'linear'/'cubic').
"""

import re

import librosa
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp_tf import core


def rng(seed=0):
  return np.random.default_rng(seed)


def np32(x):
  return np.asarray(x, dtype=np.float32)


def np_sigmoid(x):
  x = np.asarray(x, np.float64)
  return 1.0 / (1.0 + np.exp(-x))


def np_softplus(x):
  return np.logaddexp(0.0, np.asarray(x, np.float64))


def np_exp_sigmoid(x, exponent=10.0, max_value=2.0, threshold=1e-7):
  return max_value * np_sigmoid(x)**np.log(exponent) + threshold


def np_soft_limit(x, x_min, x_max):
  """ddsp_tf's form: corners at x_min and x_max."""
  return x_min + np_softplus(x - x_min) - np_softplus(x - x_max)


def np_soft_limit_original(x, x_min, x_max):
  """The original's form: corners at 0 and x_max - x_min, shifted by x_min."""
  return np_softplus(x) + x_min - np_softplus(x - (x_max - x_min))


def np_bark(hz):
  """Traunmueller (1990), written out independently."""
  hz = np.asarray(hz, np.float64)
  return 26.81 * hz / (1960.0 + hz) - 0.53


def np_bark_inv(bark):
  bark = np.asarray(bark, np.float64)
  return 1960.0 * (bark + 0.53) / (26.28 - bark)


def numeric_grad(fn, x, h=1e-2):
  """Central finite differences of the scalar fn(x) (x: float64 array)."""
  x = np.asarray(x, np.float64)
  grad = np.zeros_like(x)
  for idx in np.ndindex(x.shape):
    up, down = x.copy(), x.copy()
    up[idx] += h
    down[idx] -= h
    grad[idx] = (fn(up) - fn(down)) / (2.0 * h)
  return grad


def autodiff_grad(tf_fn, x, weights):
  """Gradient of sum(weights * tf_fn(x)) w.r.t. x, via tf.GradientTape."""
  x = tf.constant(np32(x))
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_sum(tf.constant(np32(weights)) * tf_fn(x))
  return tape.gradient(loss, x).numpy()


def weighted_sum(tf_fn, weights):
  def fn(x):
    return float(tf.reduce_sum(np32(weights) * tf_fn(tf.constant(np32(x)))))
  return fn


# ----------------------------------------------------------------------------
# Utilities.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('value', [3, 2.5, [1.0, 2.0], np.arange(4),
                                   np.arange(4, dtype=np.float64),
                                   tf.constant([1, 2], tf.int32)])
def test_tf_float32_converts_anything(value):
  out = core.tf_float32(value)
  assert isinstance(out, tf.Tensor)
  assert out.dtype == tf.float32
  np.testing.assert_array_equal(out.numpy(), np.asarray(value, np.float32))


def test_tf_float32_casts_variables():
  out = core.tf_float32(tf.Variable([1.5, -2.0], dtype=tf.float64))
  assert isinstance(out, tf.Tensor) and out.dtype == tf.float32
  np.testing.assert_array_equal(out.numpy(), [1.5, -2.0])


def test_make_iterable():
  assert core.make_iterable(None) == []
  array = np.zeros((4, 3))
  wrapped = core.make_iterable(array)
  assert isinstance(wrapped, list) and len(wrapped) == 1
  assert wrapped[0] is array  # A batch is never split.
  tensor = tf.zeros([5, 2])
  wrapped = core.make_iterable(tensor)
  assert len(wrapped) == 1 and wrapped[0] is tensor
  assert core.make_iterable(7) == [7]
  assert core.make_iterable(2.5) == [2.5]
  items = [1, 2, 3]
  assert core.make_iterable(items) is items
  items = ('a', 'b')
  assert core.make_iterable(items) is items
  assert core.make_iterable('audio') == ['audio']


def test_to_dict():
  d = {'a': 1}
  assert core.to_dict(d, ['x', 'y']) is d
  assert core.to_dict([1, 2], ['x', 'y']) == {'x': 1, 'y': 2}
  assert core.to_dict((1, 2, 3), ('x', 'y', 'z')) == {'x': 1, 'y': 2, 'z': 3}
  tensor = tf.zeros([3, 2])
  out = core.to_dict(tensor, ['audio'])
  assert list(out) == ['audio'] and out['audio'] is tensor


def test_to_dict_length_mismatch_raises():
  with pytest.raises(ValueError, match=r"3 values.*\['x', 'y'\]"):
    core.to_dict([1, 2, 3], ['x', 'y'])


def test_copy_if_tf_function():
  x = {'a': tf.constant(1.0), 'b': tf.constant(2.0)}
  assert core.copy_if_tf_function(x) is x  # Eager: no copy.
  assert core.copy_if_tf_function([1]) == [1]

  seen = {}

  @tf.function
  def fn(inputs):
    out = core.copy_if_tf_function(inputs)
    seen['is_copy'] = out is not inputs
    seen['same_keys'] = sorted(out) == sorted(inputs)
    out['c'] = out['a'] + out['b']  # Must not leak into the caller's dict.
    return out['c']

  assert float(fn(x)) == 3.0
  assert seen == {'is_copy': True, 'same_keys': True}
  assert sorted(x) == ['a', 'b']


NESTED = {'a': {'b': 1, 'c': {'d': 2}}, 'e': 3, 'f': {}}


def test_nested_keys():
  assert sorted(core.nested_keys(NESTED)) == ['a/b', 'a/c/d', 'e']
  assert sorted(core.nested_keys(NESTED, delimiter='.')) == [
      'a.b', 'a.c.d', 'e']
  assert sorted(core.nested_keys({'x': 1, 'y': {'z': 2}}, prefix='p')) == [
      'p/x', 'p/y/z']


def test_nested_lookup():
  assert core.nested_lookup('a/c/d', NESTED) == 2
  assert core.nested_lookup('e', NESTED) == 3
  assert core.nested_lookup('a/c', NESTED) == {'d': 2}
  assert core.nested_lookup('a.b', NESTED, delimiter='.') == 1


@pytest.mark.parametrize('key', ['a/x', 'z', 'a/b/c', 'a/c/d/e'])
def test_nested_lookup_missing_key_lists_available(key):
  with pytest.raises(KeyError) as info:
    core.nested_lookup(key, NESTED)
  message = str(info.value)
  assert key in message
  for available in ('a/b', 'a/c/d', 'e'):
    assert available in message


def test_leaf_key():
  assert core.leaf_key('a/b/c') == 'c'
  assert core.leaf_key('c') == 'c'
  assert core.leaf_key('a.b', delimiter='.') == 'b'


def test_map_shape():
  nested = {'a': tf.zeros([2, 3]), 'b': [np.ones(4), 5.0],
            'c': {'d': np.zeros((1, 2, 3))}}
  assert core.map_shape(nested) == {'a': [2, 3], 'b': [[4], []],
                                    'c': {'d': [1, 2, 3]}}


@pytest.mark.parametrize('axis', [0, 1, 2, -1, -3])
@pytest.mark.parametrize('padding', [(0, 0), (2, 0), (1, 3)])
def test_pad_axis_matches_numpy(axis, padding):
  x = rng(1).normal(size=(2, 3, 4)).astype(np.float32)
  widths = [(0, 0)] * 3
  widths[axis] = padding
  out = core.pad_axis(x, padding, axis=axis)
  np.testing.assert_array_equal(out.numpy(), np.pad(x, widths))
  out = core.pad_axis(x, padding, axis=axis, constant_values=7.0)
  np.testing.assert_array_equal(out.numpy(),
                                np.pad(x, widths, constant_values=7.0))


def test_pad_axis_passes_mode():
  x = np32([[1, 2, 3], [4, 5, 6]])
  out = core.pad_axis(x, (2, 1), axis=1, mode='REFLECT')
  np.testing.assert_array_equal(out.numpy(),
                                np.pad(x, [(0, 0), (2, 1)], mode='reflect'))


@pytest.mark.parametrize('axis', [2, -3])
def test_pad_axis_bad_axis_raises(axis):
  with pytest.raises(ValueError, match=f'axis={axis}'):
    core.pad_axis(np.zeros((2, 3)), (1, 1), axis=axis)


@pytest.mark.parametrize('axis', [0, 1, 2, -1, -2])
def test_diff_matches_numpy(axis):
  x = rng(2).normal(size=(3, 5, 4)).astype(np.float32)
  out = core.diff(x, axis=axis)
  expected = np.diff(x, axis=axis)
  assert out.shape == expected.shape
  np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
  twice = core.diff(out, axis=axis)
  np.testing.assert_allclose(twice.numpy(), np.diff(x, n=2, axis=axis),
                             atol=1e-5)


def test_diff_default_axis_is_last():
  x = np32([[1, 4, 9, 16], [0, 1, 0, 1]])
  np.testing.assert_array_equal(core.diff(x).numpy(),
                                [[3, 5, 7], [1, -1, 1]])
  np.testing.assert_array_equal(core.diff(np32([2, 5])).numpy(), [3])


@pytest.mark.parametrize('axis', [3, -4, 10])
def test_diff_bad_axis_raises(axis):
  with pytest.raises(ValueError, match=f'axis={axis}.*rank 3'):
    core.diff(np.zeros((2, 3, 4)), axis=axis)


# ----------------------------------------------------------------------------
# Math.
# ----------------------------------------------------------------------------
def test_nan_to_num():
  x = np32([1.0, np.nan, -2.0, np.inf, np.nan])
  np.testing.assert_array_equal(core.nan_to_num(x).numpy(),
                                [1.0, 0.0, -2.0, np.inf, 0.0])
  np.testing.assert_array_equal(core.nan_to_num(x, value=5.0).numpy(),
                                [1.0, 5.0, -2.0, np.inf, 5.0])


def test_safe_divide():
  num = np32([1.0, 2.0, 3.0, 0.0])
  den = np32([2.0, 0.0, -4.0, 0.0])
  out = core.safe_divide(num, den).numpy()
  np.testing.assert_allclose(out, [0.5, 2e7, -0.75, 0.0], rtol=1e-6)
  out = core.safe_divide(num, den, eps=0.5).numpy()
  np.testing.assert_allclose(out, [0.5, 4.0, -0.75, 0.0], rtol=1e-6)


def test_safe_log():
  x = np32([0.0, -1.0, 1e-30, 1.0, np.e, 100.0])
  out = core.safe_log(x).numpy()
  expected = [np.log(1e-5), np.log(1e-5), np.log(1e-30), 0.0, 1.0,
              np.log(100.0)]
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(core.safe_log(0.0, eps=1e-3).numpy(),
                             np.log(1e-3), rtol=1e-6)
  assert np.all(np.isfinite(out))


def test_logb_and_log10():
  np.testing.assert_allclose(core.logb(np32([8.0, 0.5, 1.0])).numpy(),
                             [3.0, -1.0, 0.0], atol=1e-6)
  np.testing.assert_allclose(core.logb(81.0, base=3.0).numpy(), 4.0,
                             rtol=1e-6)
  np.testing.assert_allclose(core.log10(np32([1000.0, 1e-3])).numpy(),
                             [3.0, -3.0], rtol=1e-6)
  # Non-positive inputs are replaced by eps.
  np.testing.assert_allclose(core.log10(0.0).numpy(), -5.0, rtol=1e-6)
  np.testing.assert_allclose(core.logb(-4.0, base=10.0, eps=1e-2).numpy(),
                             -2.0, rtol=1e-6)


def test_log_scale():
  x = np.linspace(-1.0, 1.0, 11)
  out = core.log_scale(np32(x), 20.0, 8000.0).numpy()
  expected = 20.0 * (8000.0 / 20.0)**((x + 1.0) / 2.0)
  np.testing.assert_allclose(out, expected, rtol=1e-5)
  np.testing.assert_allclose(out[[0, 5, -1]],
                             [20.0, np.sqrt(20.0 * 8000.0), 8000.0], rtol=1e-5)


@pytest.mark.parametrize('min_x,max_x,bad', [(0.0, 10.0, 'min_x=0.0'),
                                             (1.0, -5.0, 'max_x=-5.0')])
def test_log_scale_rejects_non_positive(min_x, max_x, bad):
  with pytest.raises(ValueError, match=re.escape(bad)):
    core.log_scale(0.0, min_x, max_x)


@pytest.mark.parametrize('x_min,x_max', [(0.0, 1.0), (-3.0, 2.0),
                                         (20.0, 8000.0)])
def test_soft_limit(x_min, x_max):
  x = np.linspace(x_min - 50.0, x_max + 50.0, 101)
  default = core.soft_limit(np32(x), x_min, x_max).numpy()
  np.testing.assert_allclose(
      default, np_soft_limit_original(np32(x), x_min, x_max), rtol=1e-5,
      atol=1e-5)
  out = core.soft_limit(np32(x), x_min, x_max,
                        corners_at_limits=True).numpy()
  np.testing.assert_allclose(out, np_soft_limit(np32(x), x_min, x_max),
                             rtol=1e-5, atol=1e-5)
  assert np.all(out >= x_min) and np.all(out <= x_max)
  assert np.all(np.diff(out) >= 0.0)  # Monotone.
  big = core.soft_limit(np32([-1e6, 1e6]), x_min, x_max,
                        corners_at_limits=True).numpy()
  np.testing.assert_allclose(big, [x_min, x_max], atol=1e-4)


def test_soft_limit_default_range():
  np.testing.assert_allclose(core.soft_limit(np32([0.5])).numpy(),
                             np_soft_limit(0.5, 0.0, 1.0), rtol=1e-6)


def test_soft_limit_rejects_empty_range():
  with pytest.raises(ValueError, match=r'x_min=1\.0, x_max=1\.0'):
    core.soft_limit(0.0, 1.0, 1.0)


def test_gradient_reversal():
  x = rng(3).normal(size=(2, 5)).astype(np.float32)
  w = rng(4).normal(size=(2, 5)).astype(np.float32)
  np.testing.assert_array_equal(core.gradient_reversal(x).numpy(), x)
  grad = autodiff_grad(core.gradient_reversal, x, w)
  np.testing.assert_allclose(grad, -w, rtol=1e-6)
  # Composed with a nonlinearity: d/dx reversal(x)**2 = -2x.

# A [batch, time, channels] shape big enough for time_cumsum's XLA loop.
_LONG_SERIES = (2, 40000, 14)


@pytest.mark.parametrize('reverse', [False, True])
def test_time_cumsum_is_numpys_sequential_float32_sum(reverse, monkeypatch):
  """numpy's float32 cumsum adds step by step: the rounding must be the same
  to the last bit (the oscillators' phase amplifies any difference)."""
  from ddsp_tf.core import numerics  # pylint: disable=import-outside-toplevel
  loops = []
  loop = numerics._sequential_cumsum  # pylint: disable=protected-access
  monkeypatch.setattr(numerics, '_sequential_cumsum',
                      lambda *args: loops.append(1) or loop(*args))
  x = rng(5).uniform(0.0, 0.4, size=_LONG_SERIES).astype(np.float32)
  flipped = x[:, ::-1] if reverse else x
  expected = np.cumsum(flipped, axis=1, dtype=np.float32)
  expected = expected[:, ::-1] if reverse else expected
  out = core.time_cumsum(x, reverse=reverse).numpy()
  assert loops, 'the XLA loop was not used for a long float32 series'
  np.testing.assert_array_equal(out, expected)
  np.testing.assert_array_equal(
      out, tf.cumsum(x, axis=1, reverse=reverse).numpy())


def test_time_cumsum_gradients_are_the_opposite_sums():
  x = tf.constant(rng(6).uniform(0.0, 0.4, size=_LONG_SERIES), tf.float32)
  weights = rng(7).normal(size=_LONG_SERIES).astype(np.float32)
  with tf.GradientTape() as outer:
    outer.watch(x)
    with tf.GradientTape() as inner:
      inner.watch(x)
      value = tf.reduce_sum(weights * tf.sin(core.time_cumsum(x)))
    grad = inner.gradient(value, x)
    grad_energy = tf.reduce_sum(tf.square(grad))
  second = outer.gradient(grad_energy, x)
  phase = np.cumsum(x.numpy(), axis=1, dtype=np.float32).astype(np.float64)
  expected = np.cumsum((weights * np.cos(phase))[:, ::-1], axis=1)[:, ::-1]
  np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-3)
  assert np.all(np.isfinite(second.numpy())) and np.any(second.numpy())


@pytest.mark.parametrize('x', [
    np.ones([2, 5, 3], np.float32),  # Small: tf.cumsum.
    np.ones([2, 40000, 14], np.float64),  # float64: tf.cumsum.
    np.ones([80000, 14], np.float32),  # Rank 2: tf.cumsum along axis 1.
])
def test_time_cumsum_other_inputs_take_tf_cumsum(x, monkeypatch):
  from ddsp_tf.core import numerics  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(numerics, '_sequential_cumsum', None)
  np.testing.assert_array_equal(core.time_cumsum(x).numpy(),
                                np.cumsum(x, axis=1))


def test_time_cumsum_unknown_shapes_take_tf_cumsum():
  cumsum = tf.function(core.time_cumsum, input_signature=[
      tf.TensorSpec([None, None, 14], tf.float32)])
  x = rng(8).uniform(size=_LONG_SERIES).astype(np.float32)
  np.testing.assert_array_equal(cumsum(x).numpy(),
                                np.cumsum(x, axis=1, dtype=np.float32))

  grad = autodiff_grad(lambda t: tf.square(core.gradient_reversal(t)), x,
                       np.ones_like(x))
  np.testing.assert_allclose(grad, -2.0 * x, rtol=1e-6)


# ----------------------------------------------------------------------------
# Unit conversions.
# ----------------------------------------------------------------------------
def _power_signal(seed):
  """Powers spanning ~150 dB that peak exactly at 1, with a zero."""
  power = rng(seed).uniform(0.0, 1.0, size=(3, 200))**8
  power[0, 0] = 1.0
  power[1, 3] = 0.0
  power[2, 5] = 1e-15
  return power.astype(np.float32)


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('range_db', [100.0, 80.0, 30.0, 1.0])
def test_power_to_db_matches_librosa(range_db, use_tf):
  power = _power_signal(5)
  expected = librosa.power_to_db(power, ref=1.0,
                                 amin=10.0**(-range_db / 10.0),
                                 top_db=range_db)
  out = core.power_to_db(power, range_db=range_db, use_tf=use_tf)
  if use_tf:
    assert isinstance(out, tf.Tensor)
    out = out.numpy()
  else:
    assert isinstance(out, np.ndarray)
  assert out.shape == power.shape
  np.testing.assert_allclose(out, expected, atol=2e-4)
  assert out.min() >= -range_db


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('range_db', [100.0, 80.0, 1.0])
def test_amplitude_to_db_matches_librosa(range_db, use_tf):
  amplitude = np.sqrt(_power_signal(6))
  amplitude[1, 7] = -0.5  # Sign does not matter for amplitude.
  expected = librosa.amplitude_to_db(amplitude, ref=1.0,
                                     amin=10.0**(-range_db / 20.0),
                                     top_db=range_db)
  out = core.amplitude_to_db(amplitude, range_db=range_db, use_tf=use_tf)
  out = out.numpy() if use_tf else np.asarray(out)
  np.testing.assert_allclose(out, expected, atol=2e-4)


@pytest.mark.parametrize('use_tf', [True, False])
def test_power_to_db_ref_db_and_floor(use_tf):
  power = np32([1.0, 0.1, 1e-5, 0.0, 100.0])
  out = core.power_to_db(power, ref_db=10.0, range_db=80.0, use_tf=use_tf)
  out = np.asarray(out)
  # 10 log10(p) - ref_db, never below -range_db.
  np.testing.assert_allclose(out, [-10.0, -20.0, -60.0, -80.0, 10.0],
                             atol=1e-4)
  # Zero is clamped to the amin of range_db before ref_db is subtracted.
  out = np.asarray(core.amplitude_to_db(np32([1.0, 0.1, 0.0, 10.0]),
                                        ref_db=-6.0, use_tf=use_tf))
  np.testing.assert_allclose(out, [6.0, -14.0, -74.0, 26.0], atol=1e-4)


@pytest.mark.parametrize('range_db', [0.0, -10.0])
def test_power_to_db_rejects_bad_range(range_db):
  with pytest.raises(ValueError, match=f'range_db={range_db}'):
    core.power_to_db(1.0, range_db=range_db)


def test_db_to_power_and_amplitude():
  db = np32([-80.0, -30.0, -20.0, 0.0, 6.0, 20.0])
  np.testing.assert_allclose(core.db_to_power(db).numpy(), 10.0**(db / 10.0),
                             rtol=1e-5)
  np.testing.assert_allclose(core.db_to_amplitude(db).numpy(),
                             10.0**(db / 20.0), rtol=1e-5)
  np.testing.assert_allclose(core.db_to_amplitude(-20.0).numpy(), 0.1,
                             rtol=1e-6)
  np.testing.assert_allclose(core.db_to_power(-30.0).numpy(), 1e-3,
                             rtol=1e-5)


def test_db_round_trips():
  power = np.geomspace(1e-7, 10.0, 50).astype(np.float32)
  back = core.db_to_power(core.power_to_db(power, range_db=80.0)).numpy()
  np.testing.assert_allclose(back, power, rtol=1e-4)
  amplitude = np.geomspace(1e-3, 3.0, 50).astype(np.float32)
  back = core.db_to_amplitude(core.amplitude_to_db(amplitude)).numpy()
  np.testing.assert_allclose(back, amplitude, rtol=1e-4)
  db = np.linspace(-80.0, 20.0, 41).astype(np.float32)
  np.testing.assert_allclose(
      core.power_to_db(core.db_to_power(db)).numpy(), db, atol=1e-4)
  np.testing.assert_allclose(
      core.amplitude_to_db(core.db_to_amplitude(db)).numpy(), db, atol=1e-4)


def test_midi_to_hz_matches_librosa():
  notes = np.arange(0.0, 128.0, 0.25)
  out = core.midi_to_hz(np32(notes)).numpy()
  np.testing.assert_allclose(out, librosa.midi_to_hz(notes), rtol=1e-5)
  np.testing.assert_allclose(core.midi_to_hz(69.0).numpy(), 440.0, rtol=1e-7)


def test_midi_to_hz_zero_silence():
  notes = np32([[0.0, 0.5, 69.0, 0.0]])
  out = core.midi_to_hz(notes, midi_zero_silence=True).numpy()
  np.testing.assert_allclose(
      out, [[0.0, librosa.midi_to_hz(0.5), 440.0, 0.0]], rtol=1e-5)
  out = core.midi_to_hz(notes).numpy()
  np.testing.assert_allclose(out[0, 0], librosa.midi_to_hz(0.0), rtol=1e-5)
  assert out[0, 0] > 8.0


def test_hz_to_midi_matches_librosa():
  hz = np.geomspace(1.0, 20000.0, 300)
  out = core.hz_to_midi(np32(hz)).numpy()
  np.testing.assert_allclose(out, librosa.hz_to_midi(hz), atol=2e-4)
  # Non-positive frequencies map to MIDI 0 (librosa gives -inf for 0 Hz).
  np.testing.assert_array_equal(core.hz_to_midi(np32([0.0, -5.0])).numpy(),
                                [0.0, 0.0])


def test_midi_hz_round_trip():
  notes = np.linspace(1.0, 127.0, 64).astype(np.float32)
  back = core.hz_to_midi(core.midi_to_hz(notes)).numpy()
  np.testing.assert_allclose(back, notes, atol=1e-4)


UNIT_VALUES = np.linspace(-0.5, 1.5, 41)


@pytest.mark.parametrize('clip', [False, True])
@pytest.mark.parametrize('midi_min,midi_max', [(20.0, 90.0), (0.0, 127.0)])
def test_unit_to_midi(clip, midi_min, midi_max):
  out = core.unit_to_midi(np32(UNIT_VALUES), midi_min=midi_min,
                          midi_max=midi_max, clip=clip).numpy()
  unit = np.clip(UNIT_VALUES, 0.0, 1.0) if clip else UNIT_VALUES
  np.testing.assert_allclose(out, midi_min + (midi_max - midi_min) * unit,
                             atol=1e-4)


def test_unit_to_midi_defaults():
  np.testing.assert_allclose(core.unit_to_midi(np32([0.0, 0.5, 1.0])).numpy(),
                             [20.0, 55.0, 90.0], atol=1e-5)


@pytest.mark.parametrize('clip', [False, True])
@pytest.mark.parametrize('midi_min,midi_max', [(20.0, 90.0), (10.0, 40.0)])
def test_midi_to_unit(clip, midi_min, midi_max):
  midi = np.linspace(0.0, 127.0, 50)
  out = core.midi_to_unit(np32(midi), midi_min=midi_min, midi_max=midi_max,
                          clip=clip).numpy()
  expected = (midi - midi_min) / (midi_max - midi_min)
  expected = np.clip(expected, 0.0, 1.0) if clip else expected
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('clip', [False, True])
@pytest.mark.parametrize('hz_min,hz_max', [(20.0, 8000.0), (55.0, 1760.0)])
def test_unit_to_hz(clip, hz_min, hz_max):
  out = core.unit_to_hz(np32(UNIT_VALUES), hz_min, hz_max, clip=clip).numpy()
  unit = np.clip(UNIT_VALUES, 0.0, 1.0) if clip else UNIT_VALUES
  expected = hz_min * (hz_max / hz_min)**unit  # Linear in log frequency.
  np.testing.assert_allclose(out, expected, rtol=5e-5)


@pytest.mark.parametrize('clip', [False, True])
@pytest.mark.parametrize('hz_min,hz_max', [(20.0, 8000.0), (55.0, 1760.0)])
def test_hz_to_unit(clip, hz_min, hz_max):
  hz = np.geomspace(5.0, 16000.0, 60)
  out = core.hz_to_unit(np32(hz), hz_min, hz_max, clip=clip).numpy()
  expected = np.log(hz / hz_min) / np.log(hz_max / hz_min)
  expected = np.clip(expected, 0.0, 1.0) if clip else expected
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_hz_to_bark_traunmueller():
  hz = np.linspace(0.0, 20000.0, 101)
  out = core.hz_to_bark(np32(hz)).numpy()
  np.testing.assert_allclose(out, np_bark(hz), rtol=1e-5, atol=1e-5)
  # Spot values worked by hand: f = 1960 gives 26.81 / 2 - 0.53.
  np.testing.assert_allclose(core.hz_to_bark(np32([0.0, 1960.0])).numpy(),
                             [-0.53, 12.875], atol=1e-5)
  bark = np.linspace(-0.5, 24.0, 50)
  np.testing.assert_allclose(core.bark_to_hz(np32(bark)).numpy(),
                             np_bark_inv(bark), rtol=1e-4, atol=1e-3)


def test_bark_round_trip():
  hz = np.linspace(0.0, 20000.0, 101).astype(np.float32)
  back = core.bark_to_hz(core.hz_to_bark(hz)).numpy()
  np.testing.assert_allclose(back, hz, rtol=1e-4, atol=1e-2)


def test_mel_matches_librosa_htk():
  hz = np.linspace(0.0, 20000.0, 101)
  mel = core.hz_to_mel(np32(hz)).numpy()
  np.testing.assert_allclose(mel, librosa.hz_to_mel(hz, htk=True),
                             rtol=1e-5, atol=1e-4)
  mels = np.linspace(0.0, 3800.0, 50)
  np.testing.assert_allclose(core.mel_to_hz(np32(mels)).numpy(),
                             librosa.mel_to_hz(mels, htk=True), rtol=1e-4,
                             atol=1e-3)
  back = core.mel_to_hz(core.hz_to_mel(np32(hz))).numpy()
  np.testing.assert_allclose(back, hz, rtol=1e-4, atol=1e-2)


def test_hz_to_erb():
  hz = np.linspace(0.0, 16000.0, 17)
  np.testing.assert_allclose(core.hz_to_erb(np32(hz)).numpy(),
                             0.108 * hz + 24.7, rtol=1e-6)
  np.testing.assert_allclose(core.hz_to_erb(1000.0).numpy(), 132.7, rtol=1e-6)


# ----------------------------------------------------------------------------
# Nonlinearities and frequency parameterizations.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs', [{}, {'exponent': 5.0},
                                    {'max_value': 1.0, 'threshold': 0.0},
                                    {'exponent': 2.0, 'max_value': 3.0,
                                     'threshold': 1e-3}])
def test_exp_sigmoid_matches_formula(kwargs):
  x = np.linspace(-12.0, 12.0, 97)
  out = core.exp_sigmoid(np32(x), **kwargs).numpy()
  np.testing.assert_allclose(out, np_exp_sigmoid(x, **kwargs), rtol=1e-4,
                             atol=1e-9)


def test_exp_sigmoid_limits():
  out = core.exp_sigmoid(np32([-200.0, 0.0, 200.0])).numpy()
  np.testing.assert_allclose(out[0], 1e-7, rtol=1e-6)
  np.testing.assert_allclose(out[1], 2.0 * 0.5**np.log(10.0) + 1e-7,
                             rtol=1e-5)
  np.testing.assert_allclose(out[2], 2.0, rtol=1e-6)


def test_sym_exp_sigmoid_matches_formula():
  x = np.linspace(-10.0, 10.0, 81)
  for width in (8.0, 3.0):
    out = core.sym_exp_sigmoid(np32(x), width=width).numpy()
    expected = np_exp_sigmoid(width * (np.abs(x) / 2.0 - 1.0))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(out, out[::-1], rtol=1e-6)  # Symmetric.
  out = core.sym_exp_sigmoid(np32([0.0, 100.0])).numpy()
  # Smallest (about the threshold) at 0, approaching max_value = 2 far out.
  assert out[0] < 2e-7
  np.testing.assert_allclose(out[1], 2.0, rtol=1e-6)


def np_frequencies_softmax(logits4, hz_min, hz_max):
  logits4 = np.asarray(logits4, np.float64)
  depth = logits4.shape[-1]
  p = np.exp(logits4 - logits4.max(axis=-1, keepdims=True))
  p /= p.sum(axis=-1, keepdims=True)
  unit = (p * np.linspace(0.0, 1.0, depth)).sum(axis=-1)
  return hz_min * (hz_max / hz_min)**unit


@pytest.mark.parametrize('depth', [2, 5])
def test_frequencies_softmax_matches_formula(depth):
  b, t, n = 2, 3, 4
  logits = rng(7).normal(scale=2.0, size=(b, t, n, depth)).astype(np.float32)
  expected = np_frequencies_softmax(logits, 20.0, 8000.0)
  out3 = core.frequencies_softmax(logits.reshape(b, t, n * depth),
                                  depth=depth).numpy()
  out4 = core.frequencies_softmax(logits, depth=depth).numpy()
  assert out3.shape == out4.shape == (b, t, n)
  np.testing.assert_allclose(out3, expected, rtol=1e-4)
  np.testing.assert_allclose(out4, expected, rtol=1e-4)
  out = core.frequencies_softmax(logits, depth=depth, hz_min=100.0,
                                 hz_max=200.0).numpy()
  np.testing.assert_allclose(out, np_frequencies_softmax(logits, 100.0,
                                                         200.0), rtol=1e-4)


def np_frequencies_critical_bands(logits4, depth_scale, bandwidth_scale,
                                  hz_min, hz_max, scale):
  logits4 = np.asarray(logits4, np.float64)
  n, depth = logits4.shape[-2:]
  if scale == 'bark':
    centers = np_bark_inv(np.linspace(np_bark(hz_min), np_bark(hz_max), n))
  else:
    to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    centers = 700.0 * (10.0**(np.linspace(to_mel(hz_min), to_mel(hz_max), n)
                              / 2595.0) - 1.0)
  bandwidths = bandwidth_scale * (0.108 * centers + 24.7)
  gains = depth_scale**-np.arange(depth, dtype=np.float64)
  offsets = (np.tanh(logits4) * gains).sum(axis=-1)
  return np_soft_limit_original(centers + bandwidths * offsets, hz_min,
                                hz_max)


@pytest.mark.parametrize('scale', ['bark', 'mel'])
@pytest.mark.parametrize('depth,depth_scale,bandwidth_scale',
                         [(1, 10.0, 1.0), (3, 10.0, 1.0), (2, 4.0, 2.5)])
def test_frequencies_critical_bands_matches_formula(scale, depth, depth_scale,
                                                    bandwidth_scale):
  b, t, n = 2, 3, 6
  logits = rng(8).normal(size=(b, t, n, depth)).astype(np.float32)
  expected = np_frequencies_critical_bands(logits, depth_scale,
                                           bandwidth_scale, 30.0, 6000.0,
                                           scale)
  kwargs = dict(depth=depth, depth_scale=depth_scale,
                bandwidth_scale=bandwidth_scale, hz_min=30.0, hz_max=6000.0,
                scale=scale)
  out3 = core.frequencies_critical_bands(
      logits.reshape(b, t, n * depth), **kwargs).numpy()
  out4 = core.frequencies_critical_bands(logits, **kwargs).numpy()
  assert out3.shape == out4.shape == (b, t, n)
  np.testing.assert_allclose(out3, expected, rtol=1e-4)
  np.testing.assert_allclose(out4, expected, rtol=1e-4)


def test_frequencies_critical_bands_centres_evenly_spaced_in_bark():
  logits = np.zeros((1, 1, 8), np.float32)  # No offsets: just the centres.
  # The original's soft limit adds hz_min (20 Hz) to centres well inside
  # the range.
  out = core.frequencies_critical_bands(logits).numpy()[0, 0] - 20.0
  bark = np_bark(out)
  # Interior centres are far from the soft limits, so spacing is exact there.
  spacing = (np_bark(8000.0) - np_bark(20.0)) / 7.0
  np.testing.assert_allclose(np.diff(bark)[1:-1], spacing, rtol=1e-4)


def test_frequencies_sigmoid_depth_one_is_scaled_sigmoid():
  x = rng(9).normal(scale=3.0, size=(2, 5, 3)).astype(np.float32)
  out = core.frequencies_sigmoid(x, depth=1, hz_min=50.0, hz_max=5000.0,
                                 geometric_ranges=True).numpy()
  np.testing.assert_allclose(out, 50.0 + 4950.0 * np_sigmoid(x), rtol=1e-5)
  out = core.frequencies_sigmoid(  # Defaults 0 .. 8000 Hz.
      x, geometric_ranges=True).numpy()
  np.testing.assert_allclose(out, 8000.0 * np_sigmoid(x), rtol=1e-5,
                             atol=1e-3)


def test_frequencies_sigmoid_default_is_the_originals_log_mapping():
  """Depth 1: hz_min * (r / hz_min)**sigmoid(x) with r = hz_max - hz_min."""
  x = rng(9).normal(scale=3.0, size=(2, 5, 3)).astype(np.float32)
  out = core.frequencies_sigmoid(x, depth=1, hz_min=50.0,
                                 hz_max=5000.0).numpy()
  np.testing.assert_allclose(out, 50.0 * (4950.0 / 50.0)**np_sigmoid(x),
                             rtol=1e-4)


@pytest.mark.parametrize('hz_min,hz_max', [(0.0, 8000.0), (20.0, 1000.0)])
def test_frequencies_sigmoid_geometric_parts(hz_min, hz_max):
  depth = 4
  # Turning one sigmoid fully on at a time measures the size of its part.
  logits = np.full((1, depth, 1, depth), -60.0, np.float32)
  for d in range(depth):
    logits[0, d, 0, d] = 60.0
  sizes = core.frequencies_sigmoid(logits, depth=depth, hz_min=hz_min,
                                   hz_max=hz_max,
                                   geometric_ranges=True).numpy()[0, :, 0]
  sizes -= hz_min
  assert np.all(sizes > 0.0)
  np.testing.assert_allclose(sizes.sum(), hz_max - hz_min, rtol=1e-5)
  ratios = sizes[1:] / sizes[:-1]
  assert np.all(ratios > 1.0)  # Sizes grow...
  np.testing.assert_allclose(ratios, ratios[0], rtol=1e-3)  # ...geometrically.
  # All off gives hz_min, all on gives hz_max.
  ends = np.full((1, 2, 1, depth), -60.0, np.float32)
  ends[0, 1] = 60.0
  ends = core.frequencies_sigmoid(ends, depth=depth, hz_min=hz_min,
                                  hz_max=hz_max,
                                  geometric_ranges=True).numpy()[0, :, 0]
  np.testing.assert_allclose(ends, [hz_min, hz_max], rtol=1e-5, atol=1e-3)


def test_frequencies_sigmoid_rejects_empty_range():
  with pytest.raises(ValueError, match=r'hz_min=100\.0, hz_max=50\.0'):
    core.frequencies_sigmoid(np.zeros((1, 1, 1)), hz_min=100.0, hz_max=50.0)


FREQUENCY_FNS = {
    'softmax': (core.frequencies_softmax, 20.0, 8000.0),
    'sigmoid': (core.frequencies_sigmoid, 0.0, 8000.0),
    'critical_bands': (core.frequencies_critical_bands, 20.0, 8000.0),
}


@pytest.mark.parametrize('name', sorted(FREQUENCY_FNS))
@pytest.mark.parametrize('depth', [1, 3])
def test_frequencies_bounded_for_large_logits(name, depth):
  fn, hz_min, hz_max = FREQUENCY_FNS[name]
  b, t, n = 3, 7, 5
  logits = rng(10).normal(scale=1e3, size=(b, t, n * depth)).astype(np.float32)
  logits[0, 0, :] = 1e30
  logits[0, 1, :] = -1e30
  out = fn(logits, depth=depth).numpy()
  assert out.shape == (b, t, n)
  assert np.all(np.isfinite(out))
  assert np.all(out >= hz_min * (1.0 - 1e-5))
  assert np.all(out <= hz_max * (1.0 + 1e-5))


@pytest.mark.parametrize('name', sorted(FREQUENCY_FNS))
def test_frequencies_reject_channels_not_multiple_of_depth(name):
  fn = FREQUENCY_FNS[name][0]
  with pytest.raises(ValueError, match=r'\(7\).*depth=3'):
    fn(np.zeros((1, 2, 7), np.float32), depth=3)
  with pytest.raises(ValueError, match=r'last axis 4.*depth=3'):
    fn(np.zeros((1, 2, 5, 4), np.float32), depth=3)


def test_frequencies_critical_bands_rejects_unknown_scale():
  with pytest.raises(ValueError, match="'erb'"):
    core.frequencies_critical_bands(np.zeros((1, 1, 4)), scale='erb')


# ----------------------------------------------------------------------------
# Resampling.
# ----------------------------------------------------------------------------
def positions(n_frames, n_timesteps, add_endpoint):
  """Fractional frame positions of the output steps, as documented."""
  if add_endpoint:
    return np.arange(n_timesteps) * n_frames / n_timesteps
  return np.linspace(0.0, n_frames - 1.0, n_timesteps)


def np_resample_linear(x, n_timesteps, add_endpoint, axis=1):
  pos = positions(x.shape[axis], n_timesteps, add_endpoint)
  grid = np.arange(x.shape[axis])
  return np.apply_along_axis(lambda v: np.interp(pos, grid, v), axis,
                             np.asarray(x, np.float64))


def keys_kernel(s, a=-0.75):
  s = np.abs(s)
  near = (a + 2.0) * s**3 - (a + 3.0) * s**2 + 1.0
  far = a * s**3 - 5.0 * a * s**2 + 8.0 * a * s - 4.0 * a
  return np.where(s <= 1.0, near, np.where(s < 2.0, far, 0.0))


def np_resample_cubic(x, n_timesteps, add_endpoint):
  """Keys cubic convolution along axis 1 with edge-replicated frames."""
  n_frames = x.shape[1]
  matrix = np.zeros((n_timesteps, n_frames))
  for row, p in enumerate(positions(n_frames, n_timesteps, add_endpoint)):
    base = int(np.floor(p))
    for m in range(base - 1, base + 3):
      matrix[row, min(max(m, 0), n_frames - 1)] += keys_kernel(p - m)
  return np.einsum('tn,bn...->bt...', matrix, np.asarray(x, np.float64))


def np_upsample_with_windows(x, n_timesteps, add_endpoint):
  """Overlap-add of periodic Hann windows, 2 * hop long, trimmed by a hop."""
  x = np.asarray(x, np.float64)
  if add_endpoint:
    x = np.concatenate([x, x[:, -1:]], axis=1)
  n_frames = x.shape[1]
  hop = n_timesteps // (n_frames - 1)
  window = scipy.signal.get_window('hann', 2 * hop)  # Periodic.
  out = np.zeros((x.shape[0], (n_frames + 1) * hop, x.shape[2]))
  for k in range(n_frames):
    out[:, k * hop:k * hop + 2 * hop] += x[:, k:k + 1] * window[:, None]
  return out[:, hop:-hop]


def tf_legacy_resize(x, n_timesteps, method, add_endpoint):
  """The original library's resize: tf.compat.v1.image.resize on [B,T,1,C]."""
  x = np32(x)[:, :, np.newaxis, :]
  out = tf.compat.v1.image.resize(x, [n_timesteps, 1], method=method,
                                  align_corners=not add_endpoint)
  return out.numpy()[:, :, 0, :]


RESAMPLE_SHAPES = [((6,), 0), ((2, 6), 1), ((2, 6, 3), 1), ((2, 6, 4, 3), 1)]


@pytest.mark.parametrize('shape,axis', RESAMPLE_SHAPES)
@pytest.mark.parametrize('n_timesteps', [24, 4])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_linear_any_rank(shape, axis, n_timesteps, add_endpoint):
  x = rng(11).normal(size=shape).astype(np.float32)
  out = core.resample(x, n_timesteps, method='linear',
                      add_endpoint=add_endpoint).numpy()
  expected_shape = list(shape)
  expected_shape[axis] = n_timesteps
  assert list(out.shape) == expected_shape
  np.testing.assert_allclose(
      out, np_resample_linear(x, n_timesteps, add_endpoint, axis=axis),
      atol=1e-5)


@pytest.mark.parametrize('method', ['nearest', 'linear', 'cubic'])
@pytest.mark.parametrize('shape,axis', RESAMPLE_SHAPES)
def test_resample_output_shapes(method, shape, axis):
  x = np.ones(shape, np.float32)
  for n_timesteps in (1, 3, 17):
    out = core.resample(x, n_timesteps, method=method)
    expected = list(shape)
    expected[axis] = n_timesteps
    assert out.shape.as_list() == expected
    np.testing.assert_allclose(out.numpy(), 1.0, atol=1e-6)


@pytest.mark.parametrize('n_frames,n_timesteps', [(5, 16000), (7, 50),
                                                  (50, 7), (9, 9)])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_linear_up_and_down(n_frames, n_timesteps, add_endpoint):
  x = rng(12).normal(size=(2, n_frames, 2)).astype(np.float32)
  out = core.resample(x, n_timesteps, add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(
      out, np_resample_linear(x, n_timesteps, add_endpoint), atol=1e-5)


def test_resample_linear_endpoint_semantics():
  x = np32([0.0, 10.0, 20.0, 30.0])[np.newaxis, :, np.newaxis]
  # add_endpoint: step n at frame n * 4 / 8; the last frame is held.
  out = core.resample(x, 8, add_endpoint=True).numpy()[0, :, 0]
  np.testing.assert_allclose(out, [0, 5, 10, 15, 20, 25, 30, 30], atol=1e-5)
  # Without: first and last outputs land on the first and last frames.
  out = core.resample(x, 7, add_endpoint=False).numpy()[0, :, 0]
  np.testing.assert_allclose(out, [0, 5, 10, 15, 20, 25, 30], atol=1e-5)


@pytest.mark.parametrize('n_frames,n_timesteps', [(5, 40), (6, 17), (40, 9)])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_cubic_matches_keys(n_frames, n_timesteps, add_endpoint):
  x = rng(13).normal(size=(2, n_frames, 3)).astype(np.float32)
  out = core.resample(x, n_timesteps, method='cubic',
                      add_endpoint=add_endpoint,
                      float64_positions=True).numpy()
  np.testing.assert_allclose(
      out, np_resample_cubic(x, n_timesteps, add_endpoint), atol=1e-5)
  # The original's legacy bicubic resize uses a 1024-entry kernel table, so
  # it only agrees to about 1e-3; the default (float64_positions=False) is
  # that kernel.
  np.testing.assert_allclose(
      out, tf_legacy_resize(x, n_timesteps, 'bicubic', add_endpoint),
      atol=3e-3)
  default = core.resample(x, n_timesteps, method='cubic',
                          add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(
      default, tf_legacy_resize(x, n_timesteps, 'bicubic', add_endpoint),
      atol=1e-6)


def test_resample_cubic_interpolates_frames_and_overshoots():
  x = np32([0.0, 0.0, 1.0, 0.0, 0.0])[np.newaxis, :, np.newaxis]
  out = core.resample(x, 17, method='cubic', add_endpoint=False).numpy()
  out = out[0, :, 0]
  np.testing.assert_allclose(out[::4], [0, 0, 1, 0, 0], atol=1e-6)
  # Step 3 sits at frame 0.75, 1.25 frames before the impulse: Keys a=-0.75
  # gives a (s^3 - 5 s^2 + 8 s - 4) = -0.75 * 0.140625 there.
  np.testing.assert_allclose(out[3], -0.10546875, atol=1e-6)
  assert out.min() < -0.05  # Cubic rings below zero, unlike linear.


@pytest.mark.parametrize('n_frames,n_timesteps', [(4, 10), (4, 8), (10, 4),
                                                  (5, 8)])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_nearest(n_frames, n_timesteps, add_endpoint):
  x = rng(14).normal(size=(1, n_frames, 2)).astype(np.float32)
  pos = positions(n_frames, n_timesteps, add_endpoint)
  if add_endpoint:
    index = np.floor(pos)  # Hold each frame over its own interval.
  else:
    assert np.all(np.abs(pos - np.floor(pos) - 0.5) > 1e-6)  # No ties here.
    index = np.floor(pos + 0.5)
  index = np.minimum(index, n_frames - 1).astype(int)
  out = core.resample(x, n_timesteps, method='nearest',
                      add_endpoint=add_endpoint).numpy()
  np.testing.assert_array_equal(out, x[:, index])
  np.testing.assert_array_equal(
      out, tf_legacy_resize(x, n_timesteps, 'nearest', add_endpoint))


@pytest.mark.parametrize('n_frames,n_timesteps', [(4, 10), (10, 4), (3, 9)])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_linear_matches_legacy_tf_resize(n_frames, n_timesteps,
                                                  add_endpoint):
  x = rng(15).normal(size=(2, n_frames, 3)).astype(np.float32)
  out = core.resample(x, n_timesteps, add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(
      out, tf_legacy_resize(x, n_timesteps, 'bilinear', add_endpoint),
      atol=1e-5)


def test_resample_nearest_ties_round_half_up():
  x = np32([0.0, 1.0, 2.0])[np.newaxis, :, np.newaxis]
  # Positions 0, 0.5, 1, 1.5, 2: the ties at 0.5 and 1.5 both go up.
  out = core.resample(x, 5, method='nearest', add_endpoint=False).numpy()
  np.testing.assert_array_equal(out[0, :, 0], [0.0, 1.0, 1.0, 2.0, 2.0])


@pytest.mark.parametrize('n_frames,n_timesteps,add_endpoint',
                         [(5, 40, True), (5, 40, False), (3, 3, True),
                          (4, 300, True), (2, 4, False)])
def test_upsample_with_windows_matches_overlap_add(n_frames, n_timesteps,
                                                   add_endpoint):
  x = rng(16).normal(size=(2, n_frames, 3)).astype(np.float32)
  expected = np_upsample_with_windows(x, n_timesteps, add_endpoint)
  out = core.upsample_with_windows(x, n_timesteps,
                                   add_endpoint=add_endpoint).numpy()
  assert out.shape == (2, n_timesteps, 3)
  np.testing.assert_allclose(out, expected, atol=1e-5)
  out = core.resample(x, n_timesteps, method='window',
                      add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('add_endpoint', [True, False])
def test_window_exact_at_frame_centres_and_constant(add_endpoint):
  n_frames, hop = 6, 8
  n_timesteps = (n_frames if add_endpoint else n_frames - 1) * hop
  x = rng(17).normal(size=(1, n_frames, 2)).astype(np.float32)
  out = core.resample(x, n_timesteps, method='window',
                      add_endpoint=add_endpoint).numpy()
  centres = np.arange(0, n_timesteps, hop)
  np.testing.assert_allclose(out[:, centres], x[:, :len(centres)], atol=1e-6)
  if add_endpoint:
    np.testing.assert_allclose(out[:, -hop:], np.repeat(x[:, -1:], hop, 1),
                               atol=1e-6)  # Last frame held for its hop.
  constant = np.full((2, n_frames, 3), 0.37, np.float32)
  out = core.resample(constant, n_timesteps, method='window',
                      add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(out, 0.37, atol=1e-6)


@pytest.mark.parametrize('shape', [(6,), (2, 6), (2, 6, 3, 1)])
def test_window_only_allows_3d(shape):
  message = re.escape(str(list(shape)))
  with pytest.raises(ValueError, match=message):
    core.resample(np.zeros(shape, np.float32), 12, method='window')
  with pytest.raises(ValueError, match=message):
    core.upsample_with_windows(np.zeros(shape, np.float32), 12)


@pytest.mark.parametrize('add_endpoint', [True, False])
def test_window_rejects_downsampling(add_endpoint):
  x = np.zeros((1, 10, 1), np.float32)
  with pytest.raises(ValueError, match=r'n_timesteps=5.*n_frames=10'):
    core.resample(x, 5, method='window', add_endpoint=add_endpoint)
  with pytest.raises(ValueError, match=r'n_timesteps=5'):
    core.upsample_with_windows(x, 5, add_endpoint=add_endpoint)


@pytest.mark.parametrize('n_timesteps,add_endpoint,n_intervals',
                         [(12, True, 5), (13, False, 4), (21, False, 4)])
def test_window_rejects_non_integer_ratio(n_timesteps, add_endpoint,
                                          n_intervals):
  x = np.zeros((1, 5, 1), np.float32)
  pattern = rf'\({n_timesteps}\).*\({n_intervals}\)'
  with pytest.raises(ValueError, match=pattern):
    core.resample(x, n_timesteps, method='window', add_endpoint=add_endpoint)
  with pytest.raises(ValueError, match=pattern):
    core.upsample_with_windows(x, n_timesteps, add_endpoint=add_endpoint)


@pytest.mark.parametrize('n_timesteps,add_endpoint', [(20, True),
                                                      (16, False)])
def test_window_allows_integer_ratio(n_timesteps, add_endpoint):
  out = core.resample(np.ones((2, 5, 3), np.float32), n_timesteps,
                      method='window', add_endpoint=add_endpoint)
  assert out.shape.as_list() == [2, n_timesteps, 3]


@pytest.mark.parametrize('method', ['bogus', 'Linear', 'sinc'])
def test_resample_rejects_unknown_method(method):
  with pytest.raises(ValueError, match=re.escape(repr(method))):
    core.resample(np.zeros((1, 4, 1), np.float32), 8, method=method)


@pytest.mark.parametrize('n_timesteps', [0, -3, 2.5])
def test_resample_rejects_bad_n_timesteps(n_timesteps):
  with pytest.raises(ValueError, match=f'n_timesteps={n_timesteps}'):
    core.resample(np.zeros((1, 4, 1), np.float32), n_timesteps)


def test_resample_rejects_rank_5():
  with pytest.raises(ValueError, match=re.escape('[1, 4, 1, 1, 1]')):
    core.resample(np.zeros((1, 4, 1, 1, 1), np.float32), 8)


@pytest.mark.parametrize('frame_size,crop', [(6, 3), (7, 3), (2, 1)])
def test_center_crop(frame_size, crop):
  audio = rng(18).normal(size=(2, 20)).astype(np.float32)
  out = core.center_crop(audio, frame_size).numpy()
  np.testing.assert_array_equal(out, audio[:, crop:20 - crop])


@pytest.mark.parametrize('frame_size', [0, 1])
def test_center_crop_small_frame_is_identity(frame_size):
  audio = rng(19).normal(size=(2, 20)).astype(np.float32)
  np.testing.assert_array_equal(core.center_crop(audio, frame_size).numpy(),
                                audio)


# ----------------------------------------------------------------------------
# Harmonic and sinusoidal controls.
# ----------------------------------------------------------------------------
def test_get_harmonic_frequencies():
  f0 = rng(20).uniform(50.0, 500.0, size=(2, 3, 1)).astype(np.float32)
  out = core.get_harmonic_frequencies(f0, 6).numpy()
  assert out.shape == (2, 3, 6)
  np.testing.assert_allclose(out, f0 * np.arange(1, 7), rtol=1e-6)


@pytest.mark.parametrize('sample_rate', [16000, 44100, 48000])
def test_remove_above_nyquist(sample_rate):
  nyquist = sample_rate / 2.0
  freqs = np32([[[100.0, nyquist - 1.0, nyquist, nyquist + 1.0, 3 * nyquist]]])
  amps = np32([[[0.5, 2.0, 3.0, 4.0, 5.0]]])
  out = core.remove_above_nyquist(freqs, amps, sample_rate).numpy()
  np.testing.assert_array_equal(out, [[[0.5, 2.0, 0.0, 0.0, 0.0]]])


def test_normalize_harmonics():
  dist = rng(21).uniform(0.0, 3.0, size=(2, 3, 5)).astype(np.float32)
  out = core.normalize_harmonics(dist).numpy()
  np.testing.assert_allclose(out, dist / dist.sum(-1, keepdims=True),
                             rtol=1e-5)
  # With f0 = 3 kHz at 16 kHz, harmonics 3.. (>= 9 kHz) are removed first.
  f0 = np.full((2, 3, 1), 3000.0, np.float32)
  out = core.normalize_harmonics(dist, f0, 16000).numpy()
  expected = dist.copy()
  expected[..., 2:] = 0.0
  expected /= expected.sum(-1, keepdims=True)
  np.testing.assert_allclose(out, expected, rtol=1e-5)
  # Silence stays silent.
  out = core.normalize_harmonics(np.zeros((1, 2, 4), np.float32)).numpy()
  np.testing.assert_array_equal(out, 0.0)


def test_harmonic_to_sinusoidal():
  harm_amp = np32([[[0.5], [2.0]]])
  harm_dist = np32([[[1.0, 2.0, 1.0], [0.0, 3.0, 1.0]]])  # Unnormalized.
  f0 = np32([[[100.0], [440.0]]])
  amps, freqs = core.harmonic_to_sinusoidal(harm_amp, harm_dist, f0)
  np.testing.assert_allclose(freqs.numpy(), f0 * np32([1, 2, 3]), rtol=1e-6)
  expected = harm_amp * harm_dist / harm_dist.sum(-1, keepdims=True)
  np.testing.assert_allclose(amps.numpy(), expected, rtol=1e-6)


def test_harmonic_to_sinusoidal_removes_nyquist_harmonics():
  harm_amp = np32([[[1.0]]])
  harm_dist = np32([[[1.0, 1.0, 1.0, 1.0]]])
  f0 = np32([[[3000.0]]])  # Harmonics at 3, 6, 9, 12 kHz.
  amps, freqs = core.harmonic_to_sinusoidal(harm_amp, harm_dist, f0,
                                            sample_rate=16000)
  np.testing.assert_allclose(freqs.numpy(), [[[3000, 6000, 9000, 12000]]])
  np.testing.assert_allclose(amps.numpy(), [[[0.5, 0.5, 0.0, 0.0]]],
                             atol=1e-7)
  amps, _ = core.harmonic_to_sinusoidal(harm_amp, harm_dist, f0,
                                        sample_rate=48000)
  np.testing.assert_allclose(amps.numpy(), [[[0.25] * 4]], atol=1e-7)


def test_harmonic_to_sinusoidal_f0_above_nyquist_is_silent():
  harm_amp = np32([[[1.0], [1.0]]])
  harm_dist = np32([[[1.0, 0.5], [1.0, 0.5]]])
  f0 = np32([[[9000.0], [8000.0]]])
  amps, _ = core.harmonic_to_sinusoidal(harm_amp, harm_dist, f0,
                                        sample_rate=16000)
  amps = amps.numpy()
  assert np.all(np.isfinite(amps))
  np.testing.assert_array_equal(amps, 0.0)


def test_sinusoidal_to_harmonic_recovers_harmonics():
  generator = rng(22)
  b, t = 2, 3
  f0 = generator.uniform(100.0, 400.0, size=(b, t, 1)).astype(np.float32)
  harmonic_numbers = np.array([3, 1, 5, 2])  # Unordered, harmonic 4 absent.
  sin_amps = generator.uniform(0.1, 1.0, size=(b, t, 4)).astype(np.float32)
  sin_freqs = (f0 * harmonic_numbers).astype(np.float32)
  harm_amp, harm_dist = core.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                                    n_harmonics=8)
  assert harm_amp.shape == (b, t, 1) and harm_dist.shape == (b, t, 8)
  expected = np.zeros((b, t, 8), np.float32)
  expected[..., harmonic_numbers - 1] = sin_amps
  np.testing.assert_allclose(harm_amp.numpy(),
                             sin_amps.sum(-1, keepdims=True), rtol=1e-5)
  np.testing.assert_allclose(harm_dist.numpy(),
                             expected / expected.sum(-1, keepdims=True),
                             atol=1e-5)


def test_sinusoidal_to_harmonic_round_trip():
  generator = rng(23)
  f0 = np32([[[110.0], [220.0], [330.0]]])
  amp = np32([[[0.3], [1.0], [0.7]]])
  dist = generator.uniform(0.0, 1.0, size=(1, 3, 10)).astype(np.float32)
  dist /= dist.sum(-1, keepdims=True)
  sin_amps, sin_freqs = core.harmonic_to_sinusoidal(amp, dist, f0)
  harm_amp, harm_dist = core.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                                    n_harmonics=10)
  np.testing.assert_allclose(harm_amp.numpy(), amp, rtol=1e-5)
  np.testing.assert_allclose(harm_dist.numpy(), dist, atol=1e-5)


def test_sinusoidal_to_harmonic_gaussian_weights():
  f0 = np32([[[200.0]]])
  sin_freqs = np32([[[2.1 * 200.0]]])  # One sinusoid 0.1 above harmonic 2.
  width = 0.2
  harm_amp, harm_dist = core.sinusoidal_to_harmonic(
      np32([[[1.0]]]), sin_freqs, f0, harmonic_width=width, n_harmonics=4,
      std_width=True)
  k = np.arange(1, 5)
  weights = np.exp(-0.5 * ((2.1 - k) / width)**2)
  np.testing.assert_allclose(harm_dist.numpy()[0, 0],
                             weights / weights.sum(), rtol=1e-4, atol=1e-9)
  # The original's weights, the default: exp(-(distance / width)**2).
  harm_amp, harm_dist = core.sinusoidal_to_harmonic(
      np32([[[1.0]]]), sin_freqs, f0, harmonic_width=width, n_harmonics=4)
  weights = np.exp(-((2.1 - k) / width)**2)
  np.testing.assert_allclose(harm_amp.numpy()[0, 0, 0], weights.sum(),
                             rtol=1e-5)
  np.testing.assert_allclose(harm_dist.numpy()[0, 0],
                             weights / weights.sum(), rtol=1e-4, atol=1e-9)


def test_sinusoidal_to_harmonic_normalize_conserves_amplitude():
  f0 = np32([[[100.0]]])
  sin_freqs = np32([[[150.0, 420.0]]])  # Between harmonics.
  sin_amps = np32([[[0.6, 0.3]]])
  harm_amp, _ = core.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                            harmonic_width=0.5,
                                            n_harmonics=20, normalize=True,
                                            std_width=True)
  np.testing.assert_allclose(harm_amp.numpy(), [[[0.9]]], rtol=1e-5)
  harm_amp, _ = core.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                            harmonic_width=0.5,
                                            n_harmonics=20, normalize=False,
                                            std_width=True)
  k = np.arange(1, 21)
  expected = sum(a * np.exp(-0.5 * ((f / 100.0 - k) / 0.5)**2).sum()
                 for a, f in ((0.6, 150.0), (0.3, 420.0)))
  np.testing.assert_allclose(harm_amp.numpy(), [[[expected]]], rtol=1e-5)


def test_sinusoidal_to_harmonic_removes_nyquist():
  f0 = np32([[[3000.0]]])
  sin_freqs = np32([[[3000.0, 9000.0]]])  # Harmonics 1 and 3 (above 8 kHz).
  sin_amps = np32([[[1.0, 1.0]]])
  harm_amp, harm_dist = core.sinusoidal_to_harmonic(
      sin_amps, sin_freqs, f0, n_harmonics=4, sample_rate=16000)
  np.testing.assert_allclose(harm_amp.numpy(), [[[1.0]]], rtol=1e-6)
  np.testing.assert_allclose(harm_dist.numpy(), [[[1.0, 0.0, 0.0, 0.0]]],
                             atol=1e-7)


# ----------------------------------------------------------------------------
# Silence, tiny values and gradients.
# ----------------------------------------------------------------------------
SILENCE_CASES = {
    'safe_log': lambda x: core.safe_log(x),
    'log10': lambda x: core.log10(x),
    'safe_divide_by_zero': lambda x: core.safe_divide(1.0 + x,
                                                      tf.zeros_like(x)),
    'safe_divide_zero_by_zero': lambda x: core.safe_divide(x, x * 0.0),
    'power_to_db': lambda x: core.power_to_db(x),
    'amplitude_to_db': lambda x: core.amplitude_to_db(x),
    'hz_to_midi': lambda x: core.hz_to_midi(x),
    'hz_to_unit': lambda x: core.hz_to_unit(x, 20.0, 8000.0),
    'normalize_harmonics': lambda x: core.normalize_harmonics(
        tf.reshape(x, [1, 1, -1])),
    # Unvoiced frames: f0 = 0 Hz exactly.
    'sinusoidal_to_harmonic': lambda x: tf.concat(core.sinusoidal_to_harmonic(
        tf.reshape(x, [1, 1, -1]), tf.reshape(x * 1000.0, [1, 1, -1]),
        tf.reshape(x[:1] * 0.0, [1, 1, 1]), n_harmonics=4), axis=-1),
    'harmonic_to_sinusoidal': lambda x: tf.concat(core.harmonic_to_sinusoidal(
        tf.reshape(x[:1], [1, 1, 1]), tf.reshape(x, [1, 1, -1]),
        tf.reshape(x[:1], [1, 1, 1])), axis=-1),
}


@pytest.mark.parametrize('name', sorted(SILENCE_CASES))
def test_no_nan_or_inf_for_silence(name):
  fn = SILENCE_CASES[name]
  for values in ([0.0, 0.0, 0.0, 0.0], [1e-30, 0.0, 1e-38, 1e-20],
                 [0.0, 1e-12, 0.5, 1.0]):
    x = tf.constant(values, tf.float32)
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = fn(x)
      loss = tf.reduce_sum(y)
    grad = tape.gradient(loss, x)
    assert np.all(np.isfinite(y.numpy())), (name, values, y.numpy())
    assert grad is not None
    assert np.all(np.isfinite(grad.numpy())), (name, values, grad.numpy())


def test_harmonic_conversions_silent_unvoiced_gradients_finite():
  """All-zero controls (silence, f0 = 0 Hz): finite values and gradients."""
  variables = [tf.Variable(tf.zeros(shape)) for shape in
               ([1, 2, 3], [1, 2, 3], [1, 2, 1], [1, 2, 1], [1, 2, 5])]
  sin_amps, sin_freqs, f0, harm_amp, harm_dist = variables
  with tf.GradientTape() as tape:
    outputs = list(core.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                               n_harmonics=5))
    outputs += list(core.harmonic_to_sinusoidal(harm_amp, harm_dist, f0))
    loss = sum(tf.reduce_sum(o) for o in outputs)
  for out in outputs:
    np.testing.assert_array_equal(out.numpy(), 0.0)
  for grad in tape.gradient(loss, variables):
    assert grad is not None and np.all(np.isfinite(grad.numpy()))


def test_frequencies_critical_bands_gradients_finite_for_huge_logits():
  logits = tf.constant(rng(40).normal(scale=1e6, size=(2, 3, 12)),
                       tf.float32)
  for fn in (core.frequencies_critical_bands, core.frequencies_softmax,
             core.frequencies_sigmoid):
    with tf.GradientTape() as tape:
      tape.watch(logits)
      loss = tf.reduce_sum(fn(logits, depth=3))
    assert np.all(np.isfinite(tape.gradient(loss, logits).numpy()))


def test_zero_input_values():
  assert float(core.power_to_db(0.0)) == -80.0
  assert float(core.power_to_db(0.0, use_tf=False)) == -80.0
  assert float(core.amplitude_to_db(0.0)) == -80.0
  assert float(core.hz_to_midi(0.0)) == 0.0
  np.testing.assert_allclose(float(core.safe_log(0.0)), np.log(1e-5),
                             rtol=1e-6)
  np.testing.assert_allclose(float(core.safe_divide(3.0, 0.0)), 3e7,
                             rtol=1e-6)


def test_exp_sigmoid_gradient_matches_finite_differences():
  x = np.linspace(-4.0, 4.0, 9)
  w = rng(24).normal(size=x.shape)
  grad = autodiff_grad(core.exp_sigmoid, x, w)
  numeric = numeric_grad(weighted_sum(core.exp_sigmoid, w), x, h=1e-2)
  np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)
  # Analytic: d/dx 2 s^c = 2 c s^c (1 - s), c = ln 10.
  s, c = np_sigmoid(x), np.log(10.0)
  np.testing.assert_allclose(grad, w * 2.0 * c * s**c * (1.0 - s),
                             rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize('n_timesteps,add_endpoint', [(12, True), (9, False),
                                                      (3, True)])
def test_resample_linear_gradient_matches_finite_differences(n_timesteps,
                                                             add_endpoint):
  x = rng(25).normal(size=(1, 5, 2))
  w = rng(26).normal(size=(1, n_timesteps, 2))
  fn = lambda t: core.resample(t, n_timesteps, add_endpoint=add_endpoint)
  grad = autodiff_grad(fn, x, w)
  numeric = numeric_grad(weighted_sum(fn, w), x, h=1e-1)
  np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)
  # Analytic: the transpose of the interpolation matrix applied to w.
  basis = np.eye(5)
  matrix = np.stack([np.interp(positions(5, n_timesteps, add_endpoint),
                               np.arange(5), basis[i]) for i in range(5)], 1)
  np.testing.assert_allclose(grad[0], matrix.T @ w[0], rtol=1e-5, atol=1e-6)


def test_safe_log_gradient():
  x = np32([0.05, 0.5, 1.0, 3.0, 20.0])
  w = np.ones_like(x)
  grad = autodiff_grad(core.safe_log, x, w)
  numeric = numeric_grad(weighted_sum(core.safe_log, w), x, h=1e-3)
  np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=2e-4)
  np.testing.assert_allclose(grad, 1.0 / x, rtol=1e-6)
  # Clamped inputs have a finite (zero) gradient.
  grad = autodiff_grad(core.safe_log, np32([0.0, -2.0]), np32([1.0, 1.0]))
  np.testing.assert_array_equal(grad, [0.0, 0.0])


# ----------------------------------------------------------------------------
# tf.function with unknown batch size, and XLA.
# ----------------------------------------------------------------------------
def _window_ref(x):
  return np_upsample_with_windows(x, 40, True)


GRAPH_CASES = {
    'resample_linear': (lambda x: core.resample(x, 40), [None, 8, 2],
                        lambda x: np_resample_linear(x, 40, True)),
    'resample_linear_no_endpoint': (
        lambda x: core.resample(x, 29, add_endpoint=False), [None, 8, 2],
        lambda x: np_resample_linear(x, 29, False)),
    'resample_cubic': (lambda x: core.resample(x, 40, method='cubic'),
                       [None, 8, 2],
                       lambda x: tf_legacy_resize(x, 40, 'bicubic', True)),
    'resample_window': (lambda x: core.resample(x, 40, method='window'),
                        [None, 8, 2], _window_ref),
    'exp_sigmoid': (core.exp_sigmoid, [None, None], np_exp_sigmoid),
    'frequencies_softmax': (
        lambda x: core.frequencies_softmax(x, depth=4), [None, None, 8],
        lambda x: np_frequencies_softmax(
            x.reshape(x.shape[0], x.shape[1], 2, 4), 20.0, 8000.0)),
}


@pytest.mark.parametrize('name', sorted(GRAPH_CASES))
def test_tf_function_unknown_batch(name):
  fn, shape, reference = GRAPH_CASES[name]
  graph_fn = tf.function(fn, input_signature=[tf.TensorSpec(shape,
                                                            tf.float32)])
  for batch in (1, 3):
    concrete = [batch if s is None else s for s in shape]
    x = rng(27 + batch).normal(size=concrete).astype(np.float32)
    np.testing.assert_allclose(graph_fn(x).numpy(), reference(x), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize('name', ['resample_linear', 'resample_window',
                                  'exp_sigmoid'])
def test_jit_compile(name):
  fn, shape, reference = GRAPH_CASES[name]
  xla_fn = tf.function(fn, jit_compile=True,
                       input_signature=[tf.TensorSpec(shape, tf.float32)])
  for batch in (2, 3):
    concrete = [batch if s is None else s for s in shape]
    x = rng(31 + batch).normal(size=concrete).astype(np.float32)
    np.testing.assert_allclose(xla_fn(x).numpy(), reference(x), rtol=1e-4,
                               atol=1e-5)
