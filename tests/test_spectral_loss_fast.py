"""SpectralLoss's fused magnitude terms against independent references.

The fused path (L1 or L2 magnitude and log-magnitude terms, no weights) has
a hand-written gradient. Its value is checked against a float64 numpy
multi-scale spectral loss written here, and its gradient against
TensorFlow's own gradient of a plain tf.signal.stft computation and against
finite differences of the numpy loss.
"""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import losses
from ddsp_tf.losses import spectral

EPS = 1e-5  # The floor of the log magnitudes (core.safe_log's eps).
SIZES = (512, 256, 64)
# 14: a hop of 4 that does not divide the frame, and a 16-point FFT. Its few
# bins are too coarse for a float64 reference of the log terms (float32 FFT
# rounding in its weakest bins moves them by ~1e-4), so it is compared with
# TensorFlow's float32 computation only.
TF_SIZES = SIZES + (14,)


def _numpy_stft_mag(audio, size):
  """|STFT| in float64: periodic Hann, hop round(size / 4), end padding."""
  hop = int(round(size / 4))
  fft_length = 1 << (size - 1).bit_length()
  n_frames = -(-audio.shape[-1] // hop)
  padded = np.zeros(audio.shape[:-1] + ((n_frames - 1) * hop + size,))
  padded[..., :audio.shape[-1]] = audio
  window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(size) / size)
  frames = np.stack([padded[..., i * hop:i * hop + size]
                     for i in range(n_frames)], axis=-2)
  return np.abs(np.fft.rfft(frames * window, n=fft_length, axis=-1))


def _numpy_loss(target, audio, sizes, loss_type, mag_weight, logmag_weight):
  """Sum over sizes of weighted mean |d| (L1) or d^2 (L2) of mags and logs."""
  reduce = np.abs if loss_type == 'L1' else np.square
  total = 0.0
  for size in sizes:
    target_mag = _numpy_stft_mag(np.asarray(target, np.float64), size)
    mag = _numpy_stft_mag(np.asarray(audio, np.float64), size)
    total += mag_weight * np.mean(reduce(target_mag - mag))
    log = lambda x: np.log(np.where(x <= 0.0, EPS, x))
    total += logmag_weight * np.mean(reduce(log(target_mag) - log(mag)))
  return total


def _plain_tf_loss(target, audio, sizes, loss_type, mag_weight,
                   logmag_weight):
  """The same loss from tf.signal.stft and tf.abs, for TF's gradient."""
  reduce = tf.abs if loss_type == 'L1' else tf.square
  total = 0.0
  for size in sizes:
    hop = int(round(size / 4))
    fft_length = 1 << (size - 1).bit_length()
    target_mag, mag = [
        tf.abs(tf.signal.stft(x, size, hop, fft_length, pad_end=True))
        for x in (target, audio)]
    log = lambda x: tf.math.log(tf.where(x <= 0.0, EPS, x))
    total += mag_weight * tf.reduce_mean(reduce(target_mag - mag))
    total += logmag_weight * tf.reduce_mean(reduce(log(target_mag) -
                                                   log(mag)))
  return total


def _signals(n_samples=3000, seed=0):
  """A harmonic tone with noise as target, a detuned one as audio."""
  rng = np.random.default_rng(seed)
  t = np.arange(n_samples) / 16000.0
  target = np.stack([
      sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
      for f0 in (220.0, 330.0)]) + 0.05 * rng.standard_normal((2, n_samples))
  audio = 0.8 * np.roll(target, 7, axis=-1) + 0.05 * rng.standard_normal(
      (2, n_samples))
  return target.astype(np.float32), audio.astype(np.float32)


CONFIGS = [('L1', 1.0, 1.0), ('L2', 0.5, 2.0), ('L1', 0.0, 1.0),
           ('L1', 1.0, 0.0)]


@pytest.mark.parametrize('loss_type,mag_weight,logmag_weight', CONFIGS)
def test_fused_value_equals_numpy_multiscale_loss(loss_type, mag_weight,
                                                  logmag_weight):
  target, audio = _signals()
  loss = losses.SpectralLoss(fft_sizes=SIZES, loss_type=loss_type,
                             mag_weight=mag_weight,
                             logmag_weight=logmag_weight)
  assert loss._fused(None, tf.constant(audio))  # pylint: disable=protected-access
  expected = _numpy_loss(target, audio, SIZES, loss_type, mag_weight,
                         logmag_weight)
  np.testing.assert_allclose(float(loss(target, audio)), expected, rtol=1e-5)


@pytest.mark.parametrize('loss_type,mag_weight,logmag_weight,xla', [
    CONFIGS[0] + (False,), CONFIGS[1] + (False,), CONFIGS[0] + (True,)])
def test_fused_gradient_equals_tf_stft_gradient(loss_type, mag_weight,
                                                logmag_weight, xla,
                                                monkeypatch):
  if xla:  # The XLA functions that large inputs take.
    monkeypatch.setattr(spectral, '_XLA_MIN_SAMPLES', 0)
  target, audio = [tf.constant(x) for x in _signals()]
  # Exact zeros: silent frames (log floor, zero magnitude gradient).
  target = tf.concat([target[:, :2000], tf.zeros([2, 1000])], axis=1)
  loss = losses.SpectralLoss(fft_sizes=TF_SIZES, loss_type=loss_type,
                             mag_weight=mag_weight,
                             logmag_weight=logmag_weight)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([target, audio])
    fused = loss(target, audio)
    plain = _plain_tf_loss(target, audio, TF_SIZES, loss_type, mag_weight,
                           logmag_weight)
  np.testing.assert_allclose(float(fused), float(plain), rtol=1e-5)
  for name, x in (('audio', audio), ('target', target)):
    expected = tape.gradient(plain, x).numpy()
    got = tape.gradient(fused, x).numpy()
    error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    assert error < 1e-5, (name, error)


def test_fused_gradient_equals_finite_differences():
  target, audio = _signals(n_samples=1000)
  sizes = (256, 64)
  loss = losses.SpectralLoss(fft_sizes=sizes, loss_type='L2',
                             logmag_weight=1.0)
  x = tf.constant(audio)
  with tf.GradientTape() as tape:
    tape.watch(x)
    value = loss(target, x)
  gradient = tape.gradient(value, x).numpy()
  rng = np.random.default_rng(3)
  step = 1e-6  # The log terms are strongly curved: keep the step small.
  for b, i in zip(rng.integers(0, 2, 6), rng.integers(0, 1000, 6)):
    plus, minus = audio.astype(np.float64), audio.astype(np.float64)
    plus[b, i] += step
    minus[b, i] -= step
    numeric = (_numpy_loss(target, plus, sizes, 'L2', 1.0, 1.0) -
               _numpy_loss(target, minus, sizes, 'L2', 1.0, 1.0)) / (2 * step)
    np.testing.assert_allclose(gradient[b, i], numeric, rtol=1e-3,
                               atol=1e-4 * np.max(np.abs(gradient)))


def test_fused_accepts_every_audio_rank_and_short_audio():
  target, audio = _signals(n_samples=300)  # Shorter than a 512 frame.
  loss = losses.SpectralLoss(fft_sizes=SIZES, logmag_weight=1.0)
  expected = _numpy_loss(target, audio, SIZES, 'L1', 1.0, 1.0)
  np.testing.assert_allclose(float(loss(target, audio)), expected, rtol=1e-5)
  for shape in ((300,), (1, 300, 1)):
    x = tf.constant(audio[0].reshape(shape))
    with tf.GradientTape() as tape:
      tape.watch(x)
      value = loss(target[0].reshape(shape), x)
    np.testing.assert_allclose(
        float(value), _numpy_loss(target[:1], audio[:1], SIZES, 'L1', 1.0,
                                  1.0), rtol=1e-5)
    assert tape.gradient(value, x).shape == shape


def test_fused_equals_term_by_term_inside_xla():
  target, audio = [tf.constant(x) for x in _signals(n_samples=2000)]
  fused = losses.SpectralLoss(fft_sizes=(256, 14), logmag_weight=1.0)

  @tf.function(jit_compile=True)
  def value_and_gradient(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      value = fused(target, x)
    return value, tape.gradient(value, x)

  value, gradient = value_and_gradient(audio)
  with tf.GradientTape() as tape:
    tape.watch(audio)
    plain = _plain_tf_loss(target, audio, (256, 14), 'L1', 1.0, 1.0)
  expected = tape.gradient(plain, audio).numpy()
  np.testing.assert_allclose(float(value), float(plain), rtol=1e-5)
  assert (np.max(np.abs(gradient.numpy() - expected)) <
          1e-5 * np.max(np.abs(expected)))


@pytest.mark.parametrize('kwargs,weights', [
    (dict(loss_type='COSINE'), None),
    (dict(delta_time_weight=1.0), None),
    (dict(cumsum_freq_weight=1.0), None),
    (dict(), tf.ones([2, 1, 1])),
])
def test_other_terms_and_weights_take_the_term_by_term_path(kwargs, weights):
  loss = losses.SpectralLoss(fft_sizes=(64,), **kwargs)
  assert not loss._fused(weights, tf.zeros([2, 100]))  # pylint: disable=protected-access
