"""Length polymorphism: the solo-instrument path traced with unknown lengths.

Every check traces a tf.function whose input signature leaves the number of
frames (and samples) unknown, runs it, and compares with the same function
called with static lengths, which the other test modules check against
numpy and analytic references. Equality is exact wherever the two run the
same kernels.
"""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import effects
from ddsp_tf import processors
from ddsp_tf import synths
from ddsp_tf.training import preprocessing

# Bit-for-bit equality between eager and traced rendering holds for ddsp_tf's
# float64 phase and crossfade path. The default (the original's float32
# phase sum) changes by about 1e-3 after 1600 samples when TensorFlow's graph
# optimizer regroups its float32 arithmetic, as the original's does.
PRECISE = {'precise_phase': True, 'crossfade_amplitudes': True}

HOP = 64
SAMPLE_RATE = 16000


def _spec(*shape):
  return tf.TensorSpec(shape, tf.float32)


def _controls(n_frames, n_harmonics=12, batch=2, seed=0):
  rng = np.random.default_rng(seed)
  t = np.arange(n_frames) / n_frames
  f0 = (220.0 + 600.0 * t)[None, :, None] * np.ones((batch, 1, 1))
  amps = rng.uniform(0.1, 1.0, (batch, n_frames, 1))
  dist = rng.uniform(0.0, 1.0, (batch, n_frames, n_harmonics))
  return [x.astype(np.float32) for x in (f0, amps, dist)]


# ----------------------------------------------------------------------------
# core.
# ----------------------------------------------------------------------------
def test_check_length():
  assert core.check_length('n', 5) == 5
  assert core.check_length('n', np.int64(7)) == 7
  assert core.check_length('n', tf.constant(9)) == 9  # Known while tracing.
  for bad in (0, 2.5, -3, True, 'a'):
    with pytest.raises(ValueError, match='n must be an integer >= 1'):
      core.check_length('n', bad)
  with pytest.raises(ValueError, match='scalar integer tensor'):
    tf.function(lambda x: core.check_length('n', x),
                input_signature=[_spec()])(tf.constant(3.0))

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
  def dynamic(n):
    return core.check_length('n', n)

  assert int(dynamic(tf.constant(4))) == 4
  with pytest.raises(tf.errors.InvalidArgumentError, match='n must be'):
    dynamic(tf.constant(0))


@pytest.mark.parametrize('method', ['nearest', 'linear', 'cubic', 'window'])
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_resample_with_unknown_lengths_equals_static(method, add_endpoint):
  x = np.random.default_rng(1).normal(size=(2, 9, 3)).astype(np.float32)
  n_timesteps = 9 * 8 if add_endpoint else 8 * 8

  @tf.function(input_signature=[_spec(None, None, 3)])
  def dynamic(x):
    n_intervals = tf.shape(x)[1] - (0 if add_endpoint else 1)
    return core.resample(x, n_intervals * 8, method=method,
                         add_endpoint=add_endpoint)

  expected = core.resample(x, n_timesteps, method=method,
                           add_endpoint=add_endpoint)
  np.testing.assert_array_equal(dynamic(x).numpy(), expected.numpy())


def test_window_upsampling_checks_the_ratio_when_it_runs():

  @tf.function(input_signature=[_spec(None, None, 1),
                                tf.TensorSpec([], tf.int32)])
  def dynamic(x, n):
    return core.upsample_with_windows(x, n)

  assert dynamic(np.ones((1, 4, 1), np.float32), 12).shape == (1, 12, 1)
  with pytest.raises(tf.errors.InvalidArgumentError, match='multiple'):
    dynamic(np.ones((1, 5, 1), np.float32), 12)


@pytest.mark.parametrize('method', ['window', 'linear', 'cubic'])
def test_harmonic_synthesis_with_a_tensor_length_equals_static(method):
  f0, amps, dist = _controls(25)

  @tf.function(input_signature=[_spec(None, None, 1), _spec(None, None, 1),
                                _spec(None, None, 12)])
  def dynamic(f0, amps, dist):
    return core.harmonic_synthesis(
        f0, amps, harmonic_distribution=dist,
        n_samples=tf.shape(f0)[1] * HOP, amp_resample_method=method,
        **PRECISE)

  expected = core.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                     n_samples=25 * HOP,
                                     amp_resample_method=method, **PRECISE)
  np.testing.assert_array_equal(dynamic(f0, amps, dist).numpy(),
                                expected.numpy())
  # The same traced function renders other lengths.
  f0, amps, dist = _controls(7)
  expected = core.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                     n_samples=7 * HOP,
                                     amp_resample_method=method, **PRECISE)
  np.testing.assert_array_equal(dynamic(f0, amps, dist).numpy(),
                                expected.numpy())


def test_streaming_synthesis_with_a_tensor_length_keeps_the_phase():
  f0, amps, dist = _controls(20)

  @tf.function(input_signature=[_spec(None, None, 1), _spec(None, None, 1),
                                _spec(None, None, 12), _spec(None, 1, 1)])
  def dynamic(f0, amps, dist, phase):
    return core.streaming_harmonic_synthesis(
        f0, amps, dist, initial_phase=phase, n_samples=tf.shape(f0)[1] * HOP,
        **PRECISE)

  phase = np.full((2, 1, 1), 1.0, np.float32)
  audio, final = dynamic(f0, amps, dist, phase)
  expected, expected_final = core.streaming_harmonic_synthesis(
      f0, amps, dist, initial_phase=phase, n_samples=20 * HOP, **PRECISE)
  np.testing.assert_array_equal(audio.numpy(), expected.numpy())
  np.testing.assert_array_equal(final.numpy(), expected_final.numpy())


def test_harmonic_synthesis_rejects_a_length_that_the_frames_do_not_divide():

  @tf.function(input_signature=[_spec(None, None, 1)])
  def dynamic(f0):
    return core.harmonic_synthesis(f0, tf.ones_like(f0),
                                   n_samples=tf.shape(f0)[1] * HOP + 1)

  with pytest.raises(tf.errors.InvalidArgumentError, match='multiple'):
    dynamic(np.full((1, 4, 1), 100.0, np.float32))


@pytest.mark.parametrize('ir_frames', [0, 1, 10])
def test_fft_convolve_with_unknown_lengths_equals_static(ir_frames):
  rng = np.random.default_rng(2)
  audio = rng.normal(size=(2, 10 * HOP)).astype(np.float32)
  ir_shape = (2, 33) if ir_frames == 0 else (2, ir_frames, 33)
  ir = rng.normal(size=ir_shape).astype(np.float32)

  @tf.function(input_signature=[_spec(None, None),
                                _spec(*([None] * (len(ir_shape) - 1)), 33)])
  def dynamic(audio, ir):
    return core.fft_convolve(audio, ir, padding='same', delay_compensation=0)

  expected = core.fft_convolve(audio, ir, padding='same', delay_compensation=0)
  np.testing.assert_array_equal(dynamic(audio, ir).numpy(), expected.numpy())


def test_fft_convolve_checks_the_blocks_when_it_runs():

  @tf.function(input_signature=[_spec(None, None), _spec(None, None, 9)])
  def dynamic(audio, ir):
    return core.fft_convolve(audio, ir)

  with pytest.raises(tf.errors.InvalidArgumentError, match='equal blocks'):
    dynamic(np.zeros((1, 100), np.float32), np.zeros((1, 3, 9), np.float32))


# ----------------------------------------------------------------------------
# Layers.
# ----------------------------------------------------------------------------
def test_harmonic_renders_multiples_of_the_frames():
  synth = synths.Harmonic(n_samples=30 * HOP, sample_rate=SAMPLE_RATE,
                          **PRECISE)
  f0, amps, dist = _controls(30)
  fixed = synth(amps, dist, f0).numpy()
  synth.set_samples_per_frame(HOP)

  @tf.function(input_signature=[_spec(None, None, 1), _spec(None, None, 12),
                                _spec(None, None, 1)])
  def dynamic(amps, dist, f0):
    return synth(amps, dist, f0)

  np.testing.assert_array_equal(dynamic(amps, dist, f0).numpy(), fixed)
  for n_frames in (1, 45):
    f0, amps, dist = _controls(n_frames)
    reference = synths.Harmonic(n_samples=n_frames * HOP,
                                sample_rate=SAMPLE_RATE, **PRECISE)
    np.testing.assert_array_equal(dynamic(amps, dist, f0).numpy(),
                                  reference(amps, dist, f0).numpy())
  # Eagerly too, with more frames than the fixed n_samples allows.
  f0, amps, dist = _controls(40 * HOP)
  assert synth(amps, dist, f0).shape == (2, 40 * HOP * HOP)
  synth.set_samples_per_frame(None)
  with pytest.raises(ValueError, match='more than n_samples'):
    synth(amps, dist, f0)
  assert 'samples_per_frame' not in synth.get_config()


def test_set_samples_per_frame_validates():
  for layer in (synths.Harmonic(), synths.FilteredNoise()):
    for bad in (0, 1.5, 'a'):
      with pytest.raises(ValueError, match='samples_per_frame'):
        layer.set_samples_per_frame(bad)


def test_filtered_noise_renders_multiples_of_the_frames():
  synth = synths.FilteredNoise(n_samples=1000, window_size=0, scale_fn=None)
  synth.set_samples_per_frame(HOP)

  @tf.function(input_signature=[_spec(None, None, 17)])
  def dynamic(magnitudes):
    return synth(magnitudes)

  for n_frames in (3, 200):
    # A flat unit response passes the uniform [-1, 1] noise through.
    audio = dynamic(np.ones((2, n_frames, 17), np.float32)).numpy()
    assert audio.shape == (2, n_frames * HOP)
    assert np.abs(audio).max() <= 1.0 + 1e-5
  np.testing.assert_allclose(audio.std(), 1.0 / np.sqrt(3.0), rtol=0.05)


def test_reverb_and_add_with_unknown_lengths_equal_static():
  group = processors.ProcessorGroup(dag=[
      (synths.Harmonic(n_samples=50 * HOP, sample_rate=SAMPLE_RATE),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (processors.Add(), ['harmonic/signal', 'harmonic/signal']),
      (effects.Reverb(trainable=True, reverb_length=300), ['add/signal']),
  ])
  f0, amps, dist = _controls(50)
  inputs = {'amps': amps, 'harmonic_distribution': dist, 'f0_hz': f0}
  group(inputs)  # Builds the reverb.
  reverb = group.processors[-1]
  reverb.set_weights([np.random.default_rng(3).normal(
      size=300).astype(np.float32) * 0.1])
  static = tf.function(lambda x: group(x))(inputs).numpy()
  group.processors[0].set_samples_per_frame(HOP)

  @tf.function(input_signature=[{'amps': _spec(None, None, 1),
                                 'harmonic_distribution': _spec(None, None, 12),
                                 'f0_hz': _spec(None, None, 1)}])
  def dynamic(x):
    return group(x)

  np.testing.assert_array_equal(dynamic(inputs).numpy(), static)
  f0, amps, dist = _controls(9)
  short = dynamic({'amps': amps, 'harmonic_distribution': dist,
                   'f0_hz': f0}).numpy()
  assert short.shape == (2, 9 * HOP)


def test_preprocessor_without_time_steps_keeps_the_frames():
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=None,
                                               compute_loudness=False)

  @tf.function(input_signature=[_spec(None, None), _spec(None, None)])
  def dynamic(loudness_db, f0_hz):
    return layer({'loudness_db': loudness_db, 'f0_hz': f0_hz})

  f0 = np.full((2, 13), 440.0, np.float32)
  loudness = np.full((2, 13), -40.0, np.float32)
  outputs = dynamic(loudness, f0)
  assert outputs['f0_scaled'].shape == (2, 13, 1)
  np.testing.assert_allclose(outputs['f0_scaled'], 69.0 / 127.0, rtol=1e-6)
  np.testing.assert_allclose(outputs['ld_scaled'], 0.5, rtol=1e-6)
  rebuilt = preprocessing.F0LoudnessPreprocessor.from_config(
      layer.get_config())
  assert rebuilt.time_steps is None
