"""Tests for ddsp_tf.effects: Reverb, ExpDecayReverb, FilteredNoiseReverb,
FIRFilter and ModDelay.

Every expected value comes from an independent source:
  * Reverb: scipy.signal.fftconvolve with the IR's first tap zeroed (the
    direct sound is the dry signal), causal, cropped to the input length;
  * ExpDecayReverb: the analytic envelope gain * exp(-(2 + exp(decay)) t),
    t = linspace(0, 1, reverb_length), checked by a log-RMS fit and by the
    bound |ir| <= envelope (the noise is uniform in [-1, 1]);
  * FIRFilter: measured gains of sines at FFT-bin frequencies, and a numpy
    linear-phase FIR (irfft of the magnitudes, centred at W // 2, periodic
    Hann window of period W peaking there, delay W // 2 compensated);
  * ModDelay: a numpy fractional delay line,
    y[n] = dry[n] + gain[n] * x(n - d[n]),
    d[n] = sr * (center_ms + depth_ms * phase[n]) / 1000 samples,
    with linear interpolation and zeros before the start; frame-rate gain and
    phase are upsampled linearly with output step n at frame n * n_frames /
    n_samples, the last frame held.
"""

import gin
import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from numpy_reference import f32, f64, ref_frequency_ir, sigmoid
from ddsp_tf import core
from ddsp_tf import effects

SR = 16000
TWO_PI = 2.0 * np.pi


# ----------------------------------------------------------------------------
# Independent numpy references.
# ----------------------------------------------------------------------------


def np_exp_sigmoid(x):
  """2 * sigmoid(x) ** ln(10) + 1e-7 (magenta/ddsp's default scale_fn)."""
  return 2.0 * sigmoid(x)**np.log(10.0) + 1e-7


def ref_reverb(audio, ir, add_dry=True):
  """Causal convolution with tap 0 zeroed, cropped to len(audio) (+ dry)."""
  audio = f64(audio)
  ir = np.broadcast_to(f64(ir), (audio.shape[0], np.shape(ir)[-1])).copy()
  ir[:, 0] = 0.0
  n = audio.shape[-1]
  wet = np.stack([scipy.signal.fftconvolve(a, h)[:n]
                  for a, h in zip(audio, ir)])
  return wet + audio if add_dry else wet


def ref_fir_filter(audio, magnitudes, window_size=0):
  """Filters each [n] audio row with its magnitudes [n_bins] (LTI)."""
  out = []
  for x, mags in zip(f64(audio), np.broadcast_to(
      f64(magnitudes), (len(audio), np.shape(magnitudes)[-1]))):
    ir = ref_frequency_ir(mags, window_size)
    start = len(ir) // 2
    out.append(np.convolve(x, ir)[start:start + len(x)])
  return np.stack(out)


def ref_upsample_linear(frames, n_samples):
  """[n_frames] -> [n_samples]; step n at frame n * n_frames / n_samples."""
  frames = np.asarray(frames, np.float64)
  pos = np.arange(n_samples) * len(frames) / n_samples
  return np.interp(pos, np.arange(len(frames)), frames)  # holds the last.


def ref_fractional_read(x, t):
  """x at fractional times t, linear interpolation, x[j] = 0 for j < 0."""
  x = np.asarray(x, np.float64)
  lower = np.floor(t).astype(int)
  frac = t - lower

  def at(j):
    return np.where(j >= 0, x[np.clip(j, 0, len(x) - 1)], 0.0)

  return (1.0 - frac) * at(lower) + frac * at(lower + 1)


def ref_mod_delay(audio, gain, phase, center_ms, depth_ms, sample_rate=SR,
                  add_dry=True):
  """audio [B, n]; gain, phase [B, n_frames, 1], already scaled."""
  audio = f64(audio)
  n = audio.shape[-1]
  out = []
  for x, g_frames, p_frames in zip(audio, f64(gain), f64(phase)):
    g = ref_upsample_linear(g_frames[:, 0], n)
    p = ref_upsample_linear(p_frames[:, 0], n)
    delay = sample_rate * (center_ms + depth_ms * p) / 1000.0
    wet = g * ref_fractional_read(x, np.arange(n) - delay)
    out.append(wet + x if add_dry else wet)
  return np.stack(out)


def smooth_audio(batch, n, seed=0):
  """Sums of low sines (|x'| small, so float32 read positions barely matter)."""
  rng = np.random.default_rng(seed)
  t = np.arange(n) / SR
  rows = []
  for _ in range(batch):
    freqs = rng.uniform(100.0, 400.0, 3)
    phases = rng.uniform(0, TWO_PI, 3)
    amps = rng.uniform(0.1, 0.4, 3)
    rows.append(np.sum(amps[:, None] * np.sin(
        TWO_PI * freqs[:, None] * t + phases[:, None]), axis=0))
  return f32(rows)


def noise(shape, seed=0):
  return f32(np.random.default_rng(seed).standard_normal(shape))


def analytic_envelope(gain, decay, length):
  t = np.linspace(0.0, 1.0, length)
  return gain * np.exp(-(2.0 + np.exp(decay)) * t)


def fitted_decay_rate(ir, window=250):
  """Slope of log windowed-RMS against t (t from 0 to 1 over the IR)."""
  ir = np.asarray(ir, np.float64)
  length = len(ir)
  t = np.linspace(0.0, 1.0, length)
  n_windows = length // window
  rms = np.sqrt(np.mean(ir[:n_windows * window].reshape(n_windows, -1)**2,
                        axis=1))
  centres = t[:n_windows * window].reshape(n_windows, -1).mean(axis=1)
  slope, _ = np.polyfit(centres, np.log(rms), 1)
  return -slope


def weight_named(layer, name):
  """The layer's weight called `name` (exactly one)."""
  found = [w for w in layer.weights if w.name == name]
  assert len(found) == 1, [w.name for w in layer.weights]
  return found[0]


def assert_under_envelope(ir, envelope):
  """Uniform noise in [-1, 1] times the envelope: bounded by it, and filling
  it (some sample within 5 % of it) in every row."""
  ratio = np.abs(np.atleast_2d(ir)) / np.atleast_2d(envelope)
  assert np.all(ratio <= 1.0 + 1e-4)
  assert np.all(ratio.max(axis=-1) > 0.95)


# ----------------------------------------------------------------------------
# Reverb.
# ----------------------------------------------------------------------------
N_REVERB = 2000


@pytest.mark.parametrize('ir_rank', [2, 3])
@pytest.mark.parametrize('add_dry', [True, False])
def test_reverb_delta_at_tap_zero_is_dry_only(ir_rank, add_dry):
  audio = noise([2, N_REVERB], seed=1)
  ir = np.zeros([2, 64], np.float32)
  ir[:, 0] = 0.7  # Direct sound: always replaced by the dry path.
  if ir_rank == 3:
    ir = ir[..., None]
  out = effects.Reverb(add_dry=add_dry)(audio, ir).numpy()
  expected = audio if add_dry else np.zeros_like(audio)
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('ir_rank', [2, 3])
@pytest.mark.parametrize('add_dry', [True, False])
@pytest.mark.parametrize('k', [1, 7, 150])
def test_reverb_delta_at_tap_k_delays_by_k(k, add_dry, ir_rank):
  audio = noise([2, N_REVERB], seed=2)
  ir = np.zeros([2, 200], np.float32)
  ir[0, k] = 1.0
  ir[1, k] = -0.5
  if ir_rank == 3:
    ir = ir[..., None]
  out = effects.Reverb(add_dry=add_dry)(audio, ir).numpy()
  delayed = np.zeros_like(audio)
  delayed[:, k:] = audio[:, :-k]
  delayed *= np.array([[1.0], [-0.5]], np.float32)
  expected = delayed + audio if add_dry else delayed
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('ir_size', [300, 2500])  # Shorter / longer than audio.
@pytest.mark.parametrize('add_dry', [True, False])
def test_reverb_matches_scipy_convolution(add_dry, ir_size):
  audio = noise([2, N_REVERB], seed=3)
  ir = noise([2, ir_size], seed=4) * f32(np.exp(-np.arange(ir_size) / 100.0))
  reverb = effects.Reverb(add_dry=add_dry)
  out = reverb(audio, ir).numpy()
  expected = ref_reverb(audio, ir, add_dry)
  np.testing.assert_allclose(out, expected, atol=2e-4 * np.abs(expected).max())
  controls = reverb.get_controls(audio, ir[..., None])
  assert sorted(controls) == ['audio', 'ir']
  assert controls['ir'].shape == (2, ir_size)


def test_trainable_reverb_ir_weight_is_shared_by_the_batch():
  reverb = effects.Reverb(trainable=True, reverb_length=100)
  audio = noise([3, N_REVERB], seed=5)
  reverb(audio)  # Builds.
  assert [tuple(w.shape) for w in reverb.trainable_weights] == [(100,)]
  assert not reverb.non_trainable_weights
  ir = noise([100], seed=6)
  reverb.set_weights([ir])
  out = reverb(audio).numpy()
  np.testing.assert_allclose(out, ref_reverb(audio, ir[None], True),
                             atol=1e-4)
  controls = reverb.get_controls(audio)
  assert sorted(controls) == ['audio', 'ir']
  np.testing.assert_array_equal(controls['ir'].numpy(), np.tile(ir, [3, 1]))


def test_non_trainable_reverb_without_ir_raises():
  with pytest.raises(ValueError, match='ir'):
    effects.Reverb()(noise([1, 100]))


# ----------------------------------------------------------------------------
# ExpDecayReverb.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('decay', [0.0, 1.0, 2.5])
def test_exp_decay_reverb_decays_at_the_set_rate(decay):
  length = 16000
  reverb = effects.ExpDecayReverb(reverb_length=length, scale_fn=None)
  ir = reverb.get_controls(noise([1, 500]), f32([[1.0]]),
                           f32([[decay]]))['ir'].numpy()[0]
  assert ir.shape == (length,)
  rate = 2.0 + np.exp(decay)
  assert fitted_decay_rate(ir) == pytest.approx(rate, rel=0.05)
  # Uniform noise in [-1, 1] under the envelope: never above it, and it
  # fills it (peaks near 1, RMS near 1 / sqrt(3)).
  envelope = analytic_envelope(1.0, decay, length)
  ratio = ir / envelope
  assert np.all(np.abs(ratio) <= 1.0 + 1e-4)
  assert np.abs(ratio).max() > 0.99
  assert np.std(ratio) == pytest.approx(1.0 / np.sqrt(3.0), rel=0.05)


def test_exp_decay_reverb_gain_scales_ir_linearly():
  reverb = effects.ExpDecayReverb(reverb_length=3000, scale_fn=None)
  audio = noise([2, 500])
  gains, decay = f32([[0.5], [2.0]]), f32([[1.0], [1.0]])
  ir = reverb.get_controls(audio, gains, decay)['ir'].numpy()
  np.testing.assert_allclose(ir[1], 4.0 * ir[0], rtol=1e-5, atol=1e-9)
  # The default scale_fn is exp_sigmoid on the raw gain.
  scaled = effects.ExpDecayReverb(reverb_length=3000)
  ir_scaled = scaled.get_controls(audio, gains, decay)['ir'].numpy()
  ratio = np_exp_sigmoid(0.5) / 0.5
  np.testing.assert_allclose(ir_scaled[0], ratio * ir[0], rtol=1e-4,
                             atol=1e-9)


def test_exp_decay_reverb_same_controls_give_same_ir():
  audio = noise([1, 500])
  gain, decay = f32([[0.8]]), f32([[2.0]])
  one = effects.ExpDecayReverb(reverb_length=1000, scale_fn=None,
                               noise_seed=3)
  two = effects.ExpDecayReverb(reverb_length=1000, scale_fn=None,
                               noise_seed=3)
  other = effects.ExpDecayReverb(reverb_length=1000, scale_fn=None,
                                 noise_seed=4)
  ir_one = one.get_controls(audio, gain, decay)['ir'].numpy()
  np.testing.assert_array_equal(
      ir_one, one.get_controls(audio, gain, decay)['ir'].numpy())
  np.testing.assert_array_equal(
      ir_one, two.get_controls(audio, gain, decay)['ir'].numpy())
  ir_other = other.get_controls(audio, gain, decay)['ir'].numpy()
  assert np.abs(ir_one - ir_other).max() > 0.1


def test_exp_decay_reverb_output_is_convolution_with_its_ir():
  reverb = effects.ExpDecayReverb(reverb_length=800, scale_fn=None)
  audio = noise([2, N_REVERB], seed=7)
  gain, decay = f32([[0.3], [1.5]]), f32([[1.0], [3.0]])
  out = reverb(audio, gain, decay, return_outputs_dict=True)
  ir = out['controls']['ir'].numpy()
  assert_under_envelope(ir, analytic_envelope(f64(gain), f64(decay), 800))
  np.testing.assert_allclose(out['signal'].numpy(), ref_reverb(audio, ir),
                             atol=1e-4)


def test_trainable_exp_decay_reverb_weights():
  reverb = effects.ExpDecayReverb(trainable=True, reverb_length=500)
  reverb(noise([2, 300]))
  for name, initial in (('gain', 2.0), ('decay', 4.0)):
    weight = weight_named(reverb, name)
    assert weight.trainable
    np.testing.assert_array_equal(weight.numpy(), [initial])
  assert not reverb.non_trainable_weights
  ir = reverb.get_controls(noise([2, 300]))['ir'].numpy()
  assert_under_envelope(ir, analytic_envelope(np_exp_sigmoid(2.0), 4.0, 500))
  np.testing.assert_array_equal(ir[0], ir[1])


def test_exp_decay_reverb_initial_values_set_the_starting_room():
  length = 16000
  reverb = effects.ExpDecayReverb(trainable=True, reverb_length=length,
                                  scale_fn=None, initial_gain=0.5,
                                  initial_decay=1.0)
  ir = reverb.get_controls(noise([1, 300]))['ir'].numpy()[0]
  assert fitted_decay_rate(ir) == pytest.approx(2.0 + np.e, rel=0.05)
  assert_under_envelope(ir, analytic_envelope(0.5, 1.0, length))
  restored = effects.ExpDecayReverb.from_config(reverb.get_config())
  np.testing.assert_array_equal(
      restored.get_controls(noise([1, 300]))['ir'].numpy()[0], ir)


@pytest.mark.parametrize('kwargs', [{'initial_gain': float('nan')},
                                    {'initial_decay': 'long'}])
def test_exp_decay_reverb_rejects_bad_initial_values(kwargs):
  name = next(iter(kwargs))
  with pytest.raises(ValueError, match=name):
    effects.ExpDecayReverb(trainable=True, **kwargs)


@pytest.mark.parametrize('make,expected', [
    (lambda: effects.ExpDecayReverb(trainable=True, reverb_length=500),
     {'gain': (1,), 'decay': (1,)}),
    (lambda: effects.FilteredNoiseReverb(trainable=True, reverb_length=500,
                                         n_frames=10, n_filter_banks=4),
     {'magnitudes': (10, 4)}),
], ids=['ExpDecayReverb', 'FilteredNoiseReverb'])
def test_trainable_reverb_subclasses_have_only_their_own_weights(make,
                                                                 expected):
  tf.random.set_seed(0)
  reverb = make()
  reverb(noise([2, 300]))
  assert {w.name: tuple(w.shape) for w in reverb.weights} == expected


def test_non_trainable_exp_decay_reverb_without_controls_raises():
  reverb = effects.ExpDecayReverb(reverb_length=100)
  with pytest.raises(ValueError, match='gain and decay'):
    reverb(noise([1, 100]), f32([[1.0]]))


# ----------------------------------------------------------------------------
# FilteredNoiseReverb.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('trainable', [True, False])
def test_filtered_noise_reverb_shapes(trainable):
  tf.random.set_seed(0)
  reverb = effects.FilteredNoiseReverb(trainable=trainable, reverb_length=1200,
                                       n_frames=30, n_filter_banks=8)
  audio = noise([3, N_REVERB])
  magnitudes = None if trainable else noise([3, 30, 8], seed=1)
  out = reverb(audio, magnitudes, return_outputs_dict=True)
  assert out['signal'].shape == (3, N_REVERB)
  assert sorted(out['controls']) == ['audio', 'ir']
  assert out['controls']['ir'].shape == (3, 1200)
  assert np.all(np.isfinite(out['signal'].numpy()))
  if trainable:
    magnitudes = weight_named(reverb, 'magnitudes')
    assert magnitudes.trainable and tuple(magnitudes.shape) == (30, 8)
  else:
    assert not reverb.trainable_weights
  assert not reverb.non_trainable_weights
  # The output is the convolution with the IR it reports.
  np.testing.assert_allclose(out['signal'].numpy(),
                             ref_reverb(audio, out['controls']['ir']),
                             atol=1e-4)


def test_filtered_noise_reverb_ir_follows_magnitudes():
  """Low bands on, high bands off: the IR's spectrum is low-pass."""
  tf.random.set_seed(1)
  reverb = effects.FilteredNoiseReverb(reverb_length=8000, n_frames=10,
                                       n_filter_banks=16, scale_fn=None)
  magnitudes = np.zeros([1, 10, 16], np.float32)
  magnitudes[..., :6] = 1.0  # Bands 0..5 of 16 cover 0 - 2667 Hz.
  ir = reverb.get_controls(noise([1, 100]), magnitudes)['ir'].numpy()[0]
  freqs, psd = scipy.signal.welch(ir, fs=SR, nperseg=512)
  low = psd[freqs < 2000].mean()
  high = psd[freqs > 5000].mean()
  assert low > 0
  assert high < 1e-3 * low


def test_filtered_noise_reverb_length_not_multiple_of_frames_raises():
  with pytest.raises(ValueError, match=r'1000.*300'):
    effects.FilteredNoiseReverb(reverb_length=1000, n_frames=300)


def test_non_trainable_filtered_noise_reverb_without_magnitudes_raises():
  reverb = effects.FilteredNoiseReverb(reverb_length=100, n_frames=10)
  with pytest.raises(ValueError, match='magnitudes'):
    reverb(noise([1, 100]))


# ----------------------------------------------------------------------------
# FIRFilter.
# ----------------------------------------------------------------------------
def test_fir_filter_measured_gain_of_sines_matches_magnitudes():
  """Sines at FFT-bin frequencies come out scaled by the bin's magnitude.

  A linear ramp of 129 magnitudes (256-tap filter): the periodic Hann taper
  averages neighbouring bins with weights 1/4, 1/2, 1/4, which leaves a
  ramp unchanged at interior bins. The filter is zero phase after delay
  compensation, so y = m_k * x once the filter is fully inside the signal.
  """
  n_bins, n = 129, 4096
  magnitudes = f32(0.1 + 0.9 * np.arange(n_bins) / (n_bins - 1))
  bins = np.array([3, 20, 64, 101, 126])
  t = np.arange(n)
  audio = f32([np.sin(TWO_PI * k * t / 256.0 + 0.3 * k) for k in bins])
  out = effects.FIRFilter(centered=True, scale_fn=None)(
      audio, np.tile(magnitudes, [len(bins), 1])).numpy()
  steady = slice(256, n - 256)
  for row, k in enumerate(bins):
    # Least-squares amplitude and phase of the output sine.
    basis = np.stack([np.sin(TWO_PI * k * t / 256.0 + 0.3 * k),
                      np.cos(TWO_PI * k * t / 256.0 + 0.3 * k)], axis=1)
    (in_phase, quadrature), *_ = np.linalg.lstsq(basis[steady],
                                                 out[row, steady], rcond=None)
    assert in_phase == pytest.approx(magnitudes[k], rel=1e-3)
    assert abs(quadrature) < 1e-3
    np.testing.assert_allclose(out[row, steady],
                               magnitudes[k] * audio[row, steady], atol=1e-4)


def test_fir_filter_white_noise_psd_follows_magnitudes():
  """Welch PSD ratio of filtered / input white noise ~ |H|^2 (smooth H)."""
  n_bins = 65
  freqs_bins = np.linspace(0.0, SR / 2.0, n_bins)
  magnitudes = f32(1.0 + 0.8 * np.cos(TWO_PI * freqs_bins / 8000.0))
  audio = noise([1, 64000], seed=8)
  out = effects.FIRFilter(centered=True, window_size=0, scale_fn=None)(
      audio, magnitudes[None]).numpy()
  f, psd_in = scipy.signal.welch(audio[0], fs=SR, nperseg=256)
  _, psd_out = scipy.signal.welch(out[0], fs=SR, nperseg=256)
  expected = np.interp(f, freqs_bins, f64(magnitudes))**2
  inner = (f > 300) & (f < 7700)
  np.testing.assert_allclose(psd_out[inner] / psd_in[inner], expected[inner],
                             rtol=0.1)


@pytest.mark.parametrize('n_bins,window_size', [(129, 257), (129, 64),
                                                 (65, 0)])
def test_fir_filter_matches_numpy_linear_phase_fir(n_bins, window_size):
  audio = noise([2, 3000], seed=9)
  magnitudes = f32(np.random.default_rng(10).uniform(0.0, 2.0, [2, n_bins]))
  out = effects.FIRFilter(centered=True, window_size=window_size, scale_fn=None)(
      audio, magnitudes).numpy()
  expected = ref_fir_filter(audio, magnitudes, window_size)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_fir_filter_time_varying_flat_gains_switch_per_block():
  """Flat magnitudes make a centred delta, so each block is just scaled."""
  gains = np.array([1.0, 0.5, 2.0, 0.0])
  magnitudes = np.tile(f32(gains)[None, :, None], [1, 1, 33])
  audio = noise([1, 4096], seed=11)
  out = effects.FIRFilter(centered=True, scale_fn=None)(audio, magnitudes).numpy()
  expected = audio * np.repeat(gains, 1024)[None]
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_fir_filter_default_scale_fn_is_exp_sigmoid():
  audio = noise([1, 1024], seed=12)
  raw = np.full([1, 33], 0.7, np.float32)  # Flat -> a pure gain.
  out = effects.FIRFilter(centered=True)(audio, raw, return_outputs_dict=True)
  assert sorted(out['controls']) == ['audio', 'magnitudes']
  np.testing.assert_allclose(out['signal'].numpy(),
                             np_exp_sigmoid(0.7) * audio, rtol=1e-4,
                             atol=1e-6)


# ----------------------------------------------------------------------------
# ModDelay.
# ----------------------------------------------------------------------------
N_DELAY, N_DELAY_FRAMES = 4000, 50


def slow_controls(batch=2):
  frames = np.arange(N_DELAY_FRAMES) / N_DELAY_FRAMES
  phase = np.stack([0.5 + 0.45 * np.sin(TWO_PI * (1.5 + b) * frames + b)
                    for b in range(batch)])
  gain = np.stack([0.6 + 0.3 * np.cos(TWO_PI * frames + b)
                   for b in range(batch)])
  return f32(gain[..., None]), f32(phase[..., None])


@pytest.mark.parametrize('add_dry', [True, False])
@pytest.mark.parametrize('varying', [False, True])
def test_mod_delay_matches_numpy_fractional_delay(varying, add_dry):
  audio = smooth_audio(2, N_DELAY)
  if varying:
    gain, phase = slow_controls()
  else:  # Constant fractional delays: 16 * (15 + 10 * p) = 299.2, 376.0 ...
    gain = np.full([2, N_DELAY_FRAMES, 1], 0.8, np.float32)
    phase = f32(np.array([0.37, 0.9])[:, None, None] *
                np.ones([2, N_DELAY_FRAMES, 1]))
  delay = effects.ModDelay(exact_delay=True, gain_scale_fn=None, phase_scale_fn=None,
                           add_dry=add_dry)
  out = delay(audio, gain, phase).numpy()
  expected = ref_mod_delay(audio, gain, phase, 15.0, 10.0, add_dry=add_dry)
  np.testing.assert_allclose(out, expected, atol=1e-4)
  # The delayed copy really is there (not just dry audio).
  wet = expected - (audio if add_dry else 0.0)
  assert np.abs(wet).max() > 0.1


def test_mod_delay_other_settings_and_default_scale_fns():
  audio = smooth_audio(2, N_DELAY, seed=3)
  raw_gain = f32(np.linspace(-1.0, 1.0, N_DELAY_FRAMES)[None, :, None]
                 * np.ones([2, 1, 1]))
  raw_phase = f32(np.linspace(-3.0, 3.0, N_DELAY_FRAMES)[None, :, None]
                  * np.array([1.0, -1.0])[:, None, None])
  delay = effects.ModDelay(exact_delay=True, center_ms=2.0, depth_ms=3.0, sample_rate=16000)
  out = delay(audio, raw_gain, raw_phase).numpy()
  expected = ref_mod_delay(audio, np_exp_sigmoid(raw_gain),
                           sigmoid(raw_phase), 2.0, 3.0)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_mod_delay_non_integer_maximum_delay():
  # 44.1 kHz, 15 + 10 ms: the maximum delay is 1102.5 samples.
  sr, n = 44100, 4000
  t = np.arange(n) / sr
  audio = f32([0.5 * np.sin(TWO_PI * 300.0 * t)])
  gain = np.ones([1, 20, 1], np.float32)
  phase = np.ones([1, 20, 1], np.float32)
  delay = effects.ModDelay(exact_delay=True, sample_rate=sr, gain_scale_fn=None,
                           phase_scale_fn=None, add_dry=False)
  out = delay(audio, gain, phase).numpy()
  expected = ref_mod_delay(audio, gain, phase, 15.0, 10.0, sr, add_dry=False)
  np.testing.assert_allclose(out, expected, atol=1e-4)


# ----------------------------------------------------------------------------
# .keras save / load.
# ----------------------------------------------------------------------------
def _save_and_load(model, tmp_path):
  path = str(tmp_path / 'model.keras')
  model.save(path)
  return keras.models.load_model(path)


def test_reverb_keras_roundtrip(tmp_path):
  audio_in = keras.Input(shape=(N_REVERB,))
  ir_in = keras.Input(shape=(120,))
  model = keras.Model([audio_in, ir_in],
                      effects.Reverb(add_dry=False)(audio_in, ir_in))
  loaded = _save_and_load(model, tmp_path)
  audio, ir = noise([2, N_REVERB], seed=1), noise([2, 120], seed=2)
  expected = ref_reverb(audio, ir, add_dry=False)
  np.testing.assert_allclose(loaded([audio, ir]).numpy(), expected, atol=1e-4)
  np.testing.assert_allclose(loaded([audio, ir]).numpy(),
                             model([audio, ir]).numpy(), atol=1e-6)


def test_trainable_reverb_keras_roundtrip_restores_ir(tmp_path):
  audio_in = keras.Input(shape=(N_REVERB,))
  model = keras.Model(audio_in,
                      effects.Reverb(trainable=True, reverb_length=120,
                                     name='room')(audio_in))
  ir = noise([120], seed=3)
  model.get_layer('room').set_weights([ir])
  loaded = _save_and_load(model, tmp_path)
  layer = loaded.get_layer('room')
  assert layer.reverb_length == 120 and layer.trainable
  np.testing.assert_array_equal(layer.get_weights()[0], ir)
  audio = noise([2, N_REVERB], seed=4)
  np.testing.assert_allclose(loaded(audio).numpy(),
                             ref_reverb(audio, ir[None]), atol=1e-4)


def test_exp_decay_reverb_keras_roundtrip(tmp_path):
  audio_in = keras.Input(shape=(N_REVERB,))
  gain_in, decay_in = keras.Input(shape=(1,)), keras.Input(shape=(1,))
  layer = effects.ExpDecayReverb(reverb_length=600, scale_fn=None,
                                 noise_seed=5, name='edr')
  model = keras.Model([audio_in, gain_in, decay_in],
                      layer(audio_in, gain_in, decay_in))
  loaded = _save_and_load(model, tmp_path)
  reloaded = loaded.get_layer('edr')
  assert (reloaded.reverb_length, reloaded.scale_fn,
          reloaded.noise_seed) == (600, None, 5)
  audio, gain, decay = noise([2, N_REVERB]), f32([[0.5], [1.0]]), f32(
      [[1.0], [2.0]])
  out = loaded([audio, gain, decay]).numpy()
  np.testing.assert_allclose(out, model([audio, gain, decay]).numpy(),
                             atol=1e-6)
  ir = layer.get_controls(audio, gain, decay)['ir'].numpy()
  assert_under_envelope(ir, analytic_envelope(f64(gain), f64(decay), 600))
  np.testing.assert_allclose(out, ref_reverb(audio, ir), atol=1e-4)


def test_trainable_exp_decay_reverb_keras_roundtrip_restores_weights(tmp_path):
  audio_in = keras.Input(shape=(N_REVERB,))
  model = keras.Model(audio_in, effects.ExpDecayReverb(
      trainable=True, reverb_length=600, name='edr')(audio_in))
  layer = model.get_layer('edr')
  new_values = {'gain': f32([-0.5]), 'decay': f32([1.25])}
  for name, value in new_values.items():
    weight_named(layer, name).assign(value)
  loaded = _save_and_load(model, tmp_path)
  for name, value in new_values.items():
    np.testing.assert_array_equal(
        weight_named(loaded.get_layer('edr'), name).numpy(), value)
  audio = noise([2, N_REVERB], seed=6)
  out = loaded(audio, return_outputs_dict=False).numpy()
  ir = loaded.get_layer('edr').get_controls(audio)['ir'].numpy()
  # Envelope of the restored (not initial) gain and decay.
  assert_under_envelope(ir, analytic_envelope(np_exp_sigmoid(-0.5), 1.25,
                                             600))
  np.testing.assert_allclose(out, ref_reverb(audio, ir), atol=1e-4)
  np.testing.assert_allclose(out, model(audio).numpy(), atol=1e-6)


def test_trainable_filtered_noise_reverb_keras_roundtrip(tmp_path):
  audio_in = keras.Input(shape=(N_REVERB,))
  model = keras.Model(audio_in, effects.FilteredNoiseReverb(
      trainable=True, reverb_length=400, n_frames=10, n_filter_banks=4,
      initial_bias=-1.0, name='fnr')(audio_in))
  magnitudes = noise([10, 4], seed=7)
  weight_named(model.get_layer('fnr'), 'magnitudes').assign(magnitudes)
  loaded = _save_and_load(model, tmp_path)
  layer = loaded.get_layer('fnr')
  assert (layer.reverb_length, layer.n_frames, layer.n_filter_banks,
          layer.initial_bias) == (400, 10, 4, -1.0)
  np.testing.assert_array_equal(weight_named(layer, 'magnitudes').numpy(),
                                magnitudes)
  audio = noise([2, N_REVERB], seed=8)
  assert loaded(audio).shape == (2, N_REVERB)
  out = layer(audio, return_outputs_dict=True)
  # The IR is fresh noise each call; its own convolution must match.
  np.testing.assert_allclose(out['signal'].numpy(),
                             ref_reverb(audio, out['controls']['ir']),
                             atol=1e-4)


def test_fir_filter_keras_roundtrip(tmp_path):
  audio_in = keras.Input(shape=(3000,))
  mags_in = keras.Input(shape=(129,))
  model = keras.Model([audio_in, mags_in], effects.FIRFilter(
      window_size=64, scale_fn=None, name='fir', centered=True)(audio_in, mags_in))
  loaded = _save_and_load(model, tmp_path)
  assert loaded.get_layer('fir').window_size == 64
  audio = noise([2, 3000], seed=9)
  mags = f32(np.random.default_rng(1).uniform(0, 2, [2, 129]))
  np.testing.assert_allclose(loaded([audio, mags]).numpy(),
                             ref_fir_filter(audio, mags, 64), atol=1e-4)


def test_mod_delay_keras_roundtrip(tmp_path):
  audio_in = keras.Input(shape=(N_DELAY,))
  gain_in = keras.Input(shape=(N_DELAY_FRAMES, 1))
  phase_in = keras.Input(shape=(N_DELAY_FRAMES, 1))
  model = keras.Model([audio_in, gain_in, phase_in], effects.ModDelay(
      center_ms=5.0, depth_ms=2.5, gain_scale_fn=None, phase_scale_fn=None,
      add_dry=False, name='chorus', exact_delay=True)(audio_in, gain_in, phase_in))
  loaded = _save_and_load(model, tmp_path)
  layer = loaded.get_layer('chorus')
  assert (layer.center_ms, layer.depth_ms, layer.add_dry) == (5.0, 2.5, False)
  audio = smooth_audio(2, N_DELAY)
  gain, phase = slow_controls()
  np.testing.assert_allclose(
      loaded([audio, gain, phase]).numpy(),
      ref_mod_delay(audio, gain, phase, 5.0, 2.5, add_dry=False), atol=1e-4)


@pytest.mark.parametrize('layer', [
    effects.Reverb(trainable=True, reverb_length=777, add_dry=False),
    effects.ExpDecayReverb(reverb_length=555, scale_fn=tf.nn.softplus,
                           noise_seed=9),
    effects.FilteredNoiseReverb(reverb_length=600, window_size=33,
                                n_frames=20, n_filter_banks=5,
                                initial_bias=-2.0, add_dry=False),
    effects.FIRFilter(centered=True, window_size=99, scale_fn=tf.nn.relu),
    effects.ModDelay(exact_delay=True, center_ms=3.0, depth_ms=1.5, sample_rate=22050,
                     gain_scale_fn=None, phase_scale_fn=core.exp_sigmoid,
                     add_dry=False),
], ids=lambda layer: type(layer).__name__)
def test_serialize_keras_object_roundtrip_keeps_config(layer):
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert type(restored) is type(layer)
  for key in type(layer)._config_args:  # pylint: disable=protected-access
    assert getattr(restored, key) == getattr(layer, key), key
  assert restored.trainable == layer.trainable


# ----------------------------------------------------------------------------
# gin.
# ----------------------------------------------------------------------------
@gin.configurable
def effects_test_factory(effect=None):
  return effect


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.mark.parametrize('name,binding,attribute,value', [
    ('Reverb', 'reverb_length', 'reverb_length', 1000),
    ('ExpDecayReverb', 'noise_seed', 'noise_seed', 7),
    ('FilteredNoiseReverb', 'n_filter_banks', 'n_filter_banks', 12),
    ('FIRFilter', 'window_size', 'window_size', 65),
    ('ModDelay', 'center_ms', 'center_ms', 4.0),
])
def test_gin_bindings_apply_to_effects(clean_gin, name, binding, attribute,
                                       value):
  del clean_gin
  gin.parse_config(f"""
      effects_test_factory.effect = @effects.{name}()
      effects.{name}.{binding} = {value!r}
      effects.{name}.name = 'from_gin'
  """)
  layer = effects_test_factory()
  assert type(layer) is getattr(effects, name)
  assert getattr(layer, attribute) == value
  assert layer.name == 'from_gin'
  # A gin-made layer still saves to .keras with its bound config.
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert getattr(restored, attribute) == value


def test_gin_built_reverb_saves_to_keras(clean_gin, tmp_path):
  del clean_gin
  gin.parse_config("""
      effects_test_factory.effect = @effects.Reverb()
      effects.Reverb.trainable = True
      effects.Reverb.reverb_length = 50
  """)
  layer = effects_test_factory()
  audio_in = keras.Input(shape=(500,))
  model = keras.Model(audio_in, layer(audio_in))
  ir = noise([50], seed=2)
  layer.set_weights([ir])
  loaded = _save_and_load(model, tmp_path)
  audio = noise([1, 500], seed=3)
  np.testing.assert_allclose(loaded(audio).numpy(), ref_reverb(audio, ir[None]),
                             atol=1e-4)


# ----------------------------------------------------------------------------
# tf.function with unknown batch size, and XLA.
# ----------------------------------------------------------------------------
JIT = pytest.mark.parametrize('jit_compile', [False, True],
                              ids=['graph', 'xla'])


def _spec(*shape):
  return tf.TensorSpec(shape, tf.float32)


@JIT
def test_reverb_in_tf_function(jit_compile):
  reverb = effects.Reverb()
  fn = tf.function(reverb, jit_compile=jit_compile,
                   input_signature=[_spec(None, N_REVERB), _spec(None, 100)])
  for batch in (1, 3):
    audio, ir = noise([batch, N_REVERB], batch), noise([batch, 100], batch + 9)
    np.testing.assert_allclose(fn(audio, ir).numpy(), ref_reverb(audio, ir),
                               atol=1e-4)


@JIT
def test_trainable_reverb_in_tf_function(jit_compile):
  reverb = effects.Reverb(trainable=True, reverb_length=100)
  reverb(noise([1, N_REVERB]))
  ir = noise([100], seed=5)
  reverb.set_weights([ir])
  fn = tf.function(reverb, jit_compile=jit_compile,
                   input_signature=[_spec(None, N_REVERB)])
  for batch in (1, 3):
    audio = noise([batch, N_REVERB], batch)
    np.testing.assert_allclose(fn(audio).numpy(), ref_reverb(audio, ir[None]),
                               atol=1e-4)


@JIT
def test_exp_decay_reverb_in_tf_function(jit_compile):
  reverb = effects.ExpDecayReverb(reverb_length=700, scale_fn=None)
  fn = tf.function(
      lambda a, g, d: reverb(a, g, d, return_outputs_dict=True),
      jit_compile=jit_compile,
      input_signature=[_spec(None, N_REVERB), _spec(None, 1), _spec(None, 1)])
  for batch in (1, 3):
    audio = noise([batch, N_REVERB], batch)
    gain = f32(np.linspace(0.2, 1.0, batch)[:, None])
    decay = f32(np.linspace(0.5, 3.0, batch)[:, None])
    out = fn(audio, gain, decay)
    ir = out['controls']['ir'].numpy()
    assert_under_envelope(ir, analytic_envelope(f64(gain), f64(decay), 700))
    np.testing.assert_allclose(out['signal'].numpy(), ref_reverb(audio, ir),
                               atol=1e-4)


def test_exp_decay_reverb_ir_is_the_same_under_xla():
  reverb = effects.ExpDecayReverb(reverb_length=700, scale_fn=None)
  audio, gain, decay = noise([1, 200]), f32([[1.0]]), f32([[1.0]])
  eager = reverb.get_controls(audio, gain, decay)['ir'].numpy()
  xla = tf.function(lambda a, g, d: reverb.get_controls(a, g, d)['ir'],
                    jit_compile=True)(audio, gain, decay).numpy()
  np.testing.assert_allclose(xla, eager, atol=1e-6)


@JIT
def test_fir_filter_in_tf_function(jit_compile):
  fir = effects.FIRFilter(centered=True, window_size=64, scale_fn=None)
  fn = tf.function(fir, jit_compile=jit_compile,
                   input_signature=[_spec(None, 3000), _spec(None, 65)])
  for batch in (1, 3):
    audio = noise([batch, 3000], batch)
    mags = f32(np.random.default_rng(batch).uniform(0, 2, [batch, 65]))
    np.testing.assert_allclose(fn(audio, mags).numpy(),
                               ref_fir_filter(audio, mags, 64), atol=1e-4)


@JIT
def test_mod_delay_in_tf_function(jit_compile):
  delay = effects.ModDelay(exact_delay=True, gain_scale_fn=None, phase_scale_fn=None)
  fn = tf.function(delay, jit_compile=jit_compile, input_signature=[
      _spec(None, N_DELAY), _spec(None, N_DELAY_FRAMES, 1),
      _spec(None, N_DELAY_FRAMES, 1)])
  for batch in (1, 3):
    audio = smooth_audio(batch, N_DELAY, seed=batch)
    gain, phase = slow_controls(batch)
    np.testing.assert_allclose(
        fn(audio, gain, phase).numpy(),
        ref_mod_delay(audio, gain, phase, 15.0, 10.0), atol=1e-4)


# ----------------------------------------------------------------------------
# Gradients.
# ----------------------------------------------------------------------------
def test_trainable_reverb_ir_gradient_is_the_cross_correlation():
  """d sum(w * y) / d ir[k] = sum_n w[n] x[n - k] for k >= 1, 0 for k = 0."""
  length = 40
  reverb = effects.Reverb(trainable=True, reverb_length=length)
  audio, weights = noise([2, 500], seed=1), noise([2, 500], seed=2)
  reverb(audio)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(reverb(audio) * weights)
  grad = tape.gradient(loss, reverb.trainable_weights)[0].numpy()
  expected = np.array([
      0.0 if k == 0 else np.sum(f64(weights)[:, k:] * f64(audio)[:, :500 - k])
      for k in range(length)])
  np.testing.assert_allclose(grad, expected, atol=1e-3)
  assert np.abs(grad).max() > 1.0


def test_exp_decay_reverb_gradients_match_analytic():
  """With scale_fn=None: dy/dgain = wet / gain, dir/ddecay = -e^d t ir."""
  length = 300
  reverb = effects.ExpDecayReverb(trainable=True, reverb_length=length,
                                  scale_fn=None)
  audio, weights = noise([2, 600], seed=3), noise([2, 600], seed=4)
  reverb(audio)
  gain, decay = weight_named(reverb, 'gain'), weight_named(reverb, 'decay')
  gain.assign(f32([0.8]))
  decay.assign(f32([1.0]))
  with tf.GradientTape() as tape:
    out = reverb(audio, return_outputs_dict=True)
    loss = tf.reduce_sum(out['signal'] * weights)
  grads = dict(zip(['gain', 'decay'], tape.gradient(loss, [gain, decay])))
  ir = out['controls']['ir'].numpy()
  wet = ref_reverb(audio, ir, add_dry=False)
  t = np.linspace(0.0, 1.0, length)
  d_ir = -np.exp(1.0) * t * ir
  expected_gain = np.sum(f64(weights) * wet) / 0.8
  expected_decay = np.sum(f64(weights) * ref_reverb(audio, d_ir, add_dry=False))
  assert grads['gain'].numpy()[0] == pytest.approx(expected_gain, rel=1e-3)
  assert grads['decay'].numpy()[0] == pytest.approx(expected_decay, rel=1e-3)
  assert abs(expected_gain) > 0.1 and abs(expected_decay) > 0.1


def test_fir_filter_magnitude_gradients():
  """Linear in the magnitudes: d sum(w * y) / d m_k = sum(w * FIR_k(x))."""
  n_bins = 17
  audio, weights = noise([1, 800], seed=5), noise([1, 800], seed=6)
  mags = tf.Variable(f32(np.random.default_rng(7).uniform(0, 1, [1, n_bins])))
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(
        effects.FIRFilter(centered=True, window_size=0, scale_fn=None)(audio, mags) * weights)
  grad = tape.gradient(loss, mags).numpy()[0]
  expected = [np.sum(f64(weights) * ref_fir_filter(audio, np.eye(n_bins)[k]))
              for k in range(n_bins)]
  np.testing.assert_allclose(grad, expected, atol=1e-3)
  # Through the default exp_sigmoid too.
  raw = tf.Variable(noise([1, 10, n_bins], seed=8))
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(effects.FIRFilter(centered=True)(audio, raw) * weights)
  grad = tape.gradient(loss, raw).numpy()
  assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 1e-3


def test_mod_delay_gain_and_phase_gradients():
  audio = smooth_audio(1, N_DELAY, seed=4)
  weights = smooth_audio(1, N_DELAY, seed=5)
  gain_np, phase_np = slow_controls(1)
  gain, phase = tf.Variable(gain_np), tf.Variable(phase_np)
  delay = effects.ModDelay(exact_delay=True, gain_scale_fn=None, phase_scale_fn=None,
                           add_dry=False)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(delay(audio, gain, phase) * weights)
  grad_gain, grad_phase = [g.numpy() for g in tape.gradient(loss,
                                                            [gain, phase])]

  def ref_loss(g, p):
    return np.sum(f64(weights) * ref_mod_delay(audio, g, p, 15.0, 10.0,
                                               add_dry=False))

  # The output is linear in gain: each frame's gradient is a basis response.
  expected_gain = np.zeros(N_DELAY_FRAMES)
  for f in range(N_DELAY_FRAMES):
    basis = np.zeros_like(gain_np)
    basis[0, f, 0] = 1.0
    expected_gain[f] = ref_loss(basis, phase_np)
  np.testing.assert_allclose(grad_gain[0, :, 0], expected_gain, atol=2e-3)
  assert np.abs(expected_gain).max() > 0.1
  # Phase: central finite differences of the numpy reference.
  eps = 1e-3
  expected_phase = np.zeros(N_DELAY_FRAMES)
  for f in range(N_DELAY_FRAMES):
    step = np.zeros_like(phase_np)
    step[0, f, 0] = eps
    expected_phase[f] = (ref_loss(gain_np, phase_np + step) -
                         ref_loss(gain_np, phase_np - step)) / (2 * eps)
  assert np.all(np.isfinite(grad_phase))
  np.testing.assert_allclose(grad_phase[0, :, 0], expected_phase,
                             atol=0.02 * np.abs(expected_phase).max())
  assert np.abs(expected_phase).max() > 0.1


def test_reverb_rank_one_ir_applies_to_every_batch_entry():
  """A [ir_size] IR (accepted by the original) is the same IR for all."""
  audio = noise([3, 300])
  ir = noise([40])
  out = effects.Reverb()(audio, ir).numpy()
  tiled = effects.Reverb()(audio, np.tile(ir[None], [3, 1])).numpy()
  np.testing.assert_allclose(out, tiled, atol=1e-6)
  expected = audio + np.stack([np.convolve(a, np.r_[0.0, ir[1:]])[:300]
                               for a in audio])
  np.testing.assert_allclose(out, expected, atol=1e-4)


# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('make,args,match', [
    (lambda: effects.Reverb(), (noise([100]), noise([1, 10])),
     r'audio must have rank 2.*\[100\]'),
    (lambda: effects.Reverb(), (noise([1, 100, 1]), noise([1, 10])),
     r'audio must have rank 2.*\[1, 100, 1\]'),
    (lambda: effects.Reverb(), (noise([1, 100]), noise([1, 10, 1, 1])),
     r'ir must have rank.*\[1, 10, 1, 1\]'),
    (lambda: effects.ExpDecayReverb(reverb_length=10),
     (noise([1, 100]), f32([1.0]), f32([[1.0]])),
     r'gain must have rank 2.*\[1\]'),
    (lambda: effects.FIRFilter(centered=True), (noise([1, 100, 1]), noise([1, 33])),
     r'audio must have rank 2.*\[1, 100, 1\]'),
    (lambda: effects.FIRFilter(centered=True), (noise([1, 100]), noise([33])),
     r'magnitudes must have rank 2 or 3.*\[33\]'),
    (lambda: effects.ModDelay(exact_delay=True),
     (noise([2, 100]), noise([2, 10]), noise([2, 10, 1])),
     r'gain must have rank 3.*\[2, 10\]'),
    (lambda: effects.ModDelay(exact_delay=True),
     (noise([2, 100]), noise([2, 10, 1]), noise([2, 10])),
     r'phase must have rank 3.*\[2, 10\]'),
    (lambda: effects.ModDelay(exact_delay=True),
     (noise([100]), noise([1, 10, 1]), noise([1, 10, 1])),
     r'audio must have rank 2.*\[100\]'),
], ids=['reverb_audio_1d', 'reverb_audio_3d', 'reverb_ir_1d', 'exp_gain_1d',
        'fir_audio_3d', 'fir_mags_1d', 'delay_gain_2d', 'delay_phase_2d',
        'delay_audio_1d'])
def test_bad_input_ranks_raise(make, args, match):
  with pytest.raises(ValueError, match=match):
    make()(*args)


@pytest.mark.parametrize('make,match', [
    (lambda: effects.Reverb(reverb_length=0), r'reverb_length=0'),
    (lambda: effects.Reverb(reverb_length=-5), r'reverb_length=-5'),
    (lambda: effects.Reverb(reverb_length=100.5), r'reverb_length=100\.5'),
    (lambda: effects.ExpDecayReverb(reverb_length=0), r'reverb_length=0'),
    (lambda: effects.FilteredNoiseReverb(reverb_length=1000, n_frames=0),
     r'n_frames \(0\)'),
    (lambda: effects.FilteredNoiseReverb(reverb_length=1000, n_frames=25,
                                         window_size=-2), r'-2'),
    (lambda: effects.ModDelay(exact_delay=True, center_ms=-1.0), r'center_ms=-1\.0'),
    (lambda: effects.ModDelay(exact_delay=True, depth_ms=-2.5), r'depth_ms=-2\.5'),
    (lambda: effects.ModDelay(exact_delay=True, center_ms=0.0, depth_ms=0.0), r'center_ms=0\.0'),
    (lambda: effects.ModDelay(exact_delay=True, sample_rate=0), r'sample_rate=0'),
], ids=['reverb_len_0', 'reverb_len_neg', 'reverb_len_float', 'exp_len_0',
        'fnr_frames_0', 'fnr_window_neg', 'delay_center_neg',
        'delay_depth_neg', 'delay_zero', 'delay_sr_0'])
def test_bad_constructor_arguments_raise(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_fir_filter_negative_window_size_raises():
  with pytest.raises(ValueError, match='-3'):
    effects.FIRFilter(window_size=-3)


def test_reverb_ir_batch_mismatch_raises():
  with pytest.raises(ValueError, match=r'\(3\).*\(2\)'):
    effects.Reverb()(noise([3, 100]), noise([2, 10]))
