"""Tests for ddsp_tf.synths: Harmonic, FilteredNoise, Wavetable, Sinusoidal and
TensorToAudio.

References are analytic: sines fitted by least squares or read from exact FFT
bins (every test tone has a whole number of cycles in the render, so its
energy falls in one bin), Welch PSDs from scipy for the noise, and numpy
versions of the control scalings.
"""

import gin
import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from keras_helpers import only_layer, save_and_load
from numpy_reference import sine_fit
from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import synths

SR = 16000


@pytest.fixture(autouse=True)
def clear_gin_config():
  """Every test starts and ends with an empty gin config."""
  gin.clear_config()
  yield
  gin.clear_config()


# ----------------------------------------------------------------------------
# Helpers.
# ----------------------------------------------------------------------------
def const(value, n_frames, channels=1, batch=1):
  """A control that holds `value` (scalar or per-channel) in every frame."""
  value = np.broadcast_to(np.asarray(value, np.float32), (channels,))
  return np.tile(value[None, None, :], [batch, n_frames, 1])


def np_exp_sigmoid(x):
  """2 * sigmoid(x) ** ln(10) + 1e-7, the DDSP amplitude scaling."""
  x = np.asarray(x, np.float64)
  return 2.0 * (1.0 / (1.0 + np.exp(-x)))**np.log(10.0) + 1e-7


def np_inv_exp_sigmoid(y):
  s = ((np.asarray(y, np.float64) - 1e-7) / 2.0)**(1.0 / np.log(10.0))
  return np.log(s / (1.0 - s))


def bin_amplitudes(audio, sample_rate=SR):
  """Sine amplitude in every rfft bin, and the bin spacing in Hz.

  A sine with a whole number of cycles in the signal puts 2|X|/N = its
  amplitude into exactly one bin.
  """
  audio = np.asarray(audio, np.float64)
  return 2.0 * np.abs(np.fft.rfft(audio)) / audio.size, sample_rate / audio.size


def peak_hz(audio, sample_rate=SR):
  amplitudes, spacing = bin_amplitudes(audio, sample_rate)
  return float(np.argmax(amplitudes) * spacing)


def rms(x):
  return float(np.sqrt(np.mean(np.asarray(x, np.float64)**2)))


@keras.saving.register_keras_serializable(package='test_synths')
def quarter(x):
  """A user scale function: 0.25 * x (registered, so it can be saved)."""
  return 0.25 * x


# ----------------------------------------------------------------------------
# Output shapes of the original tests.
# ----------------------------------------------------------------------------
def test_harmonic_output_shape_and_silence_above_nyquist():
  harmonic = synths.Harmonic(precise_phase=True, n_samples=64000, sample_rate=SR, scale_fn=None,
                             normalize_below_nyquist=True)
  amps = np.ones((3, 1000, 1), np.float32)
  distribution = np.full((3, 1000, 16), 1.0 / 16, np.float32)
  f0_hz = np.full((3, 1000, 1), 16000.0, np.float32)
  audio = harmonic(amps, distribution, f0_hz)
  assert audio.shape == (3, 64000)
  # Every harmonic of 16 kHz is above the 8 kHz Nyquist: exact silence.
  np.testing.assert_array_equal(audio, 0.0)


def test_filtered_noise_output_shape():
  noise = synths.FilteredNoise(n_samples=16000)
  audio = noise(np.full((3, 16000, 100), 3.0, np.float32))
  assert audio.shape == (3, 16000)
  assert np.all(np.isfinite(audio)) and np.std(audio) > 0


@pytest.mark.slow  # Wavetables are resampled to [3, 64000, 1024] (~0.8 GB).
def test_wavetable_output_shape():
  wavetable = synths.Wavetable(precise_phase=True, n_samples=64000, sample_rate=SR, scale_fn=None)
  audio = wavetable(np.ones((3, 1000, 1), np.float32),
                    np.zeros((3, 1000, 1024), np.float32),
                    np.full((3, 1000, 1), 440.0, np.float32))
  assert audio.shape == (3, 64000)
  np.testing.assert_array_equal(audio, 0.0)  # An all-zero table is silent.


def test_sinusoidal_output_shape():
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=32000, sample_rate=SR)
  audio = sinusoidal(np.zeros((3, 1000, 10), np.float32),
                     np.zeros((3, 1000, 10), np.float32))
  assert audio.shape == (3, 32000)
  assert np.all(np.isfinite(audio))


def test_tensor_to_audio_squeezes_channel():
  samples = np.random.default_rng(0).normal(size=(2, 300, 1)).astype(
      np.float32)
  outputs = synths.TensorToAudio()(samples, return_outputs_dict=True)
  assert outputs['signal'].shape == (2, 300)
  np.testing.assert_array_equal(outputs['signal'], samples[..., 0])
  np.testing.assert_array_equal(outputs['controls']['samples'], samples)


@pytest.mark.parametrize('shape', [(2, 300), (2, 300, 2)])
def test_tensor_to_audio_bad_shape_raises(shape):
  with pytest.raises(ValueError, match=str(list(shape)).replace('[', r'\[')):
    synths.TensorToAudio()(np.zeros(shape, np.float32))


# ----------------------------------------------------------------------------
# Harmonic.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('sample_rate, f0, n_frames', [
    (16000, 440.0, 100), (44100, 441.0, 100), (48000, 1000.0, 200)])
def test_harmonic_single_harmonic_is_sine(sample_rate, f0, n_frames):
  """One harmonic, scale_fn=None: a sine at f0 with amplitude a.

  One second at integer f0, so the FFT peak is exactly the f0 bin and the
  RMS is a / sqrt(2).
  """
  amplitude = 0.5
  harmonic = synths.Harmonic(precise_phase=True, n_samples=sample_rate, sample_rate=sample_rate,
                             scale_fn=None)
  audio = harmonic(const(amplitude, n_frames), const(1.0, n_frames),
                   const(f0, n_frames)).numpy()[0]
  assert peak_hz(audio, sample_rate) == f0
  assert abs(rms(audio) - amplitude / np.sqrt(2)) < 1e-3
  fitted, residual = sine_fit(audio, f0, sample_rate)
  assert abs(fitted - amplitude) < 1e-3
  assert residual < 1e-3


@pytest.mark.parametrize('normalize, expected_amplitude', [
    (True, 1.0 / 5),   # Renormalized over the 5 harmonics below Nyquist.
    (False, 1.0 / 8),  # Normalized over all 8, the top 3 then silenced.
])
def test_harmonic_above_nyquist_is_silent(normalize, expected_amplitude):
  """f0 = 1500 Hz, 8 equal harmonics: 1500 ... 7500 Hz are below Nyquist.

  Harmonics 6-8 (9, 10.5, 12 kHz) would alias to 7, 5.5 and 4 kHz; the
  spectrum must hold energy only in the five allowed bins.
  """
  n_frames = 100
  harmonic = synths.Harmonic(precise_phase=True, n_samples=SR, sample_rate=SR, scale_fn=None,
                             normalize_below_nyquist=normalize)
  outputs = harmonic(const(1.0, n_frames), const(1.0, n_frames, 8),
                     const(1500.0, n_frames), return_outputs_dict=True)
  amplitudes, spacing = bin_amplitudes(outputs['signal'].numpy()[0])
  allowed = [int(k * 1500 / spacing) for k in range(1, 6)]
  np.testing.assert_allclose(amplitudes[allowed], expected_amplitude,
                             rtol=1e-3)
  others = np.delete(amplitudes, allowed)
  assert others.max() < 1e-4
  distribution = outputs['controls']['harmonic_distribution'].numpy()[0, 0]
  np.testing.assert_allclose(distribution[:5], expected_amplitude, rtol=1e-5)
  if normalize:
    np.testing.assert_array_equal(distribution[5:], 0.0)


def test_harmonic_get_controls_scaling():
  rng = np.random.default_rng(0)
  amps = rng.normal(size=(2, 10, 1)).astype(np.float32)
  distribution = rng.normal(size=(2, 10, 6)).astype(np.float32)
  f0_hz = np.full((2, 10, 1), 2000.0, np.float32)  # Harmonics 4-6 alias.
  controls = synths.Harmonic(precise_phase=True, n_samples=1000).get_controls(
      amps, distribution, f0_hz)
  np.testing.assert_allclose(controls['amplitudes'], np_exp_sigmoid(amps),
                             rtol=1e-5)
  expected = np_exp_sigmoid(distribution)
  expected[..., 3:] = 0.0
  expected /= expected.sum(axis=-1, keepdims=True)
  np.testing.assert_allclose(controls['harmonic_distribution'], expected,
                             rtol=1e-5, atol=1e-7)
  np.testing.assert_array_equal(controls['f0_hz'], f0_hz)


# ----------------------------------------------------------------------------
# FilteredNoise.
# ----------------------------------------------------------------------------
# 65 bands from 0 to 8 kHz (125 Hz apart) with four gain regions.
NOISE_REGIONS = ((0, 16, 1.0), (16, 32, 0.2), (32, 48, 0.6), (48, 65, 0.05))


def test_filtered_noise_follows_band_magnitudes():
  """The Welch PSD of 4 s of filtered noise follows the squared gains.

  Uniform noise in [-1, 1] has variance 1/3, so its one-sided PSD is
  2 / (3 fs); through a filter of gain g it becomes g^2 * 2 / (3 fs).
  The 128-tap Hann-windowed FIR smooths the response over about two bands
  on either side of a step, so each region is measured >= 3 bands from its
  edges. Tolerance: the Welch average (124 half-overlapping 1024-sample
  segments, >= 72 bins per region) has a relative standard deviation of
  ~2% per region and the in-region ripple of the filter is < 1%, so 10% on
  power (5% on amplitude) is > 4 sigma, while a wrong gain, a band
  misplaced by one region or a missing square would be off by >= 100%.
  """
  gains = np.zeros(65, np.float32)
  for start, stop, gain in NOISE_REGIONS:
    gains[start:stop] = gain
  noise = synths.FilteredNoise(n_samples=4 * SR, window_size=0, scale_fn=None)
  tf.random.set_seed(0)
  audio = noise(np.tile(gains, [1, 250, 1])).numpy()[0]
  freqs, psd = scipy.signal.welch(audio, fs=SR, nperseg=1024)
  white = 2.0 / (3.0 * SR)
  measured = []
  for start, stop, gain in NOISE_REGIONS:
    band_hz = 8000.0 / 64
    inside = (freqs >= (start + 3) * band_hz) & (freqs <= (stop - 4) * band_hz)
    assert inside.sum() >= 72
    level = psd[inside].mean() / white
    measured.append(level)
    assert abs(level / gain**2 - 1.0) < 0.1, (start, level, gain**2)
  measured = np.array(measured)
  requested = np.array([gain for _, _, gain in NOISE_REGIONS])**2
  np.testing.assert_allclose(measured / measured[0], requested / requested[0],
                             rtol=0.1)


def test_filtered_noise_flat_gain_scales_uniform_noise():
  """All-equal magnitudes g give an FIR that is g * delta: out = g * noise."""
  gain = 0.3
  noise = synths.FilteredNoise(n_samples=SR, window_size=0, scale_fn=None)
  tf.random.set_seed(1)
  audio = noise(const(gain, 100, 33, batch=2)).numpy()
  assert np.abs(audio).max() <= gain * (1 + 1e-5)
  # var(uniform[-1, 1]) = 1/3; with 32000 samples the power's relative
  # standard deviation is ~0.6%.
  assert abs(np.mean(audio**2) / (gain**2 / 3.0) - 1.0) < 0.03


def test_filtered_noise_get_controls_scaling():
  magnitudes = np.random.default_rng(0).normal(size=(2, 10, 17)).astype(
      np.float32)
  controls = synths.FilteredNoise(n_samples=1000).get_controls(magnitudes)
  np.testing.assert_allclose(controls['magnitudes'],
                             np_exp_sigmoid(magnitudes - 5.0), rtol=1e-5)
  controls = synths.FilteredNoise(n_samples=1000, initial_bias=1.0,
                                  scale_fn=None).get_controls(magnitudes)
  np.testing.assert_allclose(controls['magnitudes'], magnitudes)


def test_filtered_noise_is_random_but_seedable():
  noise = synths.FilteredNoise(n_samples=2000)
  magnitudes = np.full((2, 20, 9), 5.0, np.float32)
  tf.random.set_seed(3)
  first = noise(magnitudes).numpy()
  tf.random.set_seed(3)
  again = noise(magnitudes).numpy()
  np.testing.assert_array_equal(first, again)
  assert not np.allclose(first[0], first[1])  # Independent per example.


# ----------------------------------------------------------------------------
# Wavetable.
# ----------------------------------------------------------------------------
def test_wavetable_sine_table_renders_sine_at_f0():
  """A one-period sine table played at f0 is a sine at f0.

  Linear interpolation of a 256-point table is off by at most
  (2 pi / 256)^2 / 8 = 7.5e-5 of the amplitude.
  """
  table = np.sin(2 * np.pi * np.arange(256) / 256).astype(np.float32)
  n_frames, n_samples, f0, amplitude = 50, SR // 2, 440.0, 0.5
  wavetable = synths.Wavetable(precise_phase=True, n_samples=n_samples, scale_fn=None)
  audio = wavetable(const(amplitude, n_frames),
                    np.tile(table, [1, n_frames, 1]),
                    const(f0, n_frames)).numpy()[0]
  assert peak_hz(audio) == f0
  fitted, residual = sine_fit(audio, f0)
  assert abs(fitted - amplitude) < 1e-3
  assert residual < 1e-3


def test_wavetable_two_harmonic_table():
  phase = 2 * np.pi * np.arange(512) / 512
  table = (np.sin(phase) + 0.5 * np.sin(2 * phase)).astype(np.float32)
  n_frames, f0 = 50, 300.0
  audio = synths.Wavetable(precise_phase=True, n_samples=SR, scale_fn=None)(
      const(0.4, n_frames), np.tile(table, [1, n_frames, 1]),
      const(f0, n_frames)).numpy()[0]
  amplitudes, spacing = bin_amplitudes(audio)
  bins = [int(f0 / spacing), int(2 * f0 / spacing)]
  np.testing.assert_allclose(amplitudes[bins], [0.4, 0.2], rtol=2e-3)
  assert np.delete(amplitudes, bins).max() < 1e-3


# ----------------------------------------------------------------------------
# Sinusoidal.
# ----------------------------------------------------------------------------
def test_sinusoidal_known_sines_and_nothing_above_nyquist():
  """Scale functions None: the controls are amplitudes and Hz directly.

  500 Hz at 0.3 and 1234 Hz at 0.2 are rendered; 9000 Hz is above Nyquist
  and must be silent (it would alias to 7000 Hz).
  """
  n_frames = 100
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=SR, amp_scale_fn=None,
                                 freq_scale_fn=None)
  audio = sinusoidal(const([0.3, 0.2, 0.25], n_frames, 3),
                     const([500.0, 1234.0, 9000.0], n_frames, 3)).numpy()[0]
  amplitudes, spacing = bin_amplitudes(audio)
  bins = [int(500 / spacing), int(1234 / spacing)]
  np.testing.assert_allclose(amplitudes[bins], [0.3, 0.2], rtol=1e-3)
  assert amplitudes[int(7000 / spacing)] < 1e-4
  assert np.delete(amplitudes, bins).max() < 1e-4


def test_sinusoidal_get_controls_scaling():
  rng = np.random.default_rng(0)
  amps = rng.normal(size=(1, 5, 4)).astype(np.float32)
  logits = np.array([-3.0, 0.0, 2.0, 40.0], np.float32)  # Last -> 8000 Hz.
  controls = synths.Sinusoidal(precise_phase=True, n_samples=500).get_controls(
      amps, np.tile(logits, [1, 5, 1]))
  # The original's frequencies_sigmoid at depth 1 maps the sigmoid
  # log-linearly from MIDI 0 (0 Hz counts as MIDI 0, 8.18 Hz) to 8000 Hz.
  sigmoid = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
  midi_8000 = 69.0 + 12.0 * np.log2(8000.0 / 440.0)
  expected_hz = 440.0 * 2.0**((sigmoid * midi_8000 - 69.0) / 12.0)
  np.testing.assert_allclose(controls['frequencies'][0, 0], expected_hz,
                             rtol=1e-4)
  expected_amps = np_exp_sigmoid(amps)
  # Removed at or above Nyquist (the float32 log mapping may land just
  # below 8000 Hz for the last one).
  at_nyquist = controls['frequencies'].numpy() >= 8000.0
  expected_amps[at_nyquist] = 0.0
  np.testing.assert_allclose(controls['amplitudes'], expected_amps, rtol=1e-5)


def depth_10_sigmoid(x):
  return core.frequencies_sigmoid(x, depth=10, hz_min=0.0, hz_max=8000.0,
                                  geometric_ranges=True)


def test_sinusoidal_frequencies_controls_are_bounded():
  """frequencies_sigmoid(depth=10) controls stay in [0, 8000] Hz.

  Frequencies are given packed as [batch, frames, n_sinusoids * depth].
  """
  depth, n_partials = 10, 100
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=32000,
                                 freq_scale_fn=depth_10_sigmoid)
  logits = np.linspace(-100.0, 100.0, n_partials, dtype=np.float32)
  freqs = np.tile(logits[None, None, :, None], [3, 10, 1, depth])
  controls = sinusoidal.get_controls(
      np.zeros((3, 10, n_partials), np.float32),
      freqs.reshape(3, 10, n_partials * depth))
  hz = controls['frequencies'].numpy()
  assert hz.shape == (3, 10, n_partials)
  assert hz.min() >= 0.0 and hz.max() <= 8000.0
  np.testing.assert_allclose(hz[..., 0], 0.0, atol=1e-3)
  np.testing.assert_allclose(hz[..., -1], 8000.0, rtol=1e-6)
  assert np.all(np.diff(hz[0, 0]) >= 0)


def test_sinusoidal_frequencies_controls_accept_depth_axis():
  depth, n_partials = 10, 100
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=32000,
                                 freq_scale_fn=depth_10_sigmoid)
  logits = np.linspace(-100.0, 100.0, n_partials, dtype=np.float32)
  freqs = np.tile(logits[None, None, :, None], [3, 10, 1, depth])
  hz = sinusoidal.get_controls(np.zeros((3, 10, n_partials), np.float32),
                               freqs)['frequencies'].numpy()
  assert hz.shape == (3, 10, n_partials)
  assert hz.min() >= 0.0 and hz.max() <= 8000.0


# ----------------------------------------------------------------------------
# Graph mode and XLA.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('jit_compile', [False, True])
def test_harmonic_in_tf_function(jit_compile):
  harmonic = synths.Harmonic(precise_phase=True, n_samples=8000, scale_fn=None)
  run = tf.function(harmonic, jit_compile=jit_compile)
  audio = run(const(0.7, 40), const([1.0, 0.0], 40, 2),
              const(250.0, 40)).numpy()[0]
  fitted, residual = sine_fit(audio, 250.0)
  assert abs(fitted - 0.7) < 1e-3 and residual < 1e-3


@pytest.mark.parametrize('jit_compile', [False, True])
def test_sinusoidal_in_tf_function(jit_compile):
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=8000, amp_scale_fn=None,
                                 freq_scale_fn=None)
  run = tf.function(sinusoidal, jit_compile=jit_compile)
  audio = run(const(0.6, 40), const(750.0, 40)).numpy()[0]
  fitted, residual = sine_fit(audio, 750.0)
  assert abs(fitted - 0.6) < 1e-3 and residual < 1e-3


@pytest.mark.parametrize('jit_compile', [False, True])
def test_wavetable_in_tf_function(jit_compile):
  table = np.sin(2 * np.pi * np.arange(256) / 256).astype(np.float32)
  wavetable = synths.Wavetable(precise_phase=True, n_samples=8000, scale_fn=None)
  run = tf.function(wavetable, jit_compile=jit_compile)
  audio = run(const(0.6, 40), np.tile(table, [1, 40, 1]),
              const(500.0, 40)).numpy()[0]
  fitted, residual = sine_fit(audio, 500.0)
  assert abs(fitted - 0.6) < 1e-3 and residual < 1e-3


@pytest.mark.parametrize('jit_compile', [False, True])
def test_filtered_noise_in_tf_function(jit_compile):
  noise = synths.FilteredNoise(n_samples=SR, window_size=0, scale_fn=None)
  run = tf.function(noise, jit_compile=jit_compile)
  audio = run(const(0.5, 50, 17, batch=2)).numpy()
  assert audio.shape == (2, SR)
  assert np.abs(audio).max() <= 0.5 * (1 + 1e-5)
  assert abs(np.mean(audio**2) / (0.25 / 3.0) - 1.0) < 0.03


# ----------------------------------------------------------------------------
# .keras saving, checked against analytic outputs.
# ----------------------------------------------------------------------------
def frame_inputs(n_frames, **channels):
  return {name: keras.Input(shape=(n_frames, c), name=name)
          for name, c in channels.items()}


def test_harmonic_saves_to_keras(tmp_path):
  """Non-default sample rate and a tf.nn scale function must survive.

  At 8 kHz, f0 = 500 Hz; reloaded with the default 16 kHz the tone would
  come out at 250 Hz, and without softplus the amplitude would differ.
  """
  harmonic = synths.Harmonic(precise_phase=True, n_samples=4000, sample_rate=8000,
                             scale_fn=tf.nn.softplus,
                             amp_resample_method='linear', name='harm')
  inputs = frame_inputs(20, amps=1, dist=2, f0=1)
  model = keras.Model(inputs, harmonic(inputs['amps'], inputs['dist'],
                                       inputs['f0']))
  loaded = save_and_load(model, tmp_path)
  layer = only_layer(loaded, synths.Harmonic)
  assert (layer.name, layer.n_samples, layer.sample_rate,
          layer.amp_resample_method) == ('harm', 4000, 8000, 'linear')
  raw_amp = 0.5
  audio = loaded({'amps': const(raw_amp, 20),
                  'dist': const([8.0, -30.0], 20, 2),
                  'f0': const(500.0, 20)}).numpy()[0]
  expected_amp = np.log1p(np.exp(raw_amp))  # softplus; harmonic 2 ~ 0.
  fitted, residual = sine_fit(audio, 500.0, sample_rate=8000)
  assert abs(fitted - expected_amp) < 2e-3 and residual < 1e-3


def test_filtered_noise_saves_to_keras(tmp_path):
  noise = synths.FilteredNoise(n_samples=3000, window_size=0,
                               scale_fn=quarter, initial_bias=1.0,
                               name='noisy')
  inputs = keras.Input(shape=(30, 9), name='magnitudes')
  model = keras.Model(inputs, noise(inputs))
  loaded = save_and_load(model, tmp_path)
  layer = only_layer(loaded, synths.FilteredNoise)
  assert (layer.name, layer.n_samples, layer.window_size,
          layer.initial_bias) == ('noisy', 3000, 0, 1.0)
  # Flat raw magnitude 1 -> quarter(1 + 1) = 0.5 everywhere: 0.5 * noise.
  magnitudes = const(1.0, 30, 9, batch=2)
  tf.random.set_seed(4)
  expected = model(magnitudes).numpy()
  tf.random.set_seed(4)
  audio = loaded(magnitudes).numpy()
  np.testing.assert_allclose(audio, expected, rtol=1e-5, atol=1e-6)
  assert np.abs(audio).max() <= 0.5 * (1 + 1e-5)
  assert abs(np.mean(audio**2) / (0.25 / 3.0) - 1.0) < 0.06


def test_wavetable_saves_to_keras(tmp_path):
  wavetable = synths.Wavetable(precise_phase=True, n_samples=4000, sample_rate=8000,
                               scale_fn=None)
  inputs = frame_inputs(20, amps=1, tables=128, f0=1)
  model = keras.Model(inputs, wavetable(inputs['amps'], inputs['tables'],
                                        inputs['f0']))
  loaded = save_and_load(model, tmp_path)
  layer = only_layer(loaded, synths.Wavetable)
  assert (layer.n_samples, layer.sample_rate, layer.scale_fn) == (
      4000, 8000, None)
  table = np.sin(2 * np.pi * np.arange(128) / 128).astype(np.float32)
  audio = loaded({'amps': const(0.3, 20), 'tables': np.tile(table, [1, 20, 1]),
                  'f0': const(400.0, 20)}).numpy()[0]
  fitted, residual = sine_fit(audio, 400.0, sample_rate=8000)
  assert abs(fitted - 0.3) < 1e-3 and residual < 1e-3


def test_sinusoidal_saves_to_keras(tmp_path):
  sinusoidal = synths.Sinusoidal(precise_phase=True, n_samples=4000, sample_rate=8000,
                                 amp_scale_fn=quarter, freq_scale_fn=None,
                                 amp_resample_method='linear')
  inputs = frame_inputs(20, amps=1, freqs=1)
  model = keras.Model(inputs, sinusoidal(inputs['amps'], inputs['freqs']))
  loaded = save_and_load(model, tmp_path)
  layer = only_layer(loaded, synths.Sinusoidal)
  assert (layer.n_samples, layer.sample_rate, layer.amp_resample_method,
          layer.freq_scale_fn) == (4000, 8000, 'linear', None)
  audio = loaded({'amps': const(2.0, 20),
                  'freqs': const(1000.0, 20)}).numpy()[0]
  fitted, residual = sine_fit(audio, 1000.0, sample_rate=8000)
  assert abs(fitted - 0.5) < 1e-3 and residual < 1e-3  # quarter(2) = 0.5


def test_tensor_to_audio_saves_to_keras(tmp_path):
  inputs = keras.Input(shape=(100, 1))
  model = keras.Model(inputs, synths.TensorToAudio(name='t2a')(inputs))
  loaded = save_and_load(model, tmp_path)
  assert only_layer(loaded, synths.TensorToAudio).name == 't2a'
  samples = np.random.default_rng(0).normal(size=(2, 100, 1)).astype(
      np.float32)
  np.testing.assert_array_equal(loaded(samples), samples[..., 0])


# ----------------------------------------------------------------------------
# gin.
# ----------------------------------------------------------------------------
@gin.configurable
def make_synth(synth=gin.REQUIRED):
  return synth


@pytest.mark.parametrize('prefix', ['', 'synths.', 'ddsp_tf.synths.'])
def test_original_gin_bindings_work_with_module_prefix(prefix):
  """magenta/ddsp bindings such as Harmonic.n_samples = 64000 still work."""
  gin.parse_config(f"""
      make_synth.synth = @{prefix}Harmonic()
      {prefix}Harmonic.n_samples = 64000
      {prefix}Harmonic.sample_rate = 16000
      {prefix}Harmonic.normalize_below_nyquist = False
      {prefix}Harmonic.amp_resample_method = 'linear'
      {prefix}Harmonic.scale_fn = @core.exp_sigmoid
  """)
  harmonic = make_synth()
  assert harmonic.__class__ is synths.Harmonic
  assert harmonic.n_samples == 64000 and harmonic.sample_rate == 16000
  assert harmonic.normalize_below_nyquist is False
  assert harmonic.amp_resample_method == 'linear'
  assert harmonic.scale_fn(tf.constant(0.0)).numpy() == pytest.approx(
      np_exp_sigmoid(0.0))


@pytest.mark.parametrize('name, cls, bindings, attribute, value', [
    ('FilteredNoise', synths.FilteredNoise, "window_size = 0", 'window_size',
     0),
    ('FilteredNoise', synths.FilteredNoise, "initial_bias = -3.0",
     'initial_bias', -3.0),
    ('Wavetable', synths.Wavetable, "n_samples = 32000", 'n_samples', 32000),
    ('Sinusoidal', synths.Sinusoidal, "amp_resample_method = 'linear'",
     'amp_resample_method', 'linear'),
    ('TensorToAudio', synths.TensorToAudio, "name = 'passthrough'", 'name',
     'passthrough'),
])
def test_synths_are_gin_configurable(name, cls, bindings, attribute, value):
  gin.parse_config(f"""
      make_synth.synth = @synths.{name}()
      synths.{name}.{bindings}
  """)
  synth = make_synth()
  assert synth.__class__ is cls
  assert getattr(synth, attribute) == value


def test_gin_built_synth_saves_and_loads(tmp_path):
  gin.parse_config("""
      make_synth.synth = @synths.Harmonic()
      synths.Harmonic.n_samples = 2000
      synths.Harmonic.precise_phase = True
      synths.Harmonic.scale_fn = None
  """)
  harmonic = make_synth()
  assert keras.saving.get_registered_name(synths.Harmonic) == 'ddsp_tf>Harmonic'
  inputs = frame_inputs(10, amps=1, dist=1, f0=1)
  model = keras.Model(inputs, harmonic(inputs['amps'], inputs['dist'],
                                       inputs['f0']))
  path = str(tmp_path / 'harmonic.keras')
  model.save(path)
  gin.clear_config()  # Loading must not depend on the gin config.
  loaded = keras.models.load_model(path)
  loaded_harmonic = only_layer(loaded, synths.Harmonic)
  assert loaded_harmonic.__class__ is synths.Harmonic
  audio = loaded({'amps': const(0.25, 10), 'dist': const(1.0, 10),
                  'f0': const(800.0, 10)}).numpy()[0]
  fitted, residual = sine_fit(audio, 800.0)
  assert abs(fitted - 0.25) < 1e-3 and residual < 1e-3


# ----------------------------------------------------------------------------
# Gradients: recover hidden controls through the synth.
# ----------------------------------------------------------------------------
FFT_SIZES = (1024, 512, 256, 128)


def multiscale_l1(target, audio):
  return tf.add_n([
      tf.reduce_mean(tf.abs(spectral_ops.compute_mag(target, size=size) -
                            spectral_ops.compute_mag(audio, size=size)))
      for size in FFT_SIZES])


def fit(variables, loss_fn, optimizer, steps):
  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = loss_fn()
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss
  for _ in range(steps):
    loss = step()
  return float(loss)


@pytest.mark.slow
def test_harmonic_gradients_recover_amplitudes():
  """Adam on a multi-scale spectral L1 finds the hidden amplitude controls.

  0.25 s at a known f0 of 220 Hz, four harmonics, controls constant over
  time (one trainable frame, tiled over 4 frames). The recovered scaled
  controls (exp_sigmoid amplitude and normalized distribution) must be
  within 5% of the hidden ones.
  """
  n_samples, n_frames = 4000, 4
  harmonic = synths.Harmonic(precise_phase=True, n_samples=n_samples)
  f0_hz = const(220.0, n_frames)
  true_amp = 0.3
  true_dist = np.array([0.5, 0.25, 0.15, 0.1])
  target = harmonic(const(np_inv_exp_sigmoid(true_amp), n_frames),
                    const(np_inv_exp_sigmoid(true_dist), n_frames, 4), f0_hz)
  amp = tf.Variable(np.zeros((1, 1, 1), np.float32))
  dist = tf.Variable(np.zeros((1, 1, 4), np.float32))

  def controls():
    return (tf.tile(amp, [1, n_frames, 1]), tf.tile(dist, [1, n_frames, 1]),
            f0_hz)

  schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 200, 0.05)
  loss = fit([amp, dist], lambda: multiscale_l1(target, harmonic(*controls())),
             keras.optimizers.Adam(schedule), steps=200)
  assert np.isfinite(loss)
  scaled = harmonic.get_controls(*controls())
  np.testing.assert_allclose(scaled['amplitudes'][0, 0], [true_amp], rtol=0.05)
  np.testing.assert_allclose(scaled['harmonic_distribution'][0, 0], true_dist,
                             rtol=0.05)


@pytest.mark.slow
def test_filtered_noise_gradients_recover_magnitudes(monkeypatch):
  """SGD on a multi-scale spectral L1 finds hidden noise band magnitudes.

  The noise of FilteredNoise.get_signal is replaced by one fixed uniform
  noise tensor, shared by the target and every prediction, so the loss
  compares filters rather than noise draws; the gradient still flows
  through the synth's own get_controls and get_signal.

  The magnitudes -> Hann-windowed FIR map has exactly one null direction:
  the alternating pattern (+1, -1, +1, ...) across bands only reaches the
  IR tap at n_fft / 2, which the window zeroes. No loss can see that
  component, so the start and the target agree on it (sum of (-1)^k m_k =
  0.5 for both), and plain SGD with momentum (whose steps stay orthogonal to
  the null direction) is used rather than Adam (whose per-coordinate steps
  drift along it).
  """
  n_samples, n_frames = 4000, 4
  fixed_noise = tf.constant(np.random.default_rng(0).uniform(
      -1.0, 1.0, (1, n_samples)).astype(np.float32))
  original_uniform = tf.random.uniform

  def fixed_uniform(shape, minval=0.0, maxval=None, *args, **kwargs):
    if minval == -1.0 and maxval == 1.0:
      return fixed_noise
    return original_uniform(shape, minval, maxval, *args, **kwargs)

  monkeypatch.setattr(tf.random, 'uniform', fixed_uniform)
  noise = synths.FilteredNoise(n_samples=n_samples, window_size=0,
                               scale_fn=None)
  true_mags = np.array([0.9, 0.7, 0.6, 0.5, 0.4, 0.5, 0.3, 0.35, 0.35],
                       np.float32)
  start = np.full(9, 0.5, np.float32)
  alternating = (-1.0)**np.arange(9)
  assert np.dot(true_mags, alternating) == pytest.approx(
      np.dot(start, alternating))
  target = noise(const(true_mags, n_frames, 9))
  mags = tf.Variable(start[None, None, :])

  schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 250, 0.01)
  loss = fit([mags],
             lambda: multiscale_l1(target,
                                   noise(tf.tile(mags, [1, n_frames, 1]))),
             keras.optimizers.SGD(schedule, momentum=0.9), steps=250)
  assert np.isfinite(loss)
  recovered = noise.get_controls(tf.tile(mags, [1, n_frames, 1]))
  np.testing.assert_allclose(recovered['magnitudes'][0, 0], true_mags,
                             rtol=0.05)


# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------
def harmonic_controls(n_frames=100, amp_frames=None, dist_frames=None,
                      f0_frames=None, amp_channels=1):
  return (np.ones((1, amp_frames or n_frames, amp_channels), np.float32),
          np.ones((1, dist_frames or n_frames, 4), np.float32),
          np.full((1, f0_frames or n_frames, 1), 100.0, np.float32))


def test_harmonic_rank_2_controls_raise():
  amps, dist, f0 = harmonic_controls()
  with pytest.raises(ValueError, match=r'amplitudes.*rank 3.*\[1, 100\]'):
    synths.Harmonic(precise_phase=True, n_samples=16000)(amps[..., 0], dist, f0)
  with pytest.raises(ValueError, match=r'f0_hz.*rank 3.*\[1, 100\]'):
    synths.Harmonic(precise_phase=True, n_samples=16000)(amps, dist, f0[..., 0])


@pytest.mark.parametrize('kwargs, match', [
    (dict(amp_frames=50), r'\[1, 50, 1\]'),
    pytest.param(dict(dist_frames=50), r'\[1, 50, 4\]'),
    pytest.param(dict(f0_frames=50), r'\[1, 50, 1\]'),
    pytest.param(dict(amp_channels=2), r'\[1, 100, 2\]'),
])
def test_harmonic_mismatched_controls_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    synths.Harmonic(precise_phase=True, n_samples=16000)(*harmonic_controls(**kwargs))


def test_harmonic_window_needs_n_samples_multiple_of_frames():
  with pytest.raises(ValueError, match='16001'):
    synths.Harmonic(precise_phase=True, n_samples=16001)(*harmonic_controls())


@pytest.mark.parametrize('cls', [synths.Harmonic, synths.Wavetable])
def test_negative_f0_raises(cls):
  amps, dist, f0 = harmonic_controls()
  f0[0, 10, 0] = -5.5
  with pytest.raises(ValueError, match=r'-5\.5'):
    cls(n_samples=16000)(amps, dist, f0)


def test_negative_f0_fails_in_tf_function():
  amps, dist, f0 = harmonic_controls()
  f0[0, 10, 0] = -5.5
  run = tf.function(synths.Harmonic(precise_phase=True, n_samples=16000))
  with pytest.raises(tf.errors.InvalidArgumentError, match='f0_hz'):
    run(amps, dist, f0)


def test_wavetable_bad_controls_raise():
  amps, _, f0 = harmonic_controls()
  tables = np.ones((1, 100, 64), np.float32)
  wavetable = synths.Wavetable(precise_phase=True, n_samples=16000)
  with pytest.raises(ValueError, match=r'wavetables.*rank 3.*\[100, 64\]'):
    wavetable(amps, tables[0], f0)
  with pytest.raises(ValueError, match=r'\[1, 50, 1\]'):
    wavetable(amps, tables, f0[:, :50])
  with pytest.raises(ValueError, match='16001'):
    synths.Wavetable(precise_phase=True, n_samples=16001)(amps, tables, f0)


@pytest.mark.parametrize('amp_shape, freq_shape, match', [
    ((1, 100), (1, 100, 3), r'amplitudes.*rank 3.*\[1, 100\]'),
    ((1, 100, 3), (100, 3), r'frequencies.*rank 3.*\[100, 3\]'),
    pytest.param((1, 100, 3), (1, 50, 3), r'\[1, 50, 3\]'),
    pytest.param((1, 100, 3), (1, 100, 4), r'\[1, 100, 4\]'),
])
def test_sinusoidal_bad_controls_raise(amp_shape, freq_shape, match):
  with pytest.raises(ValueError, match=match):
    synths.Sinusoidal(precise_phase=True, n_samples=16000)(np.ones(amp_shape, np.float32),
                                       np.ones(freq_shape, np.float32))


def test_sinusoidal_window_needs_n_samples_multiple_of_frames():
  with pytest.raises(ValueError, match='16001'):
    synths.Sinusoidal(precise_phase=True, n_samples=16001)(np.ones((1, 100, 3), np.float32),
                                       np.ones((1, 100, 3), np.float32))


def test_filtered_noise_bad_controls_raise():
  noise = synths.FilteredNoise(n_samples=1000)
  with pytest.raises(ValueError, match=r'magnitudes.*rank 3.*\[100, 9\]'):
    noise(np.ones((100, 9), np.float32))
  with pytest.raises(ValueError, match='2000 frames.*n_samples=1000'):
    noise(np.ones((1, 2000, 9), np.float32))


@pytest.mark.parametrize('kwargs, match', [
    (dict(n_samples=0), 'n_samples=0'),
    (dict(n_samples=1.5), 'n_samples=1.5'),
    (dict(sample_rate=-16000), '-16000'),
    (dict(amp_resample_method='bicubic'), 'bicubic'),
])
def test_harmonic_bad_constructor_arguments_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    synths.Harmonic(precise_phase=True, **kwargs)


def test_filtered_noise_frames_need_not_divide_n_samples():
  """As the original: blocks of ceil(n_samples / n_frames) samples, so
  16001 samples in 100 frames render 16001 samples."""
  audio = synths.FilteredNoise(n_samples=16001)(np.ones((1, 100, 9),
                                                        np.float32))
  assert audio.shape == (1, 16001)
  assert np.all(np.isfinite(audio))
