"""Tests for ddsp_tf.losses.

References are analytic or written here in numpy/scipy (including a numpy
STFT that does not use spectral_ops), never the module's own earlier output.
"""

import os

import gin
import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import losses
from ddsp_tf import synths

SAMPLE_RATE = 16000


def _sine(freq_hz, n_samples=8000, amplitude=1.0, batch=1):
  t = np.arange(n_samples) / SAMPLE_RATE
  x = amplitude * np.sin(2.0 * np.pi * freq_hz * t)
  return np.tile(x[np.newaxis], (batch, 1)).astype(np.float32)


def _noise(shape, seed):
  return np.random.default_rng(seed).normal(0.0, 0.3, shape).astype(np.float32)


# ----------------------------------------------------------------------------
# numpy references.
# ----------------------------------------------------------------------------
def _np_mag(audio, size, overlap=0.75):
  """|STFT|: periodic Hann, hop size*(1-overlap), end padding, fft = size."""
  audio = np.asarray(audio, np.float64)
  hop = int(size * (1.0 - overlap))
  n = audio.shape[-1]
  n_frames = -(-n // hop)
  padded = np.zeros(audio.shape[:-1] + ((n_frames - 1) * hop + size,))
  padded[..., :n] = audio
  window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)
  frames = np.stack([padded[..., i * hop:i * hop + size]
                     for i in range(n_frames)], axis=-2)
  return np.abs(np.fft.rfft(frames * window, n=size, axis=-1))


def _np_mean_difference(target, value, loss_type, weights=None):
  target = np.asarray(target, np.float64)
  value = np.asarray(value, np.float64)
  w = 1.0 if weights is None else np.asarray(weights, np.float64)
  if loss_type == 'L1':
    return np.mean(np.abs(target - value) * w)
  if loss_type == 'L2':
    return np.mean((target - value)**2 * w)
  # Cosine distance per vector, times the vector's weights, averaged.
  t_unit = target / np.linalg.norm(target, axis=-1, keepdims=True)
  v_unit = value / np.linalg.norm(value, axis=-1, keepdims=True)
  distance = 1.0 - np.sum(t_unit * v_unit, axis=-1, keepdims=True)
  return np.mean(distance * w)


def _np_safe_log(x):
  return np.log(np.where(x <= 0.0, 1e-5, x))


def _np_gaussian_mixture_log_prob(x, weights, locs, scale):
  """log sum_k w_k N(x; loc_k, scale) for scalar x and 1-D weights/locs."""
  weights = np.asarray(weights, np.float64) / np.sum(weights)
  densities = (np.exp(-0.5 * ((x - np.asarray(locs, np.float64)) / scale)**2) /
               (scale * np.sqrt(2.0 * np.pi)))
  return np.log(np.sum(weights * densities))


def _np_midi(hz):
  return 69.0 + 12.0 * np.log2(np.asarray(hz, np.float64) / 440.0)


# ----------------------------------------------------------------------------
# mean_difference.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('loss_type', ['L1', 'l2', 'Cosine'])
@pytest.mark.parametrize('weighted', [False, True])
def test_mean_difference_matches_numpy(loss_type, weighted):
  rng = np.random.default_rng(1)
  target = rng.normal(size=(3, 5, 7)).astype(np.float32)
  value = rng.normal(size=(3, 5, 7)).astype(np.float32)
  weights = rng.uniform(0.0, 2.0, (3, 5, 1)).astype(np.float32)
  weights = weights if weighted else None
  expected = _np_mean_difference(target, value, loss_type.upper(), weights)
  result = losses.mean_difference(target, value, loss_type, weights)
  np.testing.assert_allclose(float(result), expected, rtol=1e-5)


def test_mean_difference_per_element_weights_l1():
  rng = np.random.default_rng(2)
  target, value = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
  weights = rng.uniform(0.0, 1.0, (2, 4, 3))
  expected = np.mean(np.abs(target - value) * weights)
  np.testing.assert_allclose(
      float(losses.mean_difference(target, value, 'L1', weights)), expected,
      rtol=1e-5)


@pytest.mark.parametrize('loss_type', ['L1', 'L2', 'COSINE'])
def test_mean_difference_zero_for_identical_and_symmetric(loss_type):
  rng = np.random.default_rng(3)
  a = rng.normal(size=(4, 6)).astype(np.float32)
  b = rng.normal(size=(4, 6)).astype(np.float32)
  assert float(losses.mean_difference(a, a, loss_type)) == pytest.approx(
      0.0, abs=1e-6)
  np.testing.assert_allclose(float(losses.mean_difference(a, b, loss_type)),
                             float(losses.mean_difference(b, a, loss_type)),
                             rtol=1e-6)


def test_cosine_ignores_scale_unlike_l1():
  # By design COSINE compares directions only: a scaled copy costs nothing,
  # and opposite vectors cost 2; L1 does see the scale.
  a = np.array([[1.0, 2.0, -3.0]], np.float32)
  assert float(losses.mean_difference(a, 3.0 * a, 'COSINE')) == pytest.approx(
      0.0, abs=1e-6)
  assert float(losses.mean_difference(a, -a, 'COSINE')) == pytest.approx(2.0)
  assert float(losses.mean_difference(a, 3.0 * a, 'L1')) == pytest.approx(4.0)


def test_cosine_zero_vector_is_finite():
  a = np.zeros((2, 3), np.float32)
  b = np.ones((2, 3), np.float32)
  x = tf.Variable(a)
  with tf.GradientTape() as tape:
    loss = losses.mean_difference(x, b, 'COSINE')
  assert float(loss) == pytest.approx(1.0)
  assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))


@pytest.mark.parametrize('bad', ['L3', 'huber', '', None, 1])
def test_mean_difference_bad_loss_type(bad):
  with pytest.raises(ValueError, match=repr(bad).replace('(', r'\(')):
    losses.mean_difference(np.ones(3), np.ones(3), bad)


def test_mean_difference_shape_mismatch_names_shapes():
  with pytest.raises(ValueError, match=r'\[2, 3\].*\[2, 4\]'):
    losses.mean_difference(np.ones((2, 3)), np.ones((2, 4)))
  with pytest.raises(ValueError, match=r'\[2, 3\].*\[2, 3, 1\]'):
    losses.mean_difference(np.ones((2, 3)), np.ones((2, 3, 1)))
  with pytest.raises(ValueError, match='weights'):
    losses.mean_difference(np.ones((2, 3)), np.ones((2, 3)),
                           weights=np.ones((4,)))


def test_amp_loss_and_freq_loss():
  rng = np.random.default_rng(4)
  amp = rng.uniform(0.0, 1.0, (2, 5, 3))
  amp_target = rng.uniform(0.0, 1.0, (2, 5, 3))
  amp[0, 0, 0] = 0.0  # Floored at amin.
  expected = np.mean(np.abs(np.log10(np.maximum(amp, 1e-5)) -
                            np.log10(np.maximum(amp_target, 1e-5))))
  np.testing.assert_allclose(
      float(losses.amp_loss(amp, amp_target, log=True)), expected, rtol=1e-5)
  np.testing.assert_allclose(float(losses.amp_loss(amp, amp_target, 'L2')),
                             np.mean((amp - amp_target)**2), rtol=1e-5)
  # An octave is 12 semitones whatever the frequency.
  f = np.array([[[110.0], [440.0], [1000.0]]])
  assert float(losses.freq_loss(f, 2.0 * f)) == pytest.approx(12.0, rel=1e-5)
  assert float(losses.freq_loss(f, f * 2**(1 / 12), 'L2')) == pytest.approx(
      1.0, rel=1e-4)


# ----------------------------------------------------------------------------
# SpectralLoss.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('loss_type', ['L1', 'L2'])
def test_spectral_loss_matches_numpy_single_size(loss_type):
  size = 256
  target, audio = _noise((2, 1000), 5), _noise((2, 1000), 6)
  weights = dict(mag_weight=1.0, delta_time_weight=0.5, delta_freq_weight=0.25,
                 cumsum_freq_weight=0.125, logmag_weight=2.0)
  loss = losses.SpectralLoss(fft_sizes=(size,), loss_type=loss_type, **weights)

  t_mag, v_mag = _np_mag(target, size), _np_mag(audio, size)
  assert t_mag.shape == (2, 16, 129)  # ceil(1000 / 64) frames.
  md = lambda a, b: _np_mean_difference(a, b, loss_type)
  expected = (
      1.0 * md(t_mag, v_mag) +
      0.5 * md(np.diff(t_mag, axis=1), np.diff(v_mag, axis=1)) +
      0.25 * md(np.diff(t_mag, axis=2), np.diff(v_mag, axis=2)) +
      0.125 * md(np.cumsum(t_mag, axis=2), np.cumsum(v_mag, axis=2)) +
      2.0 * md(_np_safe_log(t_mag), _np_safe_log(v_mag)))
  np.testing.assert_allclose(float(loss(target, audio)), expected, rtol=2e-4)


def test_spectral_loss_sums_scales():
  target, audio = _noise((1, 2000), 7), _noise((1, 2000), 8)
  total = losses.SpectralLoss(fft_sizes=(512, 128))(target, audio)
  expected = sum(np.mean(np.abs(_np_mag(target, s) - _np_mag(audio, s)))
                 for s in (512, 128))
  np.testing.assert_allclose(float(total), expected, rtol=2e-4)


_ALL_TERMS = dict(mag_weight=1.0, delta_time_weight=1.0, delta_freq_weight=1.0,
                  cumsum_freq_weight=1.0, logmag_weight=1.0,
                  loudness_weight=1.0)


def test_spectral_loss_zero_for_identical_and_symmetric():
  loss = losses.SpectralLoss(**_ALL_TERMS)
  a, b = _noise((2, 4000), 9), _sine(300.0, 4000, 0.5, batch=2)
  assert float(loss(a, a)) == 0.0
  ab, ba = float(loss(a, b)), float(loss(b, a))
  assert ab > 0.0
  np.testing.assert_allclose(ab, ba, rtol=1e-6)
  assert np.isfinite(float(loss(a, np.zeros_like(a))))


def test_spectral_loss_grows_with_detuning():
  target = _sine(440.0)
  for kwargs in (dict(), dict(logmag_weight=1.0)):
    loss = losses.SpectralLoss(**kwargs)
    values = [float(loss(target, _sine(440.0 * 2**(cents / 1200.0))))
              for cents in (0, 5, 10, 20, 40, 80, 160, 320)]
    assert values[0] == 0.0
    assert np.all(np.diff(values) > 0.0), values


def test_spectral_loss_gain_error_is_analytic():
  # |STFT| is linear in the gain g, so the L1 magnitude loss against g*x is
  # |1 - g| times the loss against silence, and the log-magnitude loss is
  # |log g| for every bin of every scale. (The log test uses broadband noise:
  # a pure sine leaves bins at float32 round-off level, whose logs are
  # dominated by rounding.)
  target = _sine(440.0, amplitude=0.5)
  noise = _noise((1, 8000), 28)
  sizes = (2048, 512, 64)
  mag_loss = losses.SpectralLoss(fft_sizes=sizes)
  log_loss = losses.SpectralLoss(fft_sizes=sizes, mag_weight=0.0,
                                 logmag_weight=1.0)
  silence = float(mag_loss(target, np.zeros_like(target)))
  gains = (1.0, 0.9, 0.7, 0.5, 0.25)
  mags = [float(mag_loss(target, g * target)) for g in gains]
  logs = [float(log_loss(noise, g * noise)) for g in gains]
  np.testing.assert_allclose(mags, [abs(1 - g) * silence for g in gains],
                             rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(logs, [len(sizes) * abs(np.log(g))
                                    for g in gains], rtol=1e-3, atol=1e-5)
  assert np.all(np.diff(mags) > 0.0) and np.all(np.diff(logs) > 0.0)


def test_spectral_loss_loudness_term():
  # A 6.02 dB gain difference shifts every frame's loudness by 20*log10(2).
  target = _sine(1000.0, amplitude=0.5)
  loss = losses.SpectralLoss(mag_weight=0.0, loudness_weight=1.0)
  assert float(loss(target, 0.5 * target)) == pytest.approx(
      20.0 * np.log10(2.0), rel=1e-3)


def test_spectral_loss_per_example_weights():
  target, audio = _noise((2, 1000), 10), _noise((2, 1000), 11)
  loss = losses.SpectralLoss(fft_sizes=(256, 64), logmag_weight=1.0)
  weights = np.array([1.0, 0.0], np.float32).reshape(2, 1, 1)
  first_only = float(loss(target[:1], audio[:1]))
  np.testing.assert_allclose(float(loss(target, audio, weights=weights)),
                             0.5 * first_only, rtol=1e-5)


def test_spectral_loss_tf_function_and_xla_match_eager():
  loss = losses.SpectralLoss(fft_sizes=(1024, 256, 64), **_ALL_TERMS)
  target, audio = _noise((2, 4000), 12), _noise((2, 4000), 13)
  eager = float(loss(target, audio))

  @tf.function
  def graph(a, b):
    return loss(a, b)

  @tf.function(jit_compile=True)
  def xla(a, b):
    return loss(a, b)

  np.testing.assert_allclose(float(graph(target, audio)), eager, rtol=1e-5)
  np.testing.assert_allclose(float(xla(target, audio)), eager, rtol=1e-4)


def test_spectral_loss_bad_input():
  loss = losses.SpectralLoss()
  with pytest.raises(ValueError, match=r'\[2, 1000\].*\[2, 999\]'):
    loss(np.zeros((2, 1000)), np.zeros((2, 999)))
  with pytest.raises(ValueError, match=r'\[1, 2, 3, 4\]'):
    loss(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 4)))
  with pytest.raises(ValueError, match="'L3'"):
    losses.SpectralLoss(loss_type='L3')
  with pytest.raises(ValueError, match='mag_weight'):
    losses.SpectralLoss(mag_weight=-1.0)
  with pytest.raises(ValueError, match=r'fft_sizes\[1\]'):
    losses.SpectralLoss(fft_sizes=(256, 2))


def test_spectral_loss_drives_harmonic_synth_to_target():
  n_samples, n_frames, n_harmonics = 4000, 8, 4
  synth = synths.Harmonic(n_samples=n_samples, sample_rate=SAMPLE_RATE)
  rng = np.random.default_rng(0)
  f0_hz = np.full((1, n_frames, 1), 220.0, np.float32)
  hidden_amps = rng.uniform(-2.0, 0.0, (1, n_frames, 1)).astype(np.float32)
  hidden_dist = rng.normal(0.0, 2.0, (1, n_frames, n_harmonics)).astype(
      np.float32)
  target = synth(hidden_amps, hidden_dist, f0_hz)

  amps = tf.Variable(np.full((1, n_frames, 1), -1.0, np.float32))
  dist = tf.Variable(np.zeros((1, n_frames, n_harmonics), np.float32))
  loss_fn = losses.SpectralLoss(fft_sizes=(1024, 256, 64), logmag_weight=1.0)
  optimizer = keras.optimizers.Adam(learning_rate=0.05)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = loss_fn(target, synth(amps, dist, f0_hz))
    gradients = tape.gradient(loss, [amps, dist])
    optimizer.apply_gradients(zip(gradients, [amps, dist]))
    return loss

  history = [float(step()) for _ in range(160)]
  assert history[-1] <= 0.1 * history[0], (history[0], history[-1])
  # The overall amplitudes themselves are recovered.
  np.testing.assert_allclose(core.exp_sigmoid(amps).numpy(),
                             core.exp_sigmoid(hidden_amps).numpy(),
                             rtol=0.1)


# ----------------------------------------------------------------------------
# Other Keras losses.
# ----------------------------------------------------------------------------
def test_param_loss():
  rng = np.random.default_rng(14)
  pred, target = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
  weights = rng.uniform(size=(2, 5, 1))
  loss = losses.ParamLoss(weight=3.0, loss_type='L2')
  # Default names are stable (no Keras '_1' suffixes): they key the losses.
  assert loss.name == losses.ParamLoss().name == 'param_loss'
  assert losses.TWMLoss().name == 'twm_loss'
  assert losses.KDEConsistencyLoss().name == 'kde_consistency_loss'
  assert float(loss(pred, pred)) == 0.0
  np.testing.assert_allclose(float(loss(pred, target, weights)),
                             3.0 * np.mean((pred - target)**2 * weights),
                             rtol=1e-5)
  np.testing.assert_allclose(float(loss(pred, target)),
                             float(loss(target, pred)), rtol=1e-6)
  assert list(loss.get_losses_dict(pred, target)) == ['param_loss']
  with pytest.raises(ValueError, match=r'\[2, 5, 3\].*\[2, 5\]'):
    loss(pred, target[..., 0])


class _Projection(keras.layers.Layer):
  """A fixed linear map of audio frames, standing in for a pretrained net."""

  def __init__(self, matrix, **kwargs):
    super().__init__(**kwargs)
    self.matrix = np.asarray(matrix, np.float32)

  def call(self, audio):
    frames = tf.reshape(audio, [tf.shape(audio)[0], -1, self.matrix.shape[0]])
    return tf.einsum('btf,fd->btd', frames, self.matrix)


def test_embedding_loss_uses_the_model():
  rng = np.random.default_rng(15)
  matrix = rng.normal(size=(8, 3))
  target, audio = rng.normal(size=(2, 32)), rng.normal(size=(2, 32))
  embed = lambda x: x.reshape(2, 4, 8) @ matrix
  loss = losses.EmbeddingLoss(weight=2.0, loss_type='L1',
                              pretrained_model=_Projection(matrix))
  np.testing.assert_allclose(
      float(loss(target, audio)),
      2.0 * np.mean(np.abs(embed(target) - embed(audio))), rtol=1e-4)
  assert float(loss(target, target)) == 0.0
  assert float(losses.EmbeddingLoss(weight=0.0)(target, audio)) == 0.0
  with pytest.raises(ValueError, match='pretrained_model'):
    losses.EmbeddingLoss()(target, audio)


def test_filtered_noise_consistency_loss():
  rng = np.random.default_rng(16)
  a, b = rng.uniform(size=(2, 10, 5)), rng.uniform(size=(2, 10, 5))
  loss = losses.FilteredNoiseConsistencyLoss(weight=0.5)
  assert float(loss(a, a)) == 0.0
  np.testing.assert_allclose(float(loss(a, b)), 0.5 * np.mean(np.abs(a - b)),
                             rtol=1e-5)
  np.testing.assert_allclose(float(loss(a, b)), float(loss(b, a)), rtol=1e-6)


def test_harmonic_consistency_loss():
  rng = np.random.default_rng(17)
  amp = rng.uniform(0.1, 1.0, (1, 4, 1))
  amp_target = amp.copy()
  amp_target[0, :2] = 0.0  # Silent target frames: dist and f0 are masked.
  dist, dist_target = rng.uniform(size=(1, 4, 3)), rng.uniform(size=(1, 4, 3))
  f0 = np.full((1, 4, 1), 220.0)
  f0_target = np.full((1, 4, 1), 440.0)
  loss = losses.HarmonicConsistencyLoss(amp_weight=1.0, dist_weight=2.0,
                                        f0_weight=3.0)
  result = loss(amp, amp_target, dist, dist_target, f0, f0_target)
  assert sorted(result) == ['f0_hz_loss', 'harm_amp_loss', 'harm_dist_loss']
  mask = np.array([0.0, 0.0, 1.0, 1.0]).reshape(1, 4, 1)
  np.testing.assert_allclose(float(result['harm_amp_loss']),
                             np.mean(np.abs(amp - amp_target)), rtol=1e-5)
  np.testing.assert_allclose(float(result['harm_dist_loss']),
                             2.0 * np.mean(np.abs(dist - dist_target) * mask),
                             rtol=1e-5)
  # An octave (12 semitones) on half of the frames.
  np.testing.assert_allclose(float(result['f0_hz_loss']), 3.0 * 12.0 * 0.5,
                             rtol=1e-5)
  same = loss(amp, amp, dist, dist, f0, f0)
  assert all(float(v) == 0.0 for v in same.values())
  # A loss returning a dict contributes its keys directly.
  assert sorted(loss.get_losses_dict(amp, amp, dist, dist, f0, f0)) == sorted(
      result)


# ----------------------------------------------------------------------------
# Wasserstein distance and sinusoidal consistency losses.
# ----------------------------------------------------------------------------
def test_wasserstein_distance_matches_scipy():
  rng = np.random.default_rng(18)
  u = rng.normal(0.0, 2.0, (3, 4, 7))
  v = rng.normal(1.0, 1.0, (3, 4, 5))
  u_w = rng.uniform(0.0, 3.0, (3, 4, 7))  # Unnormalised on purpose.
  v_w = rng.uniform(0.0, 3.0, (3, 4, 5))
  w1 = losses.wasserstein_distance(u, v, u_w, v_w, p=1.0,
                                  normalize_weights=True).numpy()
  w2 = losses.wasserstein_distance(u, v, u_w, v_w, p=2.0,
                                  normalize_weights=True).numpy()
  unweighted = losses.wasserstein_distance(u, v).numpy()
  assert w1.shape == (3, 4)
  for i in range(3):
    for j in range(4):
      args = (u[i, j], v[i, j], u_w[i, j], v_w[i, j])
      np.testing.assert_allclose(
          w1[i, j], scipy.stats.wasserstein_distance(*args), rtol=1e-4)
      # scipy's energy distance is sqrt(2) times the L2 distance of the CDFs.
      np.testing.assert_allclose(
          w2[i, j], scipy.stats.energy_distance(*args) / np.sqrt(2.0),
          rtol=1e-4)
      np.testing.assert_allclose(
          unweighted[i, j], scipy.stats.wasserstein_distance(u[i, j], v[i, j]),
          rtol=1e-4)


def _np_cumulative_weight_distance(u, v, u_w, v_w, p):
  """(integral |W_u(x) - W_v(x)|**p dx)**(1/p), W the cumulative weights."""
  merged = np.sort(np.concatenate([u, v]))
  total = 0.0
  for left, right in zip(merged[:-1], merged[1:]):
    w_u = u_w[u <= left].sum()
    w_v = v_w[v <= left].sum()
    total += (right - left) * abs(w_u - w_v)**p
  return total**(1.0 / p)


def test_wasserstein_distance_default_keeps_the_weights_unnormalised():
  """As magenta/ddsp: the CDFs are the weights' running sums."""
  rng = np.random.default_rng(17)
  u, v = rng.normal(0.0, 2.0, (2, 6)), rng.normal(1.0, 1.0, (2, 4))
  u_w, v_w = rng.uniform(0.0, 3.0, (2, 6)), rng.uniform(0.0, 3.0, (2, 4))
  for p in (1.0, 2.0):
    distance = losses.wasserstein_distance(u, v, u_w, v_w, p=p).numpy()
    for i in range(2):
      np.testing.assert_allclose(
          distance[i],
          _np_cumulative_weight_distance(u[i], v[i], u_w[i], v_w[i], p),
          rtol=1e-4)


def test_wasserstein_distance_gradients_are_finite():
  u = tf.Variable([[0.0, 1.0, 2.0]])
  w = tf.Variable([[1.0, 2.0, 3.0]])
  with tf.GradientTape() as tape:
    d = tf.reduce_sum(losses.wasserstein_distance(u, u, w, w, p=2.0) +
                      losses.wasserstein_distance(u, u + 1.0, w, w))
  grads = tape.gradient(d, [u, w])
  # Shifting by 1 moves all the (unnormalised) mass, 6, by 1.
  assert float(d) == pytest.approx(6.0)
  assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_wasserstein_consistency_loss():
  rng = np.random.default_rng(19)
  amps = rng.uniform(0.1, 1.0, (2, 3, 4))
  freqs = rng.uniform(100.0, 1000.0, (2, 3, 4))
  loss = losses.WassersteinConsistencyLoss(weight=2.0)
  assert float(loss(amps, freqs, amps, freqs)) == 0.0
  other = rng.uniform(100.0, 1000.0, (2, 3, 4))
  np.testing.assert_allclose(float(loss(amps, freqs, amps, other)),
                             float(loss(amps, other, amps, freqs)), rtol=1e-5)
  # One sinusoid each: the distance is the interval between them.
  one = np.ones((1, 1, 1))
  f_a, f_b = 440.0 * one, 660.0 * one
  midi_gap = _np_midi(660.0) - _np_midi(440.0)
  assert float(loss(one, f_a, one, f_b)) == pytest.approx(2.0 * midi_gap,
                                                          rel=1e-5)
  in_hz = losses.WassersteinConsistencyLoss(midi=False)
  assert float(in_hz(one, f_a, one, f_b)) == pytest.approx(220.0, rel=1e-5)


def test_kde_consistency_loss_nll_matches_numpy():
  rng = np.random.default_rng(20)
  amps_a, freqs_a = rng.uniform(0.1, 1, (1, 2, 3)), rng.uniform(
      200, 800, (1, 2, 3))
  amps_b, freqs_b = rng.uniform(0.1, 1, (1, 2, 4)), rng.uniform(
      200, 800, (1, 2, 4))
  loss = losses.KDEConsistencyLoss(scale_a=0.3, scale_b=0.7)
  nll = loss.nll(amps_a, freqs_a, amps_b, freqs_b, 0.7).numpy()
  expected = np.zeros((1, 2))
  for t in range(2):
    weights = amps_a[0, t] / amps_a[0, t].sum()
    for i in range(3):
      expected[0, t] -= weights[i] * _np_gaussian_mixture_log_prob(
          _np_midi(freqs_a[0, t, i]), amps_b[0, t], _np_midi(freqs_b[0, t]),
          0.7)
  # The weighted NLLs are averaged over the 3 source sinusoids (the
  # original's reduction).
  expected /= 3
  np.testing.assert_allclose(nll, expected, rtol=1e-4)

  nll_b = loss.nll(amps_b, freqs_b, amps_a, freqs_a, 0.3)
  mean_amp = np.mean(np.abs(amps_a.mean(-1) - amps_b.mean(-1)))
  np.testing.assert_allclose(
      float(loss(amps_a, freqs_a, amps_b, freqs_b)),
      expected.mean() + float(tf.reduce_mean(nll_b)) + mean_amp, rtol=1e-4)


def test_kde_consistency_loss_grows_with_detuning():
  # A likelihood, not a distance: identical sets do not give 0, but the loss
  # is smallest there and grows as set b is detuned.
  amps = np.array([[[1.0, 0.5, 0.25]]])
  freqs = np.array([[[220.0, 440.0, 660.0]]])
  loss = losses.KDEConsistencyLoss()
  values = [float(loss(amps, freqs, amps, freqs * 2**(c / 1200)))
            for c in (0, 5, 10, 20, 40)]
  assert np.all(np.diff(values) > 0.0), values


def test_twm_loss_picks_the_fundamental():
  f0 = 200.0
  freqs = (f0 * np.arange(1, 7)).reshape(1, 1, 6)
  amps = np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.3]).reshape(1, 1, 6)
  # Sub- and super-harmonic candidates and detuned ones.
  candidates = np.array([f0 / 3, f0 / 2, 0.9 * f0, f0, 1.1 * f0, 1.5 * f0,
                         2 * f0]).reshape(1, 1, 7)
  twm = losses.TWMLoss()
  assert float(twm.predict_f0(candidates, freqs, amps)[0, 0, 0]) == (
      pytest.approx(f0))
  # The loss is lower when the true f0 is among the candidates.
  wrong = np.array([f0 / 2, 1.5 * f0, 2 * f0]).reshape(1, 1, 3)
  right = np.array([f0 / 2, f0, 2 * f0]).reshape(1, 1, 3)
  assert float(twm(right, freqs, amps)) < float(twm(wrong, freqs, amps))


def test_twm_loss_terms_match_numpy():
  twm = losses.TWMLoss(n_harmonic_points=4, n_harmonic_gaussians=5,
                       sample_rate=4000)
  candidates = np.array([[[300.0, 500.0]]])
  freqs = np.array([[[310.0, 590.0, 920.0]]])
  amps = np.array([[[1.0, 0.5, 0.25]]])
  harmonics = twm.get_candidate_harmonics(candidates).numpy()
  np.testing.assert_allclose(
      harmonics[0, 0], _np_midi(np.outer([300.0, 500.0], np.arange(1, 5))),
      rtol=1e-5)
  sinusoids_loss, harmonics_loss = twm.get_loss_tensors(candidates, freqs,
                                                        amps)
  prior = np.linspace(1.0, 0.25, 4)
  for c, f0 in enumerate([300.0, 500.0]):
    nll_s = [-_np_gaussian_mixture_log_prob(f / f0, np.ones(5),
                                            np.arange(1, 6), 0.2)
             for f in freqs[0, 0]]
    np.testing.assert_allclose(
        sinusoids_loss[0, 0, c], np.sum(np.array(nll_s) * amps[0, 0]) /
        amps.sum(), rtol=1e-4)
    harm_hz = f0 * np.arange(1, 5)
    below = harm_hz < 2000.0  # Nyquist of 4 kHz.
    nll_h = np.array([-_np_gaussian_mixture_log_prob(
        _np_midi(h), amps[0, 0], _np_midi(freqs[0, 0]), 0.5)
                      for h in harm_hz])
    expected = np.sum(nll_h * prior * below) / below.sum()
    np.testing.assert_allclose(harmonics_loss[0, 0, c], expected, rtol=1e-4)


def test_sinusoid_losses_in_tf_function():
  rng = np.random.default_rng(21)
  amps = tf.constant(rng.uniform(0.1, 1, (2, 3, 4)), tf.float32)
  freqs = tf.constant(rng.uniform(100, 900, (2, 3, 4)), tf.float32)
  candidates = tf.constant(rng.uniform(100, 300, (2, 3, 5)), tf.float32)
  wass = losses.WassersteinConsistencyLoss()
  kde = losses.KDEConsistencyLoss()
  twm = losses.TWMLoss()

  @tf.function
  def run(a, f, c):
    return wass(a, f, a, f * 1.1), kde(a, f, a, f * 1.1), twm(c, f, a)

  for graph, layer, args in zip(run(amps, freqs, candidates),
                                (wass, kde, twm),
                                ((amps, freqs, amps, freqs * 1.1),
                                 (amps, freqs, amps, freqs * 1.1),
                                 (candidates, freqs, amps))):
    np.testing.assert_allclose(float(graph), float(layer(*args)), rtol=1e-5)


def test_sinusoid_losses_bad_shapes():
  ok = np.ones((1, 2, 3))
  with pytest.raises(ValueError, match=r'\[1, 2, 3\].*\[1, 2, 4\]'):
    losses.WassersteinConsistencyLoss()(ok, np.ones((1, 2, 4)), ok, ok)
  with pytest.raises(ValueError, match='rank 3'):
    losses.KDEConsistencyLoss()(ok[0], ok[0], ok, ok)
  with pytest.raises(ValueError, match='f0_candidates'):
    losses.TWMLoss()(np.ones((1, 2)), ok, ok)


# ----------------------------------------------------------------------------
# HmmTranscriber.
# ----------------------------------------------------------------------------
def test_hmm_transcriber_decodes_notes_and_silence():
  n = 80
  pitch = np.concatenate([np.full(20, 60.2), np.full(60, 63.9)])
  amps = np.where(np.arange(n) < 40, 1.5, 0.0)
  pitch = pitch.reshape(1, n, 1).astype(np.float32)
  amps = amps.reshape(1, n, 1).astype(np.float32)
  hmm = losses.HmmTranscriber(n_timesteps=n)
  midi = hmm.predict_midi(pitch, amps).numpy()
  assert midi.shape == (1, n, 1)
  expected = np.concatenate([np.full(20, 60.0), np.full(20, 64.0),
                             np.zeros(40)])
  np.testing.assert_array_equal(midi[0, :, 0], expected)
  # Steady notes are more likely than a jittery pitch track.
  jitter = pitch + np.random.default_rng(22).normal(0, 3, pitch.shape).astype(
      np.float32)
  assert float(hmm(pitch, amps)) < float(hmm(jitter, amps))
  assert hmm.nll(pitch, amps, per_example_loss=True).shape == (1,)
  with pytest.raises(ValueError, match='n_timesteps=80'):
    hmm(pitch[:, :10], amps[:, :10])


def test_hmm_straight_through():
  x = tf.Variable([0.4, 1.6])
  with tf.GradientTape() as tape:
    y = losses.HmmTranscriber.straight_through(x, tf.round(x))
    total = tf.reduce_sum(3.0 * y)
  np.testing.assert_allclose(y.numpy(), [0.0, 2.0])
  np.testing.assert_allclose(tape.gradient(total, x).numpy(), [3.0, 3.0])


# ----------------------------------------------------------------------------
# LossGroup, gin and serialization.
# ----------------------------------------------------------------------------
@gin.configurable
def _make_loss_group(loss_group=gin.REQUIRED):
  return loss_group


_GIN_LOSS_GROUP = """
_make_loss_group.loss_group = @losses.LossGroup()
LossGroup.dag = [
    (@losses.SpectralLoss(), ['audio', 'audio_synth']),
    (@losses.ParamLoss(), ['targets/f0_pred', 'targets/f0']),
]
SpectralLoss.fft_sizes = (256, 64)
ParamLoss.weight = 2.0
"""


def _gin_build(class_name, *bindings):
  """Builds `@losses.<class_name>()` through gin (it must be registered)."""
  gin.clear_config()
  try:
    gin.parse_config([f'_make_loss_group.loss_group = @losses.{class_name}()',
                      *bindings])
    return _make_loss_group()
  finally:
    gin.clear_config()


@pytest.fixture
def gin_loss_group():
  gin.clear_config()
  gin.parse_config(_GIN_LOSS_GROUP)
  try:
    yield _make_loss_group()
  finally:
    gin.clear_config()


def _group_inputs():
  rng = np.random.default_rng(23)
  return {
      'audio': _noise((2, 1000), 24),
      'audio_synth': _noise((2, 1000), 25),
      'targets': {'f0_pred': rng.uniform(100, 200, (2, 5, 1)).astype(
          np.float32),
                  'f0': rng.uniform(100, 200, (2, 5, 1)).astype(np.float32)},
  }


def test_loss_group_from_gin(gin_loss_group):
  group = gin_loss_group
  inputs = _group_inputs()
  result = group(inputs)
  assert sorted(result) == ['param_loss', 'spectral_loss']
  spectral = sum(np.mean(np.abs(_np_mag(inputs['audio'], s) -
                                _np_mag(inputs['audio_synth'], s)))
                 for s in (256, 64))
  np.testing.assert_allclose(float(result['spectral_loss']), spectral,
                             rtol=2e-4)
  f0 = inputs['targets']
  np.testing.assert_allclose(float(result['param_loss']),
                             2.0 * np.mean(np.abs(f0['f0_pred'] - f0['f0'])),
                             rtol=1e-5)
  assert [type(l).__name__ for l in group.losses] == ['SpectralLoss',
                                                       'ParamLoss']
  assert sorted(group.get_losses_dict(inputs)) == sorted(result)

  graph = tf.function(group)(inputs)
  for key in result:
    np.testing.assert_allclose(float(graph[key]), float(result[key]),
                               rtol=1e-5)


def test_loss_group_missing_key_lists_available(gin_loss_group):
  inputs = _group_inputs()
  del inputs['audio_synth']
  with pytest.raises(KeyError) as error:
    gin_loss_group(inputs)
  message = str(error.value)
  assert 'audio_synth' in message and 'targets/f0_pred' in message


def test_loss_group_kwarg_losses_and_duplicate_names():
  spectral = losses.SpectralLoss(fft_sizes=(64,))
  group = losses.LossGroup(dag=[('spec', ['a', 'b']),
                                (losses.ParamLoss(name='p'), ['a', 'b'])],
                           spec=spectral)
  a, b = _noise((1, 200), 26), _noise((1, 200), 27)
  result = group({'a': a, 'b': b})
  assert sorted(result) == ['p', 'spectral_loss']
  assert group.losses[0] is spectral
  clash = losses.LossGroup(dag=[(losses.ParamLoss(name='x'), ['a', 'b']),
                                ('other', ['a', 'b'])],
                           other=losses.EmbeddingLoss(weight=0.0, name='x'))
  with pytest.raises(ValueError, match="'x'"):
    clash({'a': a, 'b': b})


_KERAS_LOSSES = [
    lambda: losses.SpectralLoss(fft_sizes=(128, 64), loss_type='l2',
                                logmag_weight=0.5, loudness_weight=0.1),
    lambda: losses.ParamLoss(weight=2.0, loss_type='COSINE', name='p'),
    lambda: losses.EmbeddingLoss(weight=0.5,
                                 pretrained_model=keras.layers.Dense(3)),
    lambda: losses.FilteredNoiseConsistencyLoss(weight=0.3),
    lambda: losses.HarmonicConsistencyLoss(amp_weight=0.1, f0_weight=0.2),
    lambda: losses.WassersteinConsistencyLoss(weight=0.4, midi=False),
    lambda: losses.KDEConsistencyLoss(weight_a=0.5, scale_b=0.2),
    lambda: losses.TWMLoss(n_harmonic_points=5, sample_rate=22050),
]


@pytest.mark.parametrize('make', _KERAS_LOSSES)
def test_losses_serialize_round_trip(make):
  loss = make()
  config = keras.saving.serialize_keras_object(loss)
  restored = keras.saving.deserialize_keras_object(config)
  assert type(restored) is type(loss)
  assert restored.name == loss.name
  restored_config = restored.get_config()
  for key, value in loss.get_config().items():
    if key != 'pretrained_model':
      assert restored_config[key] == value, key
  assert type(_gin_build(type(loss).__name__)) is type(loss)


@keras.saving.register_keras_serializable(package='ddsp_tf_test_losses')
class _LossModel(keras.Model):
  """Wraps a LossGroup so it can be saved as a .keras file."""

  def __init__(self, loss_group, **kwargs):
    super().__init__(**kwargs)
    self.loss_group = loss_group

  def call(self, inputs):
    return self.loss_group(inputs)

  def get_config(self):
    return {'name': self.name, 'loss_group':
            keras.saving.serialize_keras_object(self.loss_group)}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    config['loss_group'] = keras.saving.deserialize_keras_object(
        config['loss_group'])
    return cls(**config)


def test_loss_group_keras_file_round_trip(gin_loss_group, tmp_path):
  model = _LossModel(gin_loss_group)
  inputs = _group_inputs()
  expected = model(inputs)
  path = os.path.join(tmp_path, 'losses.keras')
  model.save(path)
  restored = keras.saving.load_model(path)
  result = restored(inputs)
  assert sorted(result) == sorted(expected)
  for key in expected:
    np.testing.assert_allclose(float(result[key]), float(expected[key]),
                               rtol=1e-6)
  spectral = restored.loss_group.losses[0]
  assert spectral.fft_sizes == (256, 64)
  assert restored.loss_group.losses[1].weight == 2.0


def test_hmm_transcriber_is_gin_registered():
  hmm = _gin_build('HmmTranscriber', 'HmmTranscriber.n_timesteps = 7')
  assert isinstance(hmm, losses.HmmTranscriber) and hmm.n_timesteps == 7
